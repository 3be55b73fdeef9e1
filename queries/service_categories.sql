-- Volunteer hours, persons served (person-times, summed), service records and active members per
-- 服务类别 in the period. Grain: category. Parameters: $start, $end, the shared filters and
-- $member_max (bound by the store).
-- The 六送 / 三请 / other grouping is configuration and is applied by redservice.services.
-- members is a distinct count per category: never add it across categories.
SELECT
    category,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records,
    -- exact: a bitmap of the members' ids per category (few categories, so small)
    COALESCE(bit_count(bitstring_agg(mid, 1, $member_max)), 0) AS members
FROM f_services
WHERE date BETWEEN $start AND $end
  AND category IS NOT NULL
GROUP BY category
ORDER BY hours DESC, category

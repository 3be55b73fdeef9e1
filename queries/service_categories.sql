-- Volunteer hours, persons served (person-times, summed), service records and active members per
-- 服务类别 in the period. Grain: category. Parameters: $start, $end and the shared filters.
-- The 六送 / 三请 / other grouping is configuration and is applied by redservice.services.
-- members is a distinct count per category: never add it across categories.
SELECT
    category,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records,
    COUNT(DISTINCT mid) AS members
FROM f_services
WHERE date BETWEEN $start AND $end
  AND category IS NOT NULL
GROUP BY category
ORDER BY hours DESC, category

-- Volunteer hours, persons served, service records and organised activities (distinct 活动编号)
-- per 活动形式 in the period. Grain: form. Parameters: $start, $end, the shared filters and
-- $activity_max (bound by the store).
SELECT
    form,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records,
    -- exact: a bitmap of the activities' ids per form (few forms, so small)
    COALESCE(bit_count(bitstring_agg(aid, 1, $activity_max)), 0) AS activities
FROM f_services
WHERE date BETWEEN $start AND $end
  AND form IS NOT NULL
GROUP BY form
ORDER BY hours DESC, form

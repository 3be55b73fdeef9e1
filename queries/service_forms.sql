-- Volunteer hours, persons served, service records and organised activities (distinct 活动编号)
-- per 活动形式 in the period. Grain: form. Parameters: $start, $end and the shared filters.
SELECT
    form,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records,
    COUNT(DISTINCT activity_id) AS activities
FROM f_services
WHERE date BETWEEN $start AND $end
  AND form IS NOT NULL
GROUP BY form
ORDER BY hours DESC, form

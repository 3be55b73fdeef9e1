-- Monthly volunteer hours, persons served and service records. One row per month with service.
-- Grain: calendar month. Parameters: $start, $end (inclusive) and the shared filters.
SELECT
    CAST(DATE_TRUNC('month', date) AS DATE) AS month,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records
FROM f_services
WHERE date BETWEEN $start AND $end
GROUP BY CAST(DATE_TRUNC('month', date) AS DATE)
ORDER BY month

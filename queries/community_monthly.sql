-- One community's volunteer hours, persons served and service records per calendar month.
-- One row per month with service in that community.
-- Grain: calendar month. Parameters: $start, $end (inclusive), the shared filters, $community.
SELECT
    CAST(DATE_TRUNC('month', date) AS DATE) AS month,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records
FROM f_services
WHERE date BETWEEN $start AND $end AND community = $community
GROUP BY CAST(DATE_TRUNC('month', date) AS DATE)
ORDER BY month

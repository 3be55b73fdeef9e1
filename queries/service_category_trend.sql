-- Monthly volunteer hours and persons served per 服务类别 (for the stacked monthly trend).
-- Grain: calendar month × category. Parameters: $start, $end (inclusive) and the shared filters.
SELECT
    CAST(DATE_TRUNC('month', date) AS DATE) AS month,
    category,
    SUM(hours) AS hours,
    SUM(persons) AS persons
FROM f_services
WHERE date BETWEEN $start AND $end
  AND category IS NOT NULL
GROUP BY CAST(DATE_TRUNC('month', date) AS DATE), category
ORDER BY month, category

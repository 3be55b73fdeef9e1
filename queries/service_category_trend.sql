-- Monthly volunteer hours and persons served per 服务类别 (for the stacked monthly trend).
-- Grain: calendar month × category. Parameters: $start, $end (inclusive) and the shared filters.
-- How: one pass over the records by day and category; the months are sums of those rows.
WITH
daily AS (
    SELECT date, category, SUM(hours) AS hours, SUM(persons) AS persons
    FROM f_services
    WHERE date BETWEEN $start AND $end
      AND category IS NOT NULL
    GROUP BY date, category
)
SELECT
    CAST(DATE_TRUNC('month', date) AS DATE) AS month,
    category,
    SUM(hours) AS hours,
    SUM(persons) AS persons
FROM daily
GROUP BY CAST(DATE_TRUNC('month', date) AS DATE), category
ORDER BY month, category

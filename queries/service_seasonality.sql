-- When service happens: volunteer hours, persons served and records by month of the year
-- (kind = 'month', slot 1–12) and by weekday (kind = 'weekday', slot 1 = Monday … 7 = Sunday).
-- Grain: kind × slot (slots without service are absent). Parameters: $start, $end and the shared filters.
-- How: one pass over the records, by day; months and weekdays are sums of those few hundred days.
WITH
daily AS (
    SELECT date, SUM(hours) AS hours, SUM(persons) AS persons, COUNT(*) AS records
    FROM f_services
    WHERE date BETWEEN $start AND $end
    GROUP BY date
)
SELECT 'month' AS kind, CAST(EXTRACT(MONTH FROM date) AS INTEGER) AS slot,
       SUM(hours) AS hours, SUM(persons) AS persons, CAST(SUM(records) AS BIGINT) AS records
FROM daily
GROUP BY CAST(EXTRACT(MONTH FROM date) AS INTEGER)
UNION ALL
SELECT 'weekday' AS kind, CAST(EXTRACT(ISODOW FROM date) AS INTEGER) AS slot,
       SUM(hours) AS hours, SUM(persons) AS persons, CAST(SUM(records) AS BIGINT) AS records
FROM daily
GROUP BY CAST(EXTRACT(ISODOW FROM date) AS INTEGER)
ORDER BY kind, slot

-- 双评价: the ratings (1–5, rounded) of wishes completed in the period; score NULL counts the
-- completed wishes without a rating. Grain: score. Parameters: $start, $end and the shared filters.
SELECT
    CAST(ROUND(satisfaction) AS INTEGER) AS score,
    COUNT(*) AS wishes
FROM f_wishes
WHERE completed_on BETWEEN $start AND $end
GROUP BY CAST(ROUND(satisfaction) AS INTEGER)
ORDER BY score

-- 双评价 by claiming unit: wishes completed in the period, how many were rated, the mean rating and
-- the satisfied ones (rating ≥ $satisfied_min); satisfied_rate = satisfied ÷ rated (NULL if none rated).
-- Grain: claiming unit. Parameters: $start, $end, $satisfied_min and the shared filters.
WITH done AS (
    SELECT claim_unit, satisfaction
    FROM f_wishes
    WHERE completed_on BETWEEN $start AND $end AND claim_unit IS NOT NULL
)
SELECT
    claim_unit AS unit,
    COUNT(*) AS completed,
    COUNT(satisfaction) AS rated,
    AVG(satisfaction) AS mean_score,
    SUM(CASE WHEN satisfaction >= $satisfied_min THEN 1 ELSE 0 END) AS satisfied,
    CASE WHEN COUNT(satisfaction) = 0 THEN NULL
         ELSE CAST(SUM(CASE WHEN satisfaction >= $satisfied_min THEN 1 ELSE 0 END) AS DOUBLE)
              / COUNT(satisfaction) END AS satisfied_rate
FROM done
GROUP BY claim_unit
ORDER BY satisfied_rate, mean_score, unit

-- 数据质量 per work unit: the period's checked records, those flagged by at least one rule, and the
-- flag rate (flagged ÷ records; NULL without records). Grain: unit (units with checked records).
-- Parameters: $start, $end, the shared filters and the $q_... rules.
WITH flagged AS (
    SELECT DISTINCT rkey FROM f_q_flags
)
SELECT r.unit,
       COUNT(*) AS records,
       COUNT(f.rkey) AS flagged,
       CAST(COUNT(f.rkey) AS DOUBLE) / COUNT(*) AS rate
FROM f_q_records r
LEFT JOIN flagged f ON f.rkey = r.rkey
GROUP BY r.unit
ORDER BY rate DESC, flagged DESC, r.unit

-- 数据质量 per work unit ($q_group = 'unit') or per community ($q_group = 'community'): the period's
-- checked records, those flagged by at least one rule, and the flag rate (flagged ÷ records).
-- Grain: one row per unit or community with checked records; the name in `name`.
-- Parameters: $start, $end, $q_group, the shared filters and the $q_... rules.
WITH flagged AS (
    SELECT DISTINCT rkey FROM f_q_flags
)
SELECT CASE WHEN $q_group = 'community' THEN r.community ELSE r.unit END AS name,
       COUNT(*) AS records,
       COUNT(f.rkey) AS flagged,
       CAST(COUNT(f.rkey) AS DOUBLE) / COUNT(*) AS rate
FROM f_q_records r
LEFT JOIN flagged f ON f.rkey = r.rkey
GROUP BY CASE WHEN $q_group = 'community' THEN r.community ELSE r.unit END
ORDER BY rate DESC, flagged DESC, name

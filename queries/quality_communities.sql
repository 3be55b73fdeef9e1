-- 数据质量 per community: the period's checked records, those flagged by at least one rule, and the
-- flag rate. Grain: community. Parameters: $start, $end, the shared filters and the $q_... rules.
WITH flagged AS (
    SELECT DISTINCT rkey FROM f_q_flags
)
SELECT r.community,
       COUNT(*) AS records,
       COUNT(f.rkey) AS flagged,
       CAST(COUNT(f.rkey) AS DOUBLE) / COUNT(*) AS rate
FROM f_q_records r
LEFT JOIN flagged f ON f.rkey = r.rkey
GROUP BY r.community
ORDER BY rate DESC, flagged DESC, r.community

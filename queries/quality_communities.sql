-- 数据质量 per community: the period's checked records, those flagged by at least one rule, and the
-- flag rate. Grain: community. Parameters: $start, $end, the shared filters and the $q_... rules.
WITH flagged AS (
    SELECT DISTINCT record_id FROM f_q_flags
)
SELECT r.community,
       COUNT(*) AS records,
       COUNT(f.record_id) AS flagged,
       CAST(COUNT(f.record_id) AS DOUBLE) / COUNT(*) AS rate
FROM f_q_records r
LEFT JOIN flagged f ON f.record_id = r.record_id
GROUP BY r.community
ORDER BY rate DESC, flagged DESC, r.community

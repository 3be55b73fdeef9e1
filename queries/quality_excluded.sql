-- [quality] count_flagged = false: the period's records left out of every figure because a rule
-- flagged them (services.excluded_rules, set when the serving copy is built), per rule (a record
-- that broke two rules is in both rows) and in all (rule NULL). Grain: one row per rule, and the
-- total. Parameters: $start, $end and the shared filters.
WITH left_out AS (
    SELECT r.rkey, r.hours, r.excluded_rules
    FROM f_records r
    WHERE r.date BETWEEN $start AND $end
      AND r.excluded_rules IS NOT NULL
)
SELECT CAST(NULL AS VARCHAR) AS rule, COUNT(*) AS records, COALESCE(SUM(hours), 0) AS hours
FROM left_out
UNION ALL
SELECT x.rule, COUNT(*) AS records, COALESCE(SUM(x.hours), 0) AS hours
FROM (SELECT hours, UNNEST(string_split(excluded_rules, ',')) AS rule FROM left_out) x
GROUP BY x.rule
ORDER BY rule NULLS FIRST

-- 数据质量: everything the page, the CLI and the unit scorecard show, from one computation of the
-- flags (f_q_flags is the costly part: one query instead of one per table). Grain: part × row:
--   part 'rule': one row per rule of [quality] in the page's order (rule, ord, count, records,
--     applicable): count in the rule's own unit (member-days, records, members, household-days,
--     units); records: the records it flags; applicable: FALSE when no checked record of the period
--     has the column the rule reads;
--   part 'unit' / 'community': one row per work unit / community with checked records (name,
--     records, flagged: flagged by at least one rule, rate = flagged ÷ records), most flagged first;
--   part 'record': the flagged records with the rules each broke (rules: codes joined by ',' in the
--     rules' order) and the record's columns; names are the store's, the page masks them per role.
--     Only with $q_records TRUE: the unit scorecard reads the rates alone, and the flagged records'
--     columns are the costly read of a large store (at 10 M records, a quarter of this query).
-- Parameters: $start, $end, the shared filters, the $q_... rules and $q_records.
WITH flagged AS (
    SELECT f.rkey,
           string_agg(f.rule, ',' ORDER BY CASE f.rule WHEN 'day_hours' THEN 1 WHEN 'duplicate' THEN 2
               WHEN 'late_entry' THEN 3 WHEN 'bulk_identical' THEN 4 WHEN 'sign_in_only' THEN 5
               WHEN 'household_repeat' THEN 6 ELSE 7 END) AS rules
    FROM f_q_flags f
    GROUP BY f.rkey
),
flagged_groups AS (
    -- flagged records per unit and per community (the checked records per group: f_q_groups)
    SELECT CASE WHEN GROUPING(uid) = 0 THEN 'unit' ELSE 'community' END AS part, uid, community,
           COUNT(DISTINCT rkey) AS flagged
    FROM f_q_flags
    GROUP BY GROUPING SETS ((uid), (community))
),
rates AS (
    SELECT g.part, g.name, g.records, COALESCE(f.flagged, 0) AS flagged,
           CAST(COALESCE(f.flagged, 0) AS DOUBLE) / g.records AS rate
    FROM f_q_groups g
    LEFT JOIN flagged_groups f ON f.part = g.part AND f.uid IS NOT DISTINCT FROM g.uid
                              AND f.community IS NOT DISTINCT FROM g.community
)
SELECT 'rule' AS part, c.rule, c.ord, c.count, c.records, c.applicable,
       CAST(NULL AS VARCHAR) AS name, CAST(NULL AS BIGINT) AS flagged, CAST(NULL AS DOUBLE) AS rate,
       CAST(NULL AS VARCHAR) AS record_id, CAST(NULL AS DATE) AS date, CAST(NULL AS VARCHAR) AS member_name,
       CAST(NULL AS VARCHAR) AS member_id, CAST(NULL AS VARCHAR) AS unit, CAST(NULL AS VARCHAR) AS branch,
       CAST(NULL AS VARCHAR) AS community, CAST(NULL AS VARCHAR) AS category, CAST(NULL AS DOUBLE) AS hours,
       CAST(NULL AS VARCHAR) AS content, CAST(NULL AS VARCHAR) AS activity_id, CAST(NULL AS VARCHAR) AS origin,
       CAST(NULL AS DATE) AS entered_on, CAST(NULL AS VARCHAR) AS review_status, CAST(NULL AS VARCHAR) AS rules
FROM f_q_rule_counts c
UNION ALL
SELECT r.part, NULL, NULL, NULL, r.records, NULL, r.name, r.flagged, r.rate,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM rates r
UNION ALL
SELECT 'record', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       s.record_id, s.date, s.name, s.member_id, s.unit, s.branch, s.community, s.category, s.hours,
       s.content, s.activity_id, s.origin, s.entered_on, s.review_status, f.rules
FROM f_records s
JOIN flagged f ON f.rkey = s.rkey
WHERE $q_records AND s.date BETWEEN $start AND $end
ORDER BY part, ord, rate DESC, flagged DESC, name, date, unit, member_name, record_id

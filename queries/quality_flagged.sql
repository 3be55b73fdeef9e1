-- 数据质量: the flagged records of the period with the rules each broke (codes joined by ',' in the
-- rules' order). Grain: record. Names are the store's; the page masks them per role.
-- Parameters: $start, $end, the shared filters and the $q_... rules.
WITH rules AS (
    SELECT f.rkey,
           string_agg(f.rule, ',' ORDER BY CASE f.rule WHEN 'day_hours' THEN 1 WHEN 'duplicate' THEN 2
               WHEN 'late_entry' THEN 3 WHEN 'bulk_identical' THEN 4 WHEN 'sign_in_only' THEN 5
               WHEN 'household_repeat' THEN 6 ELSE 7 END) AS rules
    FROM (SELECT DISTINCT rkey, rule FROM f_q_flags) f
    GROUP BY f.rkey
)
SELECT s.record_id, s.date, s.name, s.member_id, s.unit, s.branch, s.community, s.category, s.hours,
       s.content, s.activity_id, s.origin, s.entered_on, s.review_status, r.rules
FROM f_records s
JOIN rules r ON r.rkey = s.rkey
WHERE s.date BETWEEN $start AND $end
ORDER BY s.date, s.unit, s.name, s.record_id

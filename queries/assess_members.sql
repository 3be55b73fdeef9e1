-- 年度考核: every member on the roster as of $as_of with the year's approved figures, their targets,
-- the status (not_reported / met / on_track / behind), the reporting deadline and the community's
-- grade (双评价, with grade_conflict against the [evaluation] rule). Grain: member.
-- Names and phones are the store's; the page masks them per role. $a_unit: one unit's roster only.
-- Parameters: the shared filters and the 年度考核 parameters of queries/_base.sql (f_a_...).
SELECT a.member_id, a.name, a.phone, a.unit, a.branch, a.community, a.reported_on, a.listed_on, a.deadline,
       a.reported, a.overdue, a.hours, a.activities, a.contact_days, a.short_quarters, a.quarter_records,
       a.year_records,
       a.t_hours, a.t_activities, a.t_contacts, a.status, a.grade, a.grade_community, a.grade_comment,
       a.grade_conflict, COALESCE(w.completed, 0) AS wishes_completed
FROM f_a_members a
LEFT JOIN (SELECT w.claim_mid, COUNT(*) AS completed
           FROM f_wishes w, f_a_year y
           WHERE w.completed_on BETWEEN y.y0 AND y.d
           GROUP BY w.claim_mid) w ON w.claim_mid = a.mid
ORDER BY a.unit, a.branch, CASE a.status WHEN 'not_reported' THEN 1 WHEN 'behind' THEN 2
                                         WHEN 'on_track' THEN 3 ELSE 4 END, a.name, a.member_id

-- 双评价: the grades that break the [evaluation] rule (grade_conflict of f_a_members): the member,
-- the grading community and grade, and whether they had reported by the year's end.
-- Grain: member. Parameters: the shared filters and the 年度考核 parameters of queries/_base.sql.
SELECT a.member_id, a.name, a.unit, a.grade_community, a.grade, a.reported_on, a.year_records
FROM f_a_members a
WHERE a.grade_conflict
ORDER BY a.unit, a.grade_community, a.name, a.member_id

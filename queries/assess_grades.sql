-- 双评价: the grade distribution of the year's 社区评价表 per grading community ($group = 'community')
-- or per the member's unit ($group = 'unit'), with the reported members not graded (by their
-- 报到社区 or unit). Grain: one row per (name, grade); grade NULL: reported, not graded.
-- Parameters: the shared filters and the 年度考核 parameters of queries/_base.sql (f_a_...).
SELECT CASE WHEN $group = 'community' THEN COALESCE(a.grade_community, a.community) ELSE a.unit END AS name,
       a.grade, COUNT(*) AS members
FROM f_a_members a
WHERE a.grade IS NOT NULL OR (a.reported_on IS NOT NULL AND a.reported_on <= (SELECT y1 FROM f_a_year))
GROUP BY CASE WHEN $group = 'community' THEN COALESCE(a.grade_community, a.community) ELSE a.unit END, a.grade
ORDER BY name, a.grade

-- 年度表现档案: every approved record of one member ($member_id) from 1 January of the year to $as_of,
-- with the distinct households it reached. Grain: record. Parameters: $member_id, the shared
-- filters and the 年度考核 parameters of queries/_base.sql (f_a_year).
WITH recs AS (
    SELECT s.rkey, s.record_id, s.date, s.community, s.category, s.form, s.activity_id, s.content, s.hours,
           s.persons, s.unit
    FROM f_services s, f_a_year y
    WHERE s.member_id = $member_id AND s.date BETWEEN y.y0 AND y.d
),
hh AS (
    SELECT h.rkey, COUNT(DISTINCT h.household) AS households
    FROM f_households h, f_a_year y
    WHERE h.member_id = $member_id AND h.date BETWEEN y.y0 AND y.d
    GROUP BY h.rkey
)
SELECT r.record_id, r.date, r.unit, r.community, r.category, r.form, r.activity_id, r.content, r.hours, r.persons,
       COALESCE(h.households, 0) AS households
FROM recs r
LEFT JOIN hh h ON h.rkey = r.rkey
ORDER BY r.date, r.record_id

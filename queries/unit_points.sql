-- 红色积分 per work unit: the rows red_points.sql gives for $level = 'unit' (same columns, values,
-- ranks and order), without its member and leaderboard parts, so that the unit scorecard's column
-- is planned and run with less work. Parameters: those of red_points.sql (from
-- redservice.scorecard.PointsRules.query('unit')). How: the branch sums of _base.sql
-- (f_points_branches), shared with red_points.sql, summed per unit.
WITH
unit_rows AS (
    -- every unit with a reported member, its members counted per branch of the roster
    SELECT m.uid, SUM(m.members) AS members, SUM(p.hours) AS hours, SUM(p.red_days) AS red_days,
           SUM(p.wishes) AS wishes, SUM(p.good_ratings) AS good_ratings, SUM(p.points_raw) AS points_raw,
           SUM(p.points) AS points
    FROM (SELECT uid, bid, COUNT(*) AS members FROM f_points_roster GROUP BY uid, bid) m
    LEFT JOIN f_points_branches p ON p.uid IS NOT DISTINCT FROM m.uid AND p.bid IS NOT DISTINCT FROM m.bid
    GROUP BY m.uid
),
totals AS (
    SELECT uid,
           CAST(members AS BIGINT) AS members,
           COALESCE(hours, 0) AS hours,
           CAST(COALESCE(red_days, 0) AS BIGINT) AS red_days,
           CAST(COALESCE(wishes, 0) AS BIGINT) AS wishes,
           CAST(COALESCE(good_ratings, 0) AS BIGINT) AS good_ratings,
           CAST(COALESCE(points_raw, 0) AS DOUBLE) AS points_raw,
           CAST(COALESCE(points, 0) AS DOUBLE) AS points,
           CAST(COALESCE(points, 0) AS DOUBLE) / members AS points_per_member
    FROM unit_rows
)
SELECT 'rows' AS part, 'unit' AS level, CAST(NULL AS VARCHAR) AS member_id, CAST(NULL AS VARCHAR) AS name,
       u.unit, CAST(NULL AS VARCHAR) AS branch,
       t.members, t.hours, t.red_days, t.wishes, t.good_ratings, t.points_raw, t.points, t.points_per_member,
       RANK() OVER (ORDER BY t.points_per_member DESC) AS rank, COUNT(*) OVER () AS ranked
FROM totals t
LEFT JOIN unit_ids u ON u.uid = t.uid
ORDER BY rank, u.unit

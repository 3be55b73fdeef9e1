-- 红色积分 per work unit: the rows red_points.sql gives for $level = 'unit' (same columns, values,
-- ranks and order), without its member and leaderboard parts, so that the unit scorecard's column
-- is planned and run with less work. Parameters: those of red_points.sql (from
-- redservice.scorecard.PointsRules.query('unit')). How: the member-months of _base.sql
-- (f_points_capped), with the whole months of branch_months when they may be read, summed per
-- branch of the roster and then per unit.
WITH
branch_points AS (
    SELECT uid, bid, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM (SELECT uid, bid, hours, red_days, wishes, good_ratings, points_raw, points
          FROM f_points_capped
          UNION ALL
          SELECT b.uid, b.bid, b.hours, b.red_days, b.wishes, b.good_ratings, b.points_raw, b.points
          FROM f_branch_months b, f_points_months k
          WHERE k.by_branch AND b.month >= k.lo AND b.month < k.hi) t
    GROUP BY uid, bid
),
unit_rows AS (
    -- every unit with a reported member, its members counted per branch of the roster
    SELECT m.uid, SUM(m.members) AS members, SUM(p.hours) AS hours, SUM(p.red_days) AS red_days,
           SUM(p.wishes) AS wishes, SUM(p.good_ratings) AS good_ratings, SUM(p.points_raw) AS points_raw,
           SUM(p.points) AS points
    FROM (SELECT uid, bid, COUNT(*) AS members FROM f_points_roster GROUP BY uid, bid) m
    LEFT JOIN branch_points p ON p.uid IS NOT DISTINCT FROM m.uid AND p.bid IS NOT DISTINCT FROM m.bid
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

-- 红色积分 (red points) of reported members for the period, rolled up to $level: 'member',
-- 'branch' or 'unit' (the member's branch and unit on the roster), or 'all' for the rows of the three
-- levels at once (one query for a page that shows every level). Grain: one row per level × member,
-- branch or unit; `level` says which ('member', 'branch' or 'unit').
-- Parameters: $start, $end (inclusive), $level, the shared filters and the rules of the
-- [points] table of the settings (redservice.scorecard.PointsRules.params()):
--   $points_per_hour × hours served (at most $max_hours_per_month hours a month; 0 = no cap),
--   $points_per_red_day × 红色服务日 attended (records of form $red_day_form; one per distinct
--     活动编号, or per day when a record has none; dated by the first such record),
--   $points_per_wish × wishes the member claimed (claim_member_id) completed, on completion date,
--   $points_per_good_rating × those completed wishes rated at least $good_rating_min,
--   and at most $max_points_per_month points per member and calendar month (0 = no cap).
-- points_raw is the sum before either monthly cap, points after both. members: reported members of
-- the row (all of them count, with or without points); points_per_member = points ÷ members.
-- member_id and name are NULL on branch and unit rows, branch on unit rows.
-- Rows are ordered by level, then points (highest first), unit, branch and member_id.
-- How: each member's points are computed once (months, then the member) and joined to the roster
-- (one row per member_id, the members table's key); the branch and unit rows are sums of those.
WITH
red_days AS (
    SELECT s.member_id, MIN(s.date) AS date
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end AND s.form = $red_day_form
    GROUP BY s.member_id, COALESCE(s.activity_id, CAST(s.date AS VARCHAR))
),
events AS (
    -- kind: 0 a service record, 1 a 红色服务日, 2 a completed wish
    SELECT s.member_id, s.date, s.hours, 0 AS kind, FALSE AS good
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
    UNION ALL
    SELECT member_id, date, 0, 1, FALSE FROM red_days
    UNION ALL
    SELECT claim_member_id, completed_on, 0, 2, COALESCE(satisfaction >= $good_rating_min, FALSE)
    FROM f_wishes
    WHERE completed_on BETWEEN $start AND $end AND claim_member_id IS NOT NULL
),
member_month AS (
    SELECT member_id,
           SUM(hours) AS hours,
           COUNT(*) FILTER (WHERE kind = 1) AS red_days,
           COUNT(*) FILTER (WHERE kind = 2) AS wishes,
           COUNT(*) FILTER (WHERE good) AS good_ratings
    FROM events
    GROUP BY member_id, DATE_TRUNC('month', date)
),
scored AS (
    SELECT member_id, hours, red_days, wishes, good_ratings,
           hours * $points_per_hour
           + red_days * $points_per_red_day
           + wishes * $points_per_wish
           + good_ratings * $points_per_good_rating AS points_raw,
           CASE WHEN $max_hours_per_month > 0 AND hours > $max_hours_per_month
                THEN $max_hours_per_month ELSE hours END * $points_per_hour
           + red_days * $points_per_red_day
           + wishes * $points_per_wish
           + good_ratings * $points_per_good_rating AS points_hours_capped
    FROM member_month
),
member_points AS (
    SELECT member_id, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw,
           SUM(CASE WHEN $max_points_per_month > 0 AND points_hours_capped > $max_points_per_month
                    THEN $max_points_per_month ELSE points_hours_capped END) AS points
    FROM scored
    GROUP BY member_id
),
by_member AS (
    -- member_id is the roster's key (one row per 党员编号): a reported member is one row
    SELECT r.unit, r.branch, r.member_id, r.name, 1 AS members, p.hours, p.red_days, p.wishes,
           p.good_ratings, p.points_raw, p.points
    FROM f_members r
    LEFT JOIN member_points p ON p.member_id = r.member_id
    WHERE r.reported_on <= $end
),
rolled AS (
    SELECT 'member' AS level, member_id, name, unit, branch, members, hours, red_days, wishes,
           good_ratings, points_raw, points
    FROM by_member
    WHERE $level IN ('member', 'all')
    UNION ALL
    SELECT 'branch', NULL, NULL, unit, branch, SUM(members), SUM(hours), SUM(red_days), SUM(wishes),
           SUM(good_ratings), SUM(points_raw), SUM(points)
    FROM by_member
    WHERE $level IN ('branch', 'all')
    GROUP BY unit, branch
    UNION ALL
    SELECT 'unit', NULL, NULL, unit, NULL, SUM(members), SUM(hours), SUM(red_days), SUM(wishes),
           SUM(good_ratings), SUM(points_raw), SUM(points)
    FROM by_member
    WHERE $level IN ('unit', 'all')
    GROUP BY unit
)
SELECT
    level, member_id, name, unit, branch,
    CAST(members AS BIGINT) AS members,
    COALESCE(hours, 0) AS hours,
    CAST(COALESCE(red_days, 0) AS BIGINT) AS red_days,
    CAST(COALESCE(wishes, 0) AS BIGINT) AS wishes,
    CAST(COALESCE(good_ratings, 0) AS BIGINT) AS good_ratings,
    CAST(COALESCE(points_raw, 0) AS DOUBLE) AS points_raw,
    CAST(COALESCE(points, 0) AS DOUBLE) AS points,
    CAST(COALESCE(points, 0) AS DOUBLE) / members AS points_per_member
FROM rolled
ORDER BY level, points DESC, unit, branch, member_id

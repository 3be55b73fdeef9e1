-- 红色积分 (red points) of reported members for the period, rolled up to $level: 'member',
-- 'branch' or 'unit' (the member's branch and unit on the roster). Grain: one row per $level.
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
WITH
svc AS (
    SELECT s.member_id, s.date, s.hours, s.form, s.activity_id
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
),
red_days AS (
    SELECT member_id, MIN(date) AS date
    FROM (SELECT member_id, date, COALESCE(activity_id, CAST(date AS VARCHAR)) AS activity
          FROM svc WHERE form = $red_day_form) r
    GROUP BY member_id, activity
),
events AS (
    SELECT member_id, date, hours, 0 AS red_days, 0 AS wishes, 0 AS good_ratings FROM svc
    UNION ALL
    SELECT member_id, date, 0, 1, 0, 0 FROM red_days
    UNION ALL
    SELECT claim_member_id, completed_on, 0, 0, 1,
           CASE WHEN satisfaction >= $good_rating_min THEN 1 ELSE 0 END
    FROM f_wishes
    WHERE completed_on BETWEEN $start AND $end AND claim_member_id IS NOT NULL
),
member_month AS (
    SELECT member_id,
           EXTRACT(YEAR FROM date) AS year, EXTRACT(MONTH FROM date) AS month,
           SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings
    FROM events
    GROUP BY member_id, EXTRACT(YEAR FROM date), EXTRACT(MONTH FROM date)
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
capped AS (
    SELECT member_id, hours, red_days, wishes, good_ratings, points_raw,
           CASE WHEN $max_points_per_month > 0 AND points_hours_capped > $max_points_per_month
                THEN $max_points_per_month ELSE points_hours_capped END AS points
    FROM scored
),
member_points AS (
    SELECT member_id, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM capped
    GROUP BY member_id
),
roster AS (
    SELECT m.member_id, m.name, m.phone, m.unit, m.branch,
           CASE WHEN $level = 'member' THEN m.member_id END AS key_member,
           CASE WHEN $level IN ('member', 'branch') THEN m.branch END AS key_branch
    FROM f_members m
    WHERE m.reported_on <= $end
)
SELECT
    r.key_member AS member_id,
    MAX(CASE WHEN $level = 'member' THEN r.name END) AS name,
    MAX(CASE WHEN $level = 'member' THEN r.phone END) AS phone,
    r.unit,
    r.key_branch AS branch,
    COUNT(*) AS members,
    COALESCE(SUM(p.hours), 0) AS hours,
    CAST(COALESCE(SUM(p.red_days), 0) AS BIGINT) AS red_days,
    CAST(COALESCE(SUM(p.wishes), 0) AS BIGINT) AS wishes,
    CAST(COALESCE(SUM(p.good_ratings), 0) AS BIGINT) AS good_ratings,
    CAST(COALESCE(SUM(p.points_raw), 0) AS DOUBLE) AS points_raw,
    CAST(COALESCE(SUM(p.points), 0) AS DOUBLE) AS points,
    CAST(COALESCE(SUM(p.points), 0) AS DOUBLE) / COUNT(*) AS points_per_member
FROM roster r
LEFT JOIN member_points p ON p.member_id = r.member_id
GROUP BY r.unit, r.key_branch, r.key_member
ORDER BY points DESC, r.unit, r.key_branch, r.key_member

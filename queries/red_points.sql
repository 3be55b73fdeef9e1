-- 红色积分 (red points) of reported members for the period, rolled up to $level: 'member',
-- 'branch' or 'unit' (the member's branch and unit on the roster). Grain: one row per member,
-- branch or unit of $level.
-- Parameters: $start, $end (inclusive), $level, the shared filters, $member_max (bound by the
-- store), and
--   $member_unit, $member_branch: only the members of this unit / branch on the roster (NULL: all);
--     a member's points do not depend on the others', so these rows are those of the whole roster;
--   $top: only the rows ranked $top or better (NULL: every row);
--   the rules of the [points] table of the settings (redservice.scorecard.PointsRules.params()):
--   $points_per_hour × hours served (at most $max_hours_per_month hours a month; 0 = no cap),
--   $points_per_red_day × 红色服务日 attended (records of form $red_day_form; one per distinct
--     活动编号, or per day when a record has none; dated by the first such record),
--   $points_per_wish × wishes the member claimed (claim_member_id) completed, on completion date,
--   $points_per_good_rating × those completed wishes rated at least $good_rating_min,
--   and at most $max_points_per_month points per member and calendar month (0 = no cap).
-- points_raw is the sum before either monthly cap, points after both. members: reported members of
-- the row (all of them count, with or without points); points_per_member = points ÷ members.
-- member_id and name are NULL on branch and unit rows, branch on unit rows.
-- rank: the leaderboard's rank among the rows (ties share the better rank): members by points,
-- branches and units by points per member (small units are not ranked by their size); ranked: the
-- number of rows ranked. Rows are ordered by rank, then unit, branch, name and member_id.
-- How: integer member ids (mid) throughout; each member's points are computed per month (where
-- the caps apply), then summed per member, or per branch or unit of the member on the roster.
WITH
roster AS (
    SELECT r.mid, r.member_id, r.name, r.unit, r.branch
    FROM f_members r
    WHERE r.reported_on <= $end
      AND ($member_unit IS NULL OR r.unit = $member_unit)
      AND ($member_branch IS NULL OR r.branch = $member_branch)
),
chosen AS (
    -- the roster's members as a bitmap over the dense member ids (read only when restricted)
    SELECT bitstring_agg(mid, 1, $member_max) AS bits FROM roster
),
period AS (
    SELECT s.mid, s.date, s.hours, s.form, s.aid
    FROM f_services s, chosen c
    WHERE s.date BETWEEN $start AND $end
      AND (($member_unit IS NULL AND $member_branch IS NULL) OR get_bit(c.bits, s.mid - 1) = 1)
),
red_days AS (
    SELECT mid, MIN(date) AS date
    FROM period
    WHERE form = $red_day_form
    GROUP BY mid, aid, CASE WHEN aid IS NULL THEN date END
),
events AS (
    -- kind: 0 a service record, 1 a 红色服务日, 2 a completed wish
    SELECT mid, date, hours, 0 AS kind, FALSE AS good FROM period
    UNION ALL
    SELECT mid, date, 0, 1, FALSE FROM red_days
    UNION ALL
    SELECT w.claim_mid, w.completed_on, 0, 2, COALESCE(w.satisfaction >= $good_rating_min, FALSE)
    FROM f_wishes w, chosen c
    WHERE w.completed_on BETWEEN $start AND $end AND w.claim_mid IS NOT NULL
      AND (($member_unit IS NULL AND $member_branch IS NULL) OR get_bit(c.bits, w.claim_mid - 1) = 1)
),
member_month AS (
    SELECT mid,
           SUM(hours) AS hours,
           COUNT(*) FILTER (WHERE kind = 1) AS red_days,
           COUNT(*) FILTER (WHERE kind = 2) AS wishes,
           COUNT(*) FILTER (WHERE good) AS good_ratings
    FROM events
    GROUP BY mid, DATE_TRUNC('month', date)
),
scored AS (
    SELECT mid, hours, red_days, wishes, good_ratings,
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
    SELECT mid, hours, red_days, wishes, good_ratings, points_raw,
           CASE WHEN $max_points_per_month > 0 AND points_hours_capped > $max_points_per_month
                THEN $max_points_per_month ELSE points_hours_capped END AS points
    FROM scored
),
-- member rows: each member's months summed; branch and unit rows: the months of their members
-- summed directly (the monthly caps are per member and month: the same sums, one grouping fewer)
member_points AS (
    SELECT mid, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM capped
    WHERE $level = 'member'
    GROUP BY mid
),
group_points AS (
    SELECT r.unit, CASE WHEN $level = 'branch' THEN r.branch END AS branch, SUM(c.hours) AS hours,
           SUM(c.red_days) AS red_days, SUM(c.wishes) AS wishes, SUM(c.good_ratings) AS good_ratings,
           SUM(c.points_raw) AS points_raw, SUM(c.points) AS points
    FROM capped c
    JOIN roster r ON r.mid = c.mid
    WHERE $level <> 'member'
    GROUP BY ALL
),
group_members AS (
    SELECT unit, CASE WHEN $level = 'branch' THEN branch END AS branch, COUNT(*) AS members
    FROM roster
    WHERE $level <> 'member'
    GROUP BY ALL
),
rolled AS (
    SELECT r.member_id, r.name, r.unit, r.branch, 1 AS members, p.hours, p.red_days, p.wishes,
           p.good_ratings, p.points_raw, p.points
    FROM roster r
    LEFT JOIN member_points p ON p.mid = r.mid
    WHERE $level = 'member'
    UNION ALL
    SELECT NULL, NULL, m.unit, m.branch, m.members, p.hours, p.red_days, p.wishes, p.good_ratings,
           p.points_raw, p.points
    FROM group_members m
    LEFT JOIN group_points p ON p.unit IS NOT DISTINCT FROM m.unit AND p.branch IS NOT DISTINCT FROM m.branch
    WHERE $level <> 'member'
),
totals AS (
    SELECT member_id, name, unit, branch,
           CAST(members AS BIGINT) AS members,
           COALESCE(hours, 0) AS hours,
           CAST(COALESCE(red_days, 0) AS BIGINT) AS red_days,
           CAST(COALESCE(wishes, 0) AS BIGINT) AS wishes,
           CAST(COALESCE(good_ratings, 0) AS BIGINT) AS good_ratings,
           CAST(COALESCE(points_raw, 0) AS DOUBLE) AS points_raw,
           CAST(COALESCE(points, 0) AS DOUBLE) AS points,
           CAST(COALESCE(points, 0) AS DOUBLE) / members AS points_per_member
    FROM rolled
),
board AS (
    SELECT *, CASE WHEN $level = 'member' THEN points ELSE points_per_member END AS score
    FROM totals
),
cut AS (
    -- the score of the row ranked $top (every row when $top is NULL)
    SELECT MIN(score) AS score FROM (SELECT score FROM board ORDER BY score DESC LIMIT $top) t
),
ranked AS (
    SELECT r.*, RANK() OVER (ORDER BY r.score DESC) AS rank, (SELECT COUNT(*) FROM totals) AS ranked
    FROM board r, cut c
    WHERE r.score >= c.score
)
SELECT member_id, name, unit, branch, members, hours, red_days, wishes, good_ratings, points_raw, points,
       points_per_member, rank, ranked
FROM ranked
ORDER BY rank, unit, branch, name, member_id

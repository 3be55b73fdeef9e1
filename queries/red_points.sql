-- 红色积分 (red points) of reported members for the period: every row of $level, and the
-- leaderboard's best rows of $board, from one computation of each member's points.
-- Grain: part × level × member, branch or unit (the member's branch and unit on the roster).
-- part 'rows': every member, branch or unit of $level (NULL: none); part 'board': the rows of
-- $board (NULL: none) ranked $top or better (NULL: all), ties included.
-- Parameters: $start, $end (inclusive), $level, $board, $top, the shared filters, $member_max
-- (bound by the store), and
--   $member_unit, $member_branch: only the members of this unit / branch on the roster (NULL: all);
--     a member's points do not depend on the others', so these rows are those of the whole roster;
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
-- rank: the rank among the part's rows (ties share the better rank): members by points, branches
-- and units by points per member (small units are not ranked by their size); ranked: the number
-- of rows of the level. Rows are ordered by part, rank, unit, branch, name and member_id.
-- How: integer member ids (mid) throughout; each member's points are computed per month (where
-- the caps apply), then summed per member, or per branch of the member on the roster (and the
-- branches per unit); the board ranks only the rows at or above the $top-th score.
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
member_points AS (
    SELECT mid, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM capped
    WHERE $level = 'member' OR $board = 'member'
    GROUP BY mid
),
-- branches and units sum the months of their members directly (the caps are per member and
-- month: the same sums, one grouping fewer)
branch_points AS (
    SELECT r.unit, r.branch, SUM(c.hours) AS hours, SUM(c.red_days) AS red_days, SUM(c.wishes) AS wishes,
           SUM(c.good_ratings) AS good_ratings, SUM(c.points_raw) AS points_raw, SUM(c.points) AS points
    FROM capped c
    JOIN roster r ON r.mid = c.mid
    WHERE $level IN ('branch', 'unit') OR $board IN ('branch', 'unit')
    GROUP BY r.unit, r.branch
),
branch_rows AS (
    SELECT m.unit, m.branch, m.members, p.hours, p.red_days, p.wishes, p.good_ratings, p.points_raw, p.points
    FROM (SELECT unit, branch, COUNT(*) AS members FROM roster
          WHERE $level IN ('branch', 'unit') OR $board IN ('branch', 'unit')
          GROUP BY unit, branch) m
    LEFT JOIN branch_points p ON p.unit IS NOT DISTINCT FROM m.unit AND p.branch IS NOT DISTINCT FROM m.branch
),
rolled AS (
    SELECT 'member' AS level, r.member_id, r.name, r.unit, r.branch, 1 AS members, p.hours, p.red_days,
           p.wishes, p.good_ratings, p.points_raw, p.points
    FROM roster r
    LEFT JOIN member_points p ON p.mid = r.mid
    WHERE $level = 'member' OR $board = 'member'
    UNION ALL
    SELECT 'branch', NULL, NULL, unit, branch, members, hours, red_days, wishes, good_ratings, points_raw, points
    FROM branch_rows
    WHERE $level = 'branch' OR $board = 'branch'
    UNION ALL
    SELECT 'unit', NULL, NULL, unit, NULL, SUM(members), SUM(hours), SUM(red_days), SUM(wishes),
           SUM(good_ratings), SUM(points_raw), SUM(points)
    FROM branch_rows
    WHERE $level = 'unit' OR $board = 'unit'
    GROUP BY unit
),
totals AS (
    SELECT level, member_id, name, unit, branch,
           CAST(members AS BIGINT) AS members,
           COALESCE(hours, 0) AS hours,
           CAST(COALESCE(red_days, 0) AS BIGINT) AS red_days,
           CAST(COALESCE(wishes, 0) AS BIGINT) AS wishes,
           CAST(COALESCE(good_ratings, 0) AS BIGINT) AS good_ratings,
           CAST(COALESCE(points_raw, 0) AS DOUBLE) AS points_raw,
           CAST(COALESCE(points, 0) AS DOUBLE) AS points,
           CAST(COALESCE(points, 0) AS DOUBLE) / members AS points_per_member,
           CASE WHEN level = 'member' THEN CAST(COALESCE(points, 0) AS DOUBLE)
                ELSE CAST(COALESCE(points, 0) AS DOUBLE) / members END AS score
    FROM rolled
),
level_rows AS (
    SELECT *, RANK() OVER (ORDER BY score DESC) AS rank, COUNT(*) OVER () AS ranked
    FROM totals
    WHERE level = $level
),
board_rows AS (
    SELECT * FROM totals WHERE level = $board
),
cut AS (
    -- the score of the row ranked $top (every row when $top is NULL): only those rows are ranked
    SELECT MIN(score) AS score FROM (SELECT score FROM board_rows ORDER BY score DESC LIMIT $top) t
),
board AS (
    SELECT b.*, RANK() OVER (ORDER BY b.score DESC) AS rank, (SELECT COUNT(*) FROM board_rows) AS ranked
    FROM board_rows b, cut c
    WHERE b.score >= c.score
)
SELECT part, level, member_id, name, unit, branch, members, hours, red_days, wishes, good_ratings,
       points_raw, points, points_per_member, rank, ranked
FROM (SELECT 'rows' AS part, * FROM level_rows
      UNION ALL
      SELECT 'board', * FROM board) t
ORDER BY part DESC, rank, unit, branch, name, member_id

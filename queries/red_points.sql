-- 红色积分 (red points) of reported members for the period: every row of $level, and the
-- leaderboard's best rows of $board, from one computation of each member's points.
-- Grain: part × level × member, branch or unit (the member's branch and unit on the roster).
-- part 'rows': every member, branch or unit of $level (NULL: none); part 'board': the rows of
-- $board (NULL: none) with points, ranked $top or better (NULL: all), ties included.
-- Parameters: $start, $end (inclusive), $whole_from, $whole_to (its whole months), $level, $board,
-- $top, the shared filters, $member_max and
-- $rollup_<rule> (the rules the rollups were built with; bound by the store), and
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
-- of rows of the level (with or without points). Rows are ordered by part, rank, unit, branch,
-- name and member_id.
-- How: the member-months and branch sums come from _base.sql (f_points_roster ... f_points_capped,
-- f_points_branches), shared with
-- unit_points.sql (the same unit rows, planned faster: the unit scorecard's column). Integer ids
-- throughout. The roster is a bitmap over the member ids: only its members'
-- records are read. While nothing narrows the records (f_rollups.members), the period's whole
-- calendar months come from the member-month rollup (member_months, red_carry) and only its partial
-- months from the records, where a 红色服务日 is counted on the record whose previous one of the
-- activity (red_prev) is before the period; otherwise every record is read and the activities
-- grouped. For branch and unit rows under the rules the rollups were built with, the whole months
-- of member-months whose points cannot depend on the period come summed per branch and month
-- (branch_months); the others are computed here. Each member's points are computed per month (where the caps apply), then
-- summed per member, or per branch and unit of the member on the roster (carried by the records:
-- services.roster_uid, roster_bid; no join); names are joined to the rows shown, last. The board
-- ranks only the rows at or above the $top-th score.
WITH
member_points AS (
    -- the roster's members with any event: their months summed
    SELECT mid, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM f_points_capped
    WHERE $level = 'member' OR $board = 'member'
    GROUP BY mid
),
member_rows AS (
    -- every member of the roster (with or without points)
    SELECT r.mid, 1 AS members, p.hours, p.red_days, p.wishes, p.good_ratings, p.points_raw, p.points
    FROM f_points_roster r
    LEFT JOIN member_points p ON p.mid = r.mid
    WHERE $level = 'member'
),
branch_rows AS (
    SELECT m.uid, m.bid, m.members, p.hours, p.red_days, p.wishes, p.good_ratings, p.points_raw, p.points
    FROM (SELECT uid, bid, COUNT(*) AS members FROM f_points_roster
          WHERE $level IN ('branch', 'unit') OR $board IN ('branch', 'unit')
          GROUP BY uid, bid) m
    LEFT JOIN f_points_branches p ON p.uid IS NOT DISTINCT FROM m.uid AND p.bid IS NOT DISTINCT FROM m.bid
),
unit_rows AS (
    SELECT uid, SUM(members) AS members, SUM(hours) AS hours, SUM(red_days) AS red_days,
           SUM(wishes) AS wishes, SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw,
           SUM(points) AS points
    FROM branch_rows
    WHERE $level = 'unit' OR $board = 'unit'
    GROUP BY uid
),
rolled AS (
    -- key: the member's, branch's or unit's id (uid: the branch's unit); src: the rows of $level
    -- ('rows'), the board's candidates ('board': members with points) or both
    SELECT 'rows' AS src, 'member' AS level, mid AS key, NULL::INTEGER AS uid, members, hours, red_days,
           wishes, good_ratings, points_raw, points
    FROM member_rows
    UNION ALL
    SELECT 'board', 'member', mid, NULL, 1, hours, red_days, wishes, good_ratings, points_raw, points
    FROM member_points
    WHERE $board = 'member'
    UNION ALL
    SELECT 'both', 'branch', bid, uid, members, hours, red_days, wishes, good_ratings, points_raw, points
    FROM branch_rows
    WHERE $level = 'branch' OR $board = 'branch'
    UNION ALL
    SELECT 'both', 'unit', uid, uid, members, hours, red_days, wishes, good_ratings, points_raw, points
    FROM unit_rows
),
totals AS (
    SELECT src, level, key, uid,
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
counts AS (
    SELECT (SELECT COUNT(*) FROM f_points_roster) AS members,
           (SELECT COUNT(*) FROM branch_rows) AS branches,
           (SELECT COUNT(*) FROM unit_rows) AS units
),
level_rows AS (
    SELECT t.*, RANK() OVER (ORDER BY t.score DESC) AS rank, COUNT(*) OVER () AS ranked
    FROM totals t
    WHERE t.level = $level AND t.src <> 'board'
),
board_rows AS (
    -- the board: rows with points only (a row with none is not ranked)
    SELECT * FROM totals WHERE level = $board AND src <> 'rows' AND score > 0
),
cut AS (
    -- the score of the row ranked $top (every row when $top is NULL): only those rows are ranked
    SELECT MIN(score) AS score FROM (SELECT score FROM board_rows ORDER BY score DESC LIMIT $top) t
),
board AS (
    SELECT b.*, RANK() OVER (ORDER BY b.score DESC) AS rank,
           (SELECT CASE $board WHEN 'member' THEN members WHEN 'branch' THEN branches ELSE units END FROM counts)
               AS ranked
    FROM board_rows b, cut c
    WHERE b.score >= c.score
),
shown AS (
    SELECT 'rows' AS part, * FROM level_rows
    UNION ALL
    SELECT 'board', * FROM board
)
SELECT x.part, x.level,
       m.member_id, m.name,
       CASE x.level WHEN 'member' THEN m.unit ELSE u.unit END AS unit,
       CASE x.level WHEN 'member' THEN m.branch WHEN 'branch' THEN b.branch END AS branch,
       x.members, x.hours, x.red_days, x.wishes, x.good_ratings, x.points_raw, x.points,
       x.points_per_member, x.rank, x.ranked
FROM shown x
LEFT JOIN f_members m ON x.level = 'member' AND m.mid = x.key
LEFT JOIN unit_ids u ON x.level <> 'member' AND u.uid = x.uid
LEFT JOIN branch_ids b ON x.level = 'branch' AND b.bid = x.key
ORDER BY x.part DESC, x.rank, unit, branch, m.name, m.member_id

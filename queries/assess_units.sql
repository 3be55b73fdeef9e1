-- 年度考核 per work unit (the member's unit on the roster): members on the roster, reported, each
-- status, overdue (not reported past the deadline), graded and grade conflicts. on_roster: the
-- roster's rows for the unit; where the unit has no roster rows beyond the reported ones, the
-- branches' 党员人数 (党支部名录) when every listed branch gives it and it is larger — then
-- not_reported counts the difference (members without a row). Grain: unit.
-- Parameters: the shared filters and the 年度考核 parameters of queries/_base.sql (f_a_...).
WITH per_unit AS (
    SELECT uid, ANY_VALUE(unit) AS unit, COUNT(*) AS roster_rows,
           COUNT(*) FILTER (WHERE reported) AS reported,
           COUNT(*) FILTER (WHERE status = 'met') AS met,
           COUNT(*) FILTER (WHERE status = 'on_track') AS on_track,
           COUNT(*) FILTER (WHERE status = 'behind') AS behind,
           COUNT(*) FILTER (WHERE status = 'not_reported') AS not_reported_rows,
           COUNT(*) FILTER (WHERE overdue) AS overdue,
           COUNT(grade) FILTER (WHERE reported) AS graded,
           COUNT(*) FILTER (WHERE grade_conflict) AS grade_conflicts,
           COALESCE(SUM(hours), 0) AS hours
    FROM f_a_members
    GROUP BY uid
),
on_roll AS (
    SELECT u.uid, CASE WHEN COUNT(b.members_on_roll) = COUNT(*) THEN CAST(SUM(b.members_on_roll) AS BIGINT) END
               AS members_on_roll
    FROM branches b
    JOIN unit_ids u ON u.unit = b.unit
    WHERE ($branches IS NULL OR list_contains($branches, b.branch))
    GROUP BY u.uid
)
SELECT p.unit,
       CASE WHEN p.not_reported_rows = 0 AND r.members_on_roll > p.roster_rows THEN r.members_on_roll
            ELSE p.roster_rows END AS on_roster,
       p.reported, p.met, p.on_track, p.behind,
       CASE WHEN p.not_reported_rows = 0 AND r.members_on_roll > p.roster_rows
            THEN r.members_on_roll - p.reported ELSE p.not_reported_rows END AS not_reported,
       p.not_reported_rows, p.overdue, p.graded, p.grade_conflicts, p.hours
FROM per_unit p
LEFT JOIN on_roll r ON r.uid = p.uid
ORDER BY p.unit

-- Branch scorecard: one row per branch of the store's branch list (党支部名录) within the unit and
-- branch filters and the viewer's scope, for one unit ($drill_unit) or all units (NULL).
-- Grain: branch. Parameters: $start, $end (inclusive), $drill_unit, the shared filters and
-- $member_max (bound by the store).
-- The figures follow queries/unit_scorecard.sql at branch level: members_on_roll (党员人数, NULL
-- when not given); reported by $end; reporting_rate (NULL when the roll is unknown or a community
-- filter or scope is in force); active and participation_rate; hours credited to the branch on
-- the day of service and hours_per_member; DISTINCT households per branch (never add them up);
-- wishes by claiming branch on claim / completion date; latest_month_records in the month of $end.
-- How: with $drill_unit set, members, records and households are narrowed to the unit's branches
-- (a list) and the records also to those of their members (a bitmap over the dense member ids)
-- before anything is counted; for all units ($drill_unit NULL) the narrowing is planned away.
WITH
branch_list AS (
    SELECT b.branch, b.unit, b.members_on_roll
    FROM branches b
    WHERE ($drill_unit IS NULL OR b.unit = $drill_unit)
      AND ($units IS NULL OR list_contains($units, b.unit))
      AND ($branches IS NULL OR list_contains($branches, b.branch))
      AND ($scope_units IS NULL OR list_contains($scope_units, b.unit))
      AND (($counties IS NULL AND $scope_counties IS NULL) OR b.unit IN (
                SELECT unit FROM f_county_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL))
),
drill AS (
    -- the drilled unit's branches as a list (NULL for all units)
    SELECT list(branch) AS branches FROM branch_list WHERE $drill_unit IS NOT NULL
),
reported AS (
    SELECT m.mid, m.branch
    FROM f_members m, drill d
    WHERE m.reported_on <= $end
      AND ($drill_unit IS NULL OR list_contains(d.branches, m.branch))
),
chosen AS (
    -- their reported members as a bitmap over the dense member ids
    SELECT bitstring_agg(mid, 1, $member_max) AS bits FROM reported WHERE $drill_unit IS NOT NULL
),
period_rows AS (
    -- the period's records; for one unit only those of its branches or of their reported members
    SELECT s.branch, s.mid, s.hours, s.persons, s.date
    FROM f_services s, drill d, chosen c
    WHERE s.date BETWEEN $start AND $end
      AND ($drill_unit IS NULL OR list_contains(d.branches, s.branch) OR get_bit(c.bits, s.mid - 1) = 1)
),
served AS (
    SELECT bitstring_agg(mid, 1, $member_max) AS bits FROM period_rows
),
branch_members AS (
    SELECT r.branch, COUNT(*) AS reported, COUNT(*) FILTER (WHERE get_bit(a.bits, r.mid - 1) = 1) AS active
    FROM reported r, served a
    GROUP BY r.branch
),
svc AS (
    SELECT branch,
           SUM(hours) AS hours,
           SUM(persons) AS persons,
           COUNT(*) AS records,
           COUNT(*) FILTER (WHERE date >= DATE_TRUNC('month', CAST($end AS DATE))) AS latest_month_records
    FROM period_rows
    GROUP BY branch
),
hh AS (
    SELECT h.branch, COUNT(DISTINCT h.household) AS households
    FROM f_households h, drill d
    WHERE h.date BETWEEN $start AND $end
      AND ($drill_unit IS NULL OR list_contains(d.branches, h.branch))
    GROUP BY h.branch
),
wish AS (
    SELECT w.claim_branch AS branch,
           COUNT(*) FILTER (WHERE w.claimed_on BETWEEN $start AND $end) AS wishes_claimed,
           COUNT(*) FILTER (WHERE w.completed_on BETWEEN $start AND $end) AS wishes_completed
    FROM f_wishes w
    WHERE w.claimed_on BETWEEN $start AND $end OR w.completed_on BETWEEN $start AND $end
    GROUP BY w.claim_branch
)
SELECT
    l.branch,
    l.unit,
    l.members_on_roll,
    COALESCE(mb.reported, 0) AS reported,
    CASE WHEN $communities IS NULL AND $scope_communities IS NULL AND l.members_on_roll > 0
              AND (($counties IS NULL AND $scope_counties IS NULL) OR l.unit IN (
                SELECT unit FROM f_county_own_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL))
         THEN CAST(COALESCE(mb.reported, 0) AS DOUBLE) / l.members_on_roll END AS reporting_rate,
    COALESCE(mb.active, 0) AS active,
    CASE WHEN COALESCE(mb.reported, 0) > 0
         THEN CAST(mb.active AS DOUBLE) / mb.reported END AS participation_rate,
    COALESCE(s.hours, 0) AS hours,
    CASE WHEN COALESCE(mb.reported, 0) > 0
         THEN COALESCE(s.hours, 0) / mb.reported END AS hours_per_member,
    CAST(COALESCE(s.persons, 0) AS BIGINT) AS persons,
    COALESCE(s.records, 0) AS records,
    COALESCE(h.households, 0) AS households,
    COALESCE(w.wishes_claimed, 0) AS wishes_claimed,
    COALESCE(w.wishes_completed, 0) AS wishes_completed,
    COALESCE(s.latest_month_records, 0) AS latest_month_records
FROM branch_list l
LEFT JOIN branch_members mb ON mb.branch = l.branch
LEFT JOIN svc s ON s.branch = l.branch
LEFT JOIN hh h ON h.branch = l.branch
LEFT JOIN wish w ON w.branch = l.branch
ORDER BY l.unit, l.branch

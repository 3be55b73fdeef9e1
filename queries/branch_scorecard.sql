-- Branch scorecard: one row per branch of the store's branch list (党支部名录) within the unit and
-- branch filters and the viewer's scope, for one unit ($drill_unit) or all units (NULL).
-- Grain: branch. Parameters: $start, $end (inclusive), $drill_unit and the shared filters.
-- The figures follow queries/unit_scorecard.sql at branch level: members_on_roll (党员人数, NULL
-- when not given); reported by $end; reporting_rate (NULL when the roll is unknown or a community
-- filter or scope is in force); active and participation_rate; hours credited to the branch on
-- the day of service and hours_per_member; DISTINCT households per branch (never add them up);
-- wishes by claiming branch on claim / completion date; latest_month_records in the month of $end.
WITH
branch_list AS (
    SELECT b.branch, b.unit, b.members_on_roll
    FROM branches b
    WHERE ($drill_unit IS NULL OR b.unit = $drill_unit)
      AND ($units IS NULL OR list_contains($units, b.unit))
      AND ($branches IS NULL OR list_contains($branches, b.branch))
      AND ($scope_units IS NULL OR list_contains($scope_units, b.unit))
),
reported AS (
    SELECT m.member_id, m.branch
    FROM f_members m
    WHERE m.reported_on <= $end
),
branch_members AS (
    SELECT r.branch, COUNT(*) AS reported,
           COUNT(CASE WHEN EXISTS (
               SELECT 1 FROM f_services s
               WHERE s.member_id = r.member_id AND s.date BETWEEN $start AND $end)
               THEN 1 END) AS active
    FROM reported r
    GROUP BY r.branch
),
svc AS (
    SELECT s.branch,
           SUM(s.hours) AS hours,
           SUM(s.persons) AS persons,
           COUNT(*) AS records,
           COUNT(CASE WHEN EXTRACT(YEAR FROM s.date) = EXTRACT(YEAR FROM CAST($end AS DATE))
                       AND EXTRACT(MONTH FROM s.date) = EXTRACT(MONTH FROM CAST($end AS DATE))
                      THEN 1 END) AS latest_month_records
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
    GROUP BY s.branch
),
hh AS (
    SELECT branch, COUNT(DISTINCT household) AS households
    FROM f_households
    WHERE date BETWEEN $start AND $end
    GROUP BY branch
),
claimed AS (
    SELECT claim_branch AS branch, COUNT(*) AS wishes_claimed
    FROM f_wishes WHERE claimed_on BETWEEN $start AND $end
    GROUP BY claim_branch
),
completed AS (
    SELECT claim_branch AS branch, COUNT(*) AS wishes_completed
    FROM f_wishes WHERE completed_on BETWEEN $start AND $end
    GROUP BY claim_branch
)
SELECT
    l.branch,
    l.unit,
    l.members_on_roll,
    COALESCE(mb.reported, 0) AS reported,
    CASE WHEN $communities IS NULL AND $scope_communities IS NULL AND l.members_on_roll > 0
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
    COALESCE(c.wishes_claimed, 0) AS wishes_claimed,
    COALESCE(d.wishes_completed, 0) AS wishes_completed,
    COALESCE(s.latest_month_records, 0) AS latest_month_records
FROM branch_list l
LEFT JOIN branch_members mb ON mb.branch = l.branch
LEFT JOIN svc s ON s.branch = l.branch
LEFT JOIN hh h ON h.branch = l.branch
LEFT JOIN claimed c ON c.branch = l.branch
LEFT JOIN completed d ON d.branch = l.branch
ORDER BY l.unit, l.branch

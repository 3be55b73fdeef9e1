-- The work units of one community: those paired with it (包联, units.paired_community) — listed
-- even when they served nothing in the period — and every other unit whose members served there.
-- Per unit: paired (TRUE/FALSE), hours, persons served, records, members who served, and distinct
-- households reached in this community in the period.
-- Grain: unit. Parameters: $start, $end, the shared filters, $community (the community's name).
WITH
svc AS (
    SELECT unit, SUM(hours) AS hours, SUM(persons) AS persons, COUNT(*) AS records,
           COUNT(DISTINCT mid) AS active_members
    FROM f_services
    WHERE date BETWEEN $start AND $end AND community = $community
    GROUP BY unit
),
hh AS (
    SELECT unit, COUNT(DISTINCT household) AS households_reached
    FROM f_households
    WHERE date BETWEEN $start AND $end AND community = $community
    GROUP BY unit
),
paired AS (
    SELECT u.unit
    FROM units u
    WHERE u.paired_community = $community
      AND ($units IS NULL OR list_contains($units, u.unit))
      AND ($scope_units IS NULL OR list_contains($scope_units, u.unit))
      AND (($counties IS NULL AND $scope_counties IS NULL) OR u.unit IN (
                SELECT unit FROM f_county_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL))
      AND ($branches IS NULL OR u.unit IN (
              SELECT b.unit FROM branches b WHERE list_contains($branches, b.branch)))
      AND ($communities IS NULL OR list_contains($communities, $community))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, $community))
),
keys AS (
    SELECT unit FROM paired
    UNION
    SELECT unit FROM svc
)
SELECT
    k.unit,
    CASE WHEN p.unit IS NULL THEN FALSE ELSE TRUE END AS paired,
    COALESCE(s.hours, 0) AS hours,
    COALESCE(s.persons, 0) AS persons,
    COALESCE(s.records, 0) AS records,
    COALESCE(s.active_members, 0) AS active_members,
    COALESCE(h.households_reached, 0) AS households_reached
FROM keys k
LEFT JOIN paired p ON p.unit = k.unit
LEFT JOIN svc s ON s.unit = k.unit
LEFT JOIN hh h ON h.unit = k.unit
ORDER BY paired DESC, hours DESC, k.unit

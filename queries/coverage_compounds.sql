-- One row per compound (小区): distinct households reached, hours, persons served and service
-- records in the period, with the compound's 户数 and position, and coverage = households reached
-- ÷ 户数 (NULL when 户数 is missing or 0). Compounds of the store's list plus any compound named in
-- the service records. Distinct households are per compound: never add them up to a community.
-- Grain: (community, compound). Parameters: $start, $end, the shared filters, and $community (one
-- community's name, or NULL for every community), $compound_household_max (bound by the store).
WITH
svc AS (
    SELECT community, compound, SUM(hours) AS hours, SUM(persons) AS persons, COUNT(*) AS records
    FROM f_services
    WHERE date BETWEEN $start AND $end
      AND compound IS NOT NULL
      AND ($community IS NULL OR community = $community)
    GROUP BY community, compound
),
hh AS (
    -- exact: a bitmap per compound over the household's number within its compound
    SELECT community, compound,
           COALESCE(bit_count(bitstring_agg(compound_hh, 1, $compound_household_max)), 0) AS households_reached
    FROM f_households
    WHERE date BETWEEN $start AND $end
      AND compound IS NOT NULL
      AND ($community IS NULL OR community = $community)
    GROUP BY community, compound
),
listed AS (
    SELECT community, compound
    FROM compounds
    WHERE ($community IS NULL OR community = $community)
      AND ($communities IS NULL OR list_contains($communities, community))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, community))
      AND (($counties IS NULL AND $scope_counties IS NULL) OR community IN (SELECT community FROM f_county_communities))
),
keys AS (
    SELECT community, compound FROM listed
    UNION
    SELECT community, compound FROM svc
)
SELECT
    k.community,
    k.compound,
    c.households AS households_total,
    c.lon,
    c.lat,
    COALESCE(h.households_reached, 0) AS households_reached,
    COALESCE(s.hours, 0) AS hours,
    COALESCE(s.persons, 0) AS persons,
    COALESCE(s.records, 0) AS records,
    CASE WHEN c.households IS NULL OR c.households = 0 THEN NULL
         ELSE CAST(COALESCE(h.households_reached, 0) AS DOUBLE) / c.households END AS coverage
FROM keys k
LEFT JOIN compounds c ON c.community = k.community AND c.compound = k.compound
LEFT JOIN svc s ON s.community = k.community AND s.compound = k.compound
LEFT JOIN hh h ON h.community = k.community AND h.compound = k.compound
ORDER BY k.community, households_reached DESC, k.compound

-- One row per community of the store: members reported by $end, hours, persons, distinct
-- households reached in the period, and coverage = households reached ÷ the community's 总户数
-- (NULL when 总户数 is missing or 0). Distinct households are per community: never add them up.
-- open_wishes: 微心愿 posted by $end and not completed by $end (as community_open_wishes.sql).
-- Grain: community. Parameters: $start, $end, the shared filters and $community_household_max
-- (bound by the store).
WITH
reported AS (
    SELECT community, COUNT(*) AS members
    FROM f_members WHERE reported_on <= $end
    GROUP BY community
),
svc AS (
    SELECT community, SUM(hours) AS hours, SUM(persons) AS persons, COUNT(*) AS records
    FROM f_services WHERE date BETWEEN $start AND $end
    GROUP BY community
),
hh AS (
    -- exact: a bitmap per community over the household's number within its community
    SELECT i.community, h.households_reached
    FROM (SELECT cid,
                 COALESCE(bit_count(bitstring_agg(community_hh, 1, $community_household_max)), 0)
                     AS households_reached
          FROM f_households WHERE date BETWEEN $start AND $end
          GROUP BY cid) h
    JOIN community_ids i ON i.cid = h.cid
),
open_wishes AS (
    SELECT community, COUNT(*) AS open_wishes
    FROM f_wishes
    WHERE posted_on <= $end AND (completed_on IS NULL OR completed_on > $end)
    GROUP BY community
)
SELECT
    c.community,
    c.households AS households_total,
    COALESCE(r.members, 0) AS members,
    COALESCE(s.hours, 0) AS hours,
    COALESCE(s.persons, 0) AS persons,
    COALESCE(s.records, 0) AS records,
    COALESCE(h.households_reached, 0) AS households_reached,
    CASE WHEN c.households IS NULL OR c.households = 0 THEN NULL
         ELSE CAST(COALESCE(h.households_reached, 0) AS DOUBLE) / c.households END AS coverage,
    COALESCE(o.open_wishes, 0) AS open_wishes
FROM communities c
LEFT JOIN reported r ON r.community = c.community
LEFT JOIN svc s ON s.community = c.community
LEFT JOIN hh h ON h.community = c.community
LEFT JOIN open_wishes o ON o.community = c.community
WHERE ($communities IS NULL OR list_contains($communities, c.community))
  AND ($scope_communities IS NULL OR list_contains($scope_communities, c.community))
  AND (($counties IS NULL AND $scope_counties IS NULL) OR c.community IN (SELECT community FROM f_county_communities))
ORDER BY hours DESC, c.community

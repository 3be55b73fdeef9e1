-- 区县对比: one row per county (所属县（市、区）) of the community list, within the filters and the
-- viewer's scope, for one period. Grain: county. Parameters: $start, $end (inclusive) and the shared
-- filters. The figures are kpis.sql's, grouped by the county each row counts in (docs/guide.md,
-- 口径: a record the county of the community where it was served, a member the county of the
-- community reported to, a wish its community's county), so each row equals kpis.sql with that
-- county chosen: members (reported on or before $end), branches and communities (distinct among
-- them), hours and persons (sums), households (DISTINCT household codes), activities (distinct
-- 活动编号), activity_persons, wishes claimed / completed in the period, active_members (reported
-- members of the county with a service in the county in the period: the AND of two bitmaps over
-- the county's member numbers, county_mid and home_mid). households_total: the 总户数 of the
-- county's communities (NULL unless every one gives it), the base of the per-100-households figures.
WITH
county_list AS (
    SELECT c.county, COUNT(*) AS communities_listed,
           CASE WHEN COUNT(c.households) = COUNT(*) THEN CAST(SUM(c.households) AS BIGINT) END AS households_total
    FROM communities c
    WHERE c.county IS NOT NULL
      AND ($counties IS NULL OR list_contains($counties, c.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, c.county))
      AND ($communities IS NULL OR list_contains($communities, c.community))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, c.community))
    GROUP BY c.county
),
reported AS (
    SELECT county, COUNT(*) AS members, COUNT(DISTINCT bid) AS branches, COUNT(DISTINCT cid) AS communities,
           bitstring_agg(county_mid, 1, $county_member_max) AS bits
    FROM f_members
    WHERE reported_on <= $end
    GROUP BY county
),
svc AS (
    -- bits: the county's members (by county_mid) with a record of theirs served in the county
    -- (home_mid: NULL on a record served elsewhere); ANDed with the reported members' bits they
    -- are the active members, exactly, without a join of the records to the roster (at 10 M records
    -- that semi-join on (member, county) took 250 ms of a quarter's 600 ms)
    SELECT county, COALESCE(SUM(hours), 0) AS hours, COALESCE(SUM(persons), 0) AS persons_served,
           COUNT(DISTINCT aid) AS activities,
           COALESCE(SUM(persons) FILTER (WHERE activity_id IS NOT NULL), 0) AS activity_persons,
           bitstring_agg(home_mid, 1, $county_member_max) AS bits
    FROM f_services
    WHERE date BETWEEN $start AND $end
    GROUP BY county
),
hh AS (
    -- households: an exact bitmap per county of its local household ids (county_hh), not a hash of
    -- every (county, household) pair (at 10 M records, 4.4 M pairs a quarter: 2.5 s)
    SELECT county, COALESCE(bit_count(bitstring_agg(county_hh, 1, $county_household_max)), 0) AS households
    FROM f_households
    WHERE date BETWEEN $start AND $end
    GROUP BY county
),
wish AS (
    SELECT c.county,
           COUNT(*) FILTER (WHERE w.claimed_on BETWEEN $start AND $end) AS wishes_claimed,
           COUNT(*) FILTER (WHERE w.completed_on BETWEEN $start AND $end) AS wishes_completed
    FROM f_wishes w
    JOIN (SELECT community, MIN(county) AS county FROM communities GROUP BY community) c
      ON c.community = w.community
    GROUP BY c.county
)
SELECT l.county,
       l.households_total,
       COALESCE(r.branches, 0) AS branches,
       COALESCE(r.members, 0) AS members,
       COALESCE(r.communities, 0) AS communities,
       COALESCE(s.hours, 0) AS hours,
       COALESCE(h.households, 0) AS households,
       COALESCE(s.persons_served, 0) AS persons_served,
       COALESCE(w.wishes_claimed, 0) AS wishes_claimed,
       COALESCE(w.wishes_completed, 0) AS wishes_completed,
       COALESCE(s.activities, 0) AS activities,
       COALESCE(s.activity_persons, 0) AS activity_persons,
       COALESCE(bit_count(r.bits & s.bits), 0) AS active_members,
       CASE WHEN COALESCE(r.members, 0) = 0 THEN NULL
            ELSE CAST(COALESCE(bit_count(r.bits & s.bits), 0) AS DOUBLE) / r.members END AS participation_rate
FROM county_list l
LEFT JOIN reported r ON r.county = l.county
LEFT JOIN svc s ON s.county = l.county
LEFT JOIN hh h ON h.county = l.county
LEFT JOIN wish w ON w.county = l.county
ORDER BY l.county

-- Headline KPIs for one period. Returns one row.
-- Grain: the whole filtered selection. Parameters: $start, $end (inclusive), the shared filters,
-- and $member_max / $household_max (bound by the store: the largest dense ids).
-- members: reported on or before $end; branches and communities: distinct among those members;
-- hours and persons_served: sums over services dated in the period; households: DISTINCT
-- household codes (never a sum); activities: distinct 活动编号; wishes by claim / completion date;
-- participation_rate: reported members with at least one service in the period ÷ members
-- (NULL when there are no members, shown as "—").
-- Every distinct count is exact, as a bitmap over dense integer ids
-- (bitstring_agg, then bit_count; active members = the AND of the reported and the serving
-- bitmaps): one pass over each relation, no hash table, no join.
WITH
reported AS (
    SELECT COALESCE(bit_count(bitstring_agg(bid, 1, $branch_max)), 0) AS branches,
           COUNT(*) AS members,
           COALESCE(bit_count(bitstring_agg(cid, 1, $community_max)), 0) AS communities,
           bitstring_agg(mid, 1, $member_max) AS bits
    FROM f_members
    WHERE reported_on <= $end
),
svc AS (
    SELECT COALESCE(SUM(hours), 0) AS hours,
           COALESCE(SUM(persons), 0) AS persons_served,
           COALESCE(bit_count(bitstring_agg(aid, 1, $activity_max)), 0) AS activities,
           COALESCE(SUM(persons) FILTER (WHERE activity_id IS NOT NULL), 0) AS activity_persons,
           bitstring_agg(mid, 1, $member_max) AS bits
    FROM f_services
    WHERE date BETWEEN $start AND $end
),
hh AS (
    SELECT COALESCE(bit_count(bitstring_agg(household, 1, $household_max)), 0) AS households
    FROM f_households
    WHERE date BETWEEN $start AND $end
),
wishes AS (
    SELECT COUNT(*) FILTER (WHERE claimed_on BETWEEN $start AND $end) AS wishes_claimed,
           COUNT(*) FILTER (WHERE completed_on BETWEEN $start AND $end) AS wishes_completed
    FROM f_wishes
),
figures AS (
    SELECT r.branches, r.members, r.communities, s.hours, h.households, s.persons_served,
           w.wishes_claimed, w.wishes_completed, s.activities, s.activity_persons,
           COALESCE(bit_count(r.bits & s.bits), 0) AS active_members
    FROM reported r, svc s, hh h, wishes w
)
SELECT
    branches, members, communities, hours, households, persons_served,
    wishes_claimed, wishes_completed, activities, activity_persons, active_members,
    CASE WHEN members = 0 THEN NULL
         ELSE CAST(active_members AS DOUBLE) / members END AS participation_rate
FROM figures

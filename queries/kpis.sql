-- Headline KPIs for one period. Returns one row.
-- Grain: the whole filtered selection. Parameters: $start, $end (inclusive) and the shared filters.
-- members: reported on or before $end; branches and communities: distinct among those members;
-- hours and persons_served: sums over services dated in the period; households: DISTINCT
-- household codes (never a sum); activities: distinct 活动编号; wishes by claim / completion date;
-- participation_rate: reported members with at least one service in the period ÷ members
-- (NULL when there are no members, shown as "—").
WITH
reported AS (
    SELECT member_id, branch, community FROM f_members WHERE reported_on <= $end
),
svc AS (
    SELECT member_id, hours, persons, activity_id FROM f_services
    WHERE date BETWEEN $start AND $end
),
figures AS (
    SELECT
        (SELECT COUNT(DISTINCT branch) FROM reported) AS branches,
        (SELECT COUNT(*) FROM reported) AS members,
        (SELECT COUNT(DISTINCT community) FROM reported) AS communities,
        (SELECT COALESCE(SUM(hours), 0) FROM svc) AS hours,
        (SELECT COUNT(DISTINCT household) FROM f_households
          WHERE date BETWEEN $start AND $end) AS households,
        (SELECT COALESCE(SUM(persons), 0) FROM svc) AS persons_served,
        (SELECT COUNT(*) FROM f_wishes WHERE claimed_on BETWEEN $start AND $end) AS wishes_claimed,
        (SELECT COUNT(*) FROM f_wishes WHERE completed_on BETWEEN $start AND $end) AS wishes_completed,
        (SELECT COUNT(DISTINCT activity_id) FROM svc) AS activities,
        (SELECT COALESCE(SUM(persons), 0) FROM svc WHERE activity_id IS NOT NULL) AS activity_persons,
        (SELECT COUNT(*) FROM reported r
          WHERE EXISTS (SELECT 1 FROM svc WHERE svc.member_id = r.member_id)) AS active_members
)
SELECT
    branches, members, communities, hours, households, persons_served,
    wishes_claimed, wishes_completed, activities, activity_persons, active_members,
    CASE WHEN members = 0 THEN NULL
         ELSE CAST(active_members AS DOUBLE) / members END AS participation_rate
FROM figures

-- Members of one branch ($drill_branch) reported on or before $end, with their service in the
-- period. Grain: member. Parameters: $start, $end (inclusive), $drill_branch and the shared filters.
-- records, hours, persons: the member's services in the period; households: DISTINCT household
-- codes the member served in the period; last_service: the member's latest service on or before
-- $end (any period; NULL = none on record); wishes_completed: wishes the member claimed
-- (claim_member_id) completed in the period. Names and phones are masked by the caller
-- (redservice.scorecard) unless the viewer may see them.
-- How: the branch's few members first, then one pass over their records up to $end (the period's
-- figures and the latest date together), their households in the period and their wishes.
WITH
roster AS (
    SELECT m.member_id, m.name, m.phone, m.unit, m.branch, m.community, m.compound, m.reported_on
    FROM f_members m
    WHERE m.branch = $drill_branch AND m.reported_on <= $end
),
svc AS (
    SELECT s.member_id,
           COUNT(*) FILTER (WHERE s.date >= $start) AS records,
           SUM(s.hours) FILTER (WHERE s.date >= $start) AS hours,
           SUM(s.persons) FILTER (WHERE s.date >= $start) AS persons,
           MAX(s.date) AS last_service
    FROM f_services s
    WHERE s.date <= $end
      AND s.member_id IN (SELECT member_id FROM roster)
    GROUP BY s.member_id
),
hh AS (
    SELECT h.member_id, COUNT(DISTINCT h.household) AS households
    FROM f_households h
    WHERE h.date BETWEEN $start AND $end
      AND h.member_id IN (SELECT member_id FROM roster)
    GROUP BY h.member_id
),
done AS (
    SELECT w.claim_member_id AS member_id, COUNT(*) AS wishes_completed
    FROM f_wishes w
    WHERE w.completed_on BETWEEN $start AND $end
      AND w.claim_member_id IN (SELECT member_id FROM roster)
    GROUP BY w.claim_member_id
)
SELECT
    r.member_id, r.name, r.phone, r.unit, r.branch, r.community, r.compound, r.reported_on,
    COALESCE(s.records, 0) AS records,
    COALESCE(s.hours, 0) AS hours,
    CAST(COALESCE(s.persons, 0) AS BIGINT) AS persons,
    COALESCE(h.households, 0) AS households,
    COALESCE(d.wishes_completed, 0) AS wishes_completed,
    s.last_service
FROM roster r
LEFT JOIN svc s ON s.member_id = r.member_id
LEFT JOIN hh h ON h.member_id = r.member_id
LEFT JOIN done d ON d.member_id = r.member_id
ORDER BY hours DESC, r.name, r.member_id

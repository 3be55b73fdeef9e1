-- Members of one branch ($drill_branch) reported on or before $end, with their service in the
-- period. Grain: member. Parameters: $start, $end (inclusive), $drill_branch, the shared filters
-- and $member_max (bound by the store).
-- records, hours, persons: the member's services in the period; households: DISTINCT household
-- codes the member served in the period; last_service: the member's latest service on or before
-- $end (any period; NULL = none on record); wishes_completed: wishes the member claimed
-- (claim_member_id) completed in the period. Names and phones are masked by the caller
-- (redservice.scorecard) unless the viewer may see them.
-- How: the branch's few members first (a bitmap over the dense member ids), then one pass over
-- their records up to $end (the period's figures and the latest date together), their households
-- in the period and their wishes.
WITH
roster AS (
    SELECT m.mid, m.member_id, m.name, m.phone, m.unit, m.branch, m.community, m.compound, m.reported_on
    FROM f_members m
    WHERE m.branch = $drill_branch AND m.reported_on <= $end
),
chosen AS (
    -- the branch's members as a bitmap over the dense member ids
    SELECT bitstring_agg(mid, 1, $member_max) AS bits FROM roster
),
svc AS (
    SELECT s.mid,
           COUNT(*) FILTER (WHERE s.date >= $start) AS records,
           SUM(s.hours) FILTER (WHERE s.date >= $start) AS hours,
           SUM(s.persons) FILTER (WHERE s.date >= $start) AS persons,
           MAX(s.date) AS last_service
    FROM f_services s, chosen c
    WHERE s.date <= $end
      AND get_bit(c.bits, s.mid - 1) = 1
    GROUP BY s.mid
),
hh AS (
    SELECT h.mid, COUNT(DISTINCT h.household) AS households
    FROM f_households h, chosen c
    WHERE h.date BETWEEN $start AND $end
      AND get_bit(c.bits, h.mid - 1) = 1
    GROUP BY h.mid
),
done AS (
    SELECT w.claim_mid AS mid, COUNT(*) AS wishes_completed
    FROM f_wishes w, chosen c
    WHERE w.completed_on BETWEEN $start AND $end
      AND get_bit(c.bits, w.claim_mid - 1) = 1
    GROUP BY w.claim_mid
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
LEFT JOIN svc s ON s.mid = r.mid
LEFT JOIN hh h ON h.mid = r.mid
LEFT JOIN done d ON d.mid = r.mid
ORDER BY hours DESC, r.name, r.member_id

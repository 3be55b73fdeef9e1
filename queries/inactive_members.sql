-- 未参与党员: members reported on or before $end without any service record in the period
-- (within every filter: a category or form filter asks "no service of that kind").
-- Grain: member, ordered by unit, branch, name. Parameters: $start, $end, the shared filters and
-- $member_max (bound by the store).
-- last_service: the member's latest service before the period (NULL = none on record).
-- branch_reported: members reported by $end in the member's branch (counted by branch, as
--   queries/branch_scorecard.sql counts `reported`), NULL when the branch list (党支部名录) has no
--   such branch of the member's unit; the page's share of inactive members per branch.
-- Names and phones are masked by the caller (redservice.scorecard) unless the viewer may see them.
-- How: integer ids until the end: the members who served in the period as one bitmap over the
-- dense member ids, the roster without them, the latest earlier record of those only; their names
-- and phones are looked up last.
WITH
reported AS (
    SELECT m.mid, m.bid
    FROM f_members m
    WHERE m.reported_on <= $end
),
served AS (
    -- the members with a service in the period: one bitmap over the dense member ids
    SELECT bitstring_agg(s.mid, 1, $member_max) AS bits
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
),
roster AS (
    SELECT r.mid, r.bid
    FROM reported r, served a
    WHERE get_bit(a.bits, r.mid - 1) IS DISTINCT FROM 1
),
last_seen AS (
    SELECT s.mid, MAX(s.date) AS last_service
    FROM f_services s
    WHERE s.date < $start AND s.mid IN (SELECT mid FROM roster)
    GROUP BY s.mid
),
branch_reported AS (
    SELECT r.bid, COUNT(*) AS reported
    FROM reported r
    GROUP BY r.bid
)
-- names and phones of the members selected above (already within the filters and the scope)
SELECT m.member_id, m.name, m.phone, m.unit, m.branch, m.community, m.reported_on, l.last_service,
       CASE WHEN b.branch IS NOT NULL THEN br.reported END AS branch_reported
FROM roster r
JOIN f_members m ON m.mid = r.mid
LEFT JOIN last_seen l ON l.mid = r.mid
LEFT JOIN branches b ON b.unit = m.unit AND b.branch = m.branch
LEFT JOIN branch_reported br ON br.bid = r.bid
ORDER BY m.unit, m.branch, m.name, m.member_id

-- 未参与党员: members reported on or before $end without any service record in the period
-- (within every filter: a category or form filter asks "no service of that kind").
-- Grain: member, ordered by unit, branch, name. Parameters: $start, $end and the shared filters.
-- last_service: the member's latest service before the period (NULL = none on record).
-- branch_reported: members reported by $end in the member's branch (counted by branch, as
--   queries/branch_scorecard.sql counts `reported`), NULL when the branch list (党支部名录) has no
--   such branch of the member's unit; the page's share of inactive members per branch.
-- Names and phones are masked by the caller (redservice.scorecard) unless the viewer may see them.
-- How: the members who served in the period once (a GROUP BY of the period's records), the roster
-- without them (a left join keeping the unmatched), then the latest earlier record of those left only.
WITH
reported AS (
    SELECT m.member_id, m.name, m.phone, m.unit, m.branch, m.community, m.reported_on
    FROM f_members m
    WHERE m.reported_on <= $end
),
served AS (
    SELECT s.member_id
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
    GROUP BY s.member_id
),
roster AS (
    SELECT r.member_id, r.name, r.phone, r.unit, r.branch, r.community, r.reported_on
    FROM reported r
    LEFT JOIN served a ON a.member_id = r.member_id
    WHERE a.member_id IS NULL
),
last_seen AS (
    SELECT s.member_id, MAX(s.date) AS last_service
    FROM f_services s
    WHERE s.date < $start
      AND s.member_id IN (SELECT member_id FROM roster)
    GROUP BY s.member_id
),
branch_reported AS (
    SELECT r.branch, COUNT(*) AS reported
    FROM reported r
    GROUP BY r.branch
)
SELECT r.member_id, r.name, r.phone, r.unit, r.branch, r.community, r.reported_on, l.last_service,
       CASE WHEN b.branch IS NOT NULL THEN br.reported END AS branch_reported
FROM roster r
LEFT JOIN last_seen l ON l.member_id = r.member_id
LEFT JOIN branches b ON b.unit = r.unit AND b.branch = r.branch
LEFT JOIN branch_reported br ON br.branch = r.branch
ORDER BY r.unit, r.branch, r.name, r.member_id

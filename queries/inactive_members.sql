-- 未参与党员: members reported on or before $end without any service record in the period
-- (within every filter: a category or form filter asks "no service of that kind").
-- Grain: member, ordered by unit, branch, name. Parameters: $start, $end and the shared filters.
-- last_service: the member's latest service before the period (NULL = none on record).
-- Names and phones are masked by the caller (redservice.scorecard) unless the viewer may see them.
WITH
roster AS (
    SELECT m.member_id, m.name, m.phone, m.unit, m.branch, m.community, m.reported_on
    FROM f_members m
    WHERE m.reported_on <= $end
      AND NOT EXISTS (
          SELECT 1 FROM f_services s
          WHERE s.member_id = m.member_id AND s.date BETWEEN $start AND $end)
),
last_seen AS (
    SELECT s.member_id, MAX(s.date) AS last_service
    FROM f_services s
    WHERE s.date < $start
      AND s.member_id IN (SELECT member_id FROM roster)
    GROUP BY s.member_id
)
SELECT r.member_id, r.name, r.phone, r.unit, r.branch, r.community, r.reported_on, l.last_service
FROM roster r
LEFT JOIN last_seen l ON l.member_id = r.member_id
ORDER BY r.unit, r.branch, r.name, r.member_id

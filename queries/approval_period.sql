-- The period's records that do not count (not approved): those waiting for approval (审核状态 in
-- $pending) and the others (returned …), with their hours — for the note under 总览's tiles.
-- Grain: one row. Parameters: $start, $end, $pending and the shared filters.
SELECT COUNT(*) FILTER (WHERE list_contains($pending, r.review_status)) AS pending,
       COALESCE(SUM(r.hours) FILTER (WHERE list_contains($pending, r.review_status)), 0) AS pending_hours,
       COUNT(*) FILTER (WHERE NOT list_contains($pending, r.review_status)) AS other
FROM f_records r
WHERE r.date BETWEEN $start AND $end
  AND NOT r.counted

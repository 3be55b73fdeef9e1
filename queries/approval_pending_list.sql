-- 待审核: every record waiting for approval (审核状态 in $pending) dated up to $as_of, oldest wait
-- first, with the days it has waited (from its 录入日期, else its 服务日期, to $as_of).
-- Grain: record. Names are the store's; the page masks them per role.
-- Parameters: $pending, $as_of and the shared filters.
SELECT r.record_id, r.date, r.entered_on, r.name, r.member_id, r.unit, r.branch, r.community, r.category,
       r.hours, r.review_status,
       DATE_DIFF('day', COALESCE(r.entered_on, r.date), CAST($as_of AS DATE)) AS waiting_days
FROM f_records r
WHERE list_contains($pending, r.review_status)
  AND r.date <= $as_of
ORDER BY waiting_days DESC, r.community, r.date, r.record_id

-- 待审核: the records waiting for approval (审核状态 in $pending) dated up to $as_of, per community
-- ($group = 'community': the community that must approve them) or per work unit ($group = 'unit'):
-- how many, their hours, and the age in days of the oldest (from its 录入日期, else its 服务日期, to
-- $as_of). Grain: one row per community or unit with a waiting record, most waiting first.
-- Parameters: $pending, $as_of, $group and the shared filters.
SELECT CASE WHEN $group = 'community' THEN r.community ELSE r.unit END AS name,
       COUNT(*) AS records,
       COALESCE(SUM(r.hours), 0) AS hours,
       MAX(DATE_DIFF('day', COALESCE(r.entered_on, r.date), CAST($as_of AS DATE))) AS oldest_days
FROM f_records r
WHERE list_contains($pending, r.review_status)
  AND r.date <= $as_of
GROUP BY CASE WHEN $group = 'community' THEN r.community ELSE r.unit END
ORDER BY records DESC, oldest_days DESC, name

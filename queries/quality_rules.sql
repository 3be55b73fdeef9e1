-- 数据质量: one row per rule of [quality] (rule, ord, count, records, applicable), in the page's
-- order. count is in the rule's own unit (member-days, records, members, household-days, units);
-- records: the records it flags; applicable: FALSE when no checked record of the period has the
-- column the rule reads. Parameters: $start, $end, the shared filters and the $q_... rules.
SELECT rule, ord, count, records, applicable
FROM f_q_rule_counts
ORDER BY ord

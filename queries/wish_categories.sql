-- Wishes posted in the period per 类别 and where they stand at the period's end: completed,
-- claimed but not completed, and waiting for a claim. category may be NULL (no 类别 given).
-- Grain: category. Parameters: $start, $end and the shared filters.
WITH cohort AS (
    SELECT
        category,
        CASE WHEN completed_on <= $end THEN 1 ELSE 0 END AS is_completed,
        CASE WHEN COALESCE(claimed_on, completed_on) <= $end THEN 1 ELSE 0 END AS is_claimed
    FROM f_wishes
    WHERE posted_on BETWEEN $start AND $end
)
SELECT
    category,
    COUNT(*) AS posted,
    SUM(is_completed) AS completed,
    SUM(is_claimed) - SUM(is_completed) AS in_progress,
    COUNT(*) - SUM(is_claimed) AS unclaimed
FROM cohort
GROUP BY category
ORDER BY posted DESC, category

-- The 微心愿 pipeline 提出 → 认领 → 办结 for the wishes posted in the period, as of the period's end:
-- posted = 提出日期 within [$start, $end]; claimed = of those, claimed on or before $end (a wish
-- completed without a claim date counts as claimed); completed = of those, completed on or before $end.
-- Returns one row. Parameters: $start, $end and the shared filters (units: the claiming unit).
WITH cohort AS (
    SELECT
        wish_id,
        CASE WHEN COALESCE(claimed_on, completed_on) <= $end THEN 1 ELSE 0 END AS is_claimed,
        CASE WHEN completed_on <= $end THEN 1 ELSE 0 END AS is_completed
    FROM f_wishes
    WHERE posted_on BETWEEN $start AND $end
)
SELECT
    COUNT(*) AS posted,
    COALESCE(SUM(is_claimed), 0) AS claimed,
    COALESCE(SUM(is_completed), 0) AS completed
FROM cohort

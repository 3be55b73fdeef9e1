-- How long wishes wait: the median days from 提出 to 认领 over wishes claimed in the period, and
-- from 认领 to 办结 over wishes completed in the period (each counted on its own date, as the KPIs
-- are). Dates out of order (a claim before the posting) are left out of the medians.
-- Returns one row (medians NULL when nothing qualifies). Parameters: $start, $end, shared filters.
WITH
to_claim AS (
    SELECT DATE_DIFF('day', posted_on, claimed_on) AS days
    FROM f_wishes
    WHERE claimed_on BETWEEN $start AND $end AND posted_on IS NOT NULL AND claimed_on >= posted_on
),
to_complete AS (
    SELECT DATE_DIFF('day', claimed_on, completed_on) AS days
    FROM f_wishes
    WHERE completed_on BETWEEN $start AND $end AND claimed_on IS NOT NULL AND completed_on >= claimed_on
)
SELECT
    (SELECT COUNT(*) FROM to_claim) AS claimed,
    (SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY days) FROM to_claim) AS median_days_to_claim,
    (SELECT COUNT(*) FROM to_complete) AS completed,
    (SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY days) FROM to_complete) AS median_days_to_complete

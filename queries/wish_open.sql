-- Wishes still open at the period's end: posted on or before $end and not completed by then.
-- claimed_on, claim_unit and claimer are kept only when the claim happened by $end (a later claim
-- is still unclaimed then; a claim without a date keeps its unit and claimer);
-- age_days = days from 提出 to $end; claimed_days = days from 认领 to $end (NULL if unclaimed).
-- Overdue flags use configurable thresholds and are set by redservice.wishes.
-- Grain: wish. Parameters: $end and the shared filters. claimer is personal: masked before display.
SELECT
    wish_id, community, compound, category, content, posted_on,
    CASE WHEN claimed_on IS NULL OR claimed_on <= $end THEN claim_unit END AS claim_unit,
    CASE WHEN claimed_on IS NULL OR claimed_on <= $end THEN claimer END AS claimer,
    CASE WHEN claimed_on <= $end THEN claimed_on END AS claimed_on,
    DATE_DIFF('day', posted_on, $end) AS age_days,
    CASE WHEN claimed_on <= $end THEN DATE_DIFF('day', claimed_on, $end) END AS claimed_days
FROM f_wishes
WHERE posted_on <= $end
  AND (completed_on IS NULL OR completed_on > $end)
ORDER BY age_days DESC, wish_id

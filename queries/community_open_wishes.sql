-- Micro-wishes (微心愿) still open at the end of the period: posted on or before $end and not
-- completed on or before $end. state is 'claimed' (claimed on or before $end) or 'unclaimed';
-- age_days counts days from posting to $end, claimed_days from the claim to $end (NULL when
-- unclaimed). The state is read from the dates, not from the free-text status column.
-- Grain: wish. Parameters: $end, the shared filters (a unit or branch filter keeps only wishes
-- claimed by it), $community (one community's name, or NULL for every community).
SELECT
    w.wish_id,
    w.community,
    w.compound,
    w.content,
    w.category,
    w.posted_on,
    CASE WHEN w.claimed_on IS NOT NULL AND w.claimed_on <= $end THEN 'claimed'
         ELSE 'unclaimed' END AS state,
    CASE WHEN w.claimed_on IS NOT NULL AND w.claimed_on <= $end THEN w.claim_unit END AS claim_unit,
    CASE WHEN w.claimed_on IS NOT NULL AND w.claimed_on <= $end THEN w.claimer END AS claimer,
    CASE WHEN w.claimed_on IS NOT NULL AND w.claimed_on <= $end THEN w.claimed_on END AS claimed_on,
    DATE_DIFF('day', w.posted_on, CAST($end AS DATE)) AS age_days,
    CASE WHEN w.claimed_on IS NOT NULL AND w.claimed_on <= $end
         THEN DATE_DIFF('day', w.claimed_on, CAST($end AS DATE)) END AS claimed_days
FROM f_wishes w
WHERE w.posted_on <= $end
  AND (w.completed_on IS NULL OR w.completed_on > $end)
  AND ($community IS NULL OR w.community = $community)
ORDER BY w.community, age_days DESC, w.wish_id

-- Each community of the county level and its county (所属县（市、区）), within the viewer's scope: the
-- map of 区县对比 colours a community's boundary with its county's figure and dissolves the outlines.
-- Grain: community. Parameters: the scope (and the county filter).
SELECT c.community, c.county
FROM communities c
WHERE c.county IS NOT NULL
  AND c.community IN (SELECT community FROM f_county_communities)
  AND ($scope_communities IS NULL OR list_contains($scope_communities, c.community))
ORDER BY c.community

-- Values offered by the filter bar: one row per (dimension, value), with the parent unit for
-- branches. Drawn from the records within the viewer's scope (f_dims: the values the serving copy
-- keeps, redservice.serving) and, for communities and counties (区县), from the community list.
-- Grain: dimension × value. Parameters: the scope (filters are passed open).
SELECT dimension, value, parent FROM f_dims
UNION ALL
SELECT 'community', community, NULL FROM communities
WHERE ($scope_communities IS NULL OR list_contains($scope_communities, community))
  AND ($scope_counties IS NULL OR list_contains($scope_counties, county))
UNION
SELECT 'county', county, NULL FROM communities
WHERE county IS NOT NULL
  AND ($scope_counties IS NULL OR list_contains($scope_counties, county))
ORDER BY dimension, value

-- Values offered by the filter bar: one row per (dimension, value), with the parent unit for
-- branches. Drawn from dimension tables and records within the viewer's scope.
-- Grain: dimension × value. Parameters: the scope (filters are passed open).
SELECT 'unit' AS dimension, unit AS value, CAST(NULL AS VARCHAR) AS parent FROM f_members
UNION
SELECT 'unit', unit, NULL FROM f_services
UNION
SELECT 'branch', branch, unit FROM f_members WHERE branch IS NOT NULL
UNION
SELECT 'branch', branch, unit FROM f_services WHERE branch IS NOT NULL
UNION
SELECT 'community', community, NULL FROM communities
WHERE $scope_communities IS NULL OR list_contains($scope_communities, community)
UNION
SELECT 'category', category, NULL FROM f_services WHERE category IS NOT NULL
UNION
SELECT 'form', form, NULL FROM f_services WHERE form IS NOT NULL
ORDER BY dimension, value

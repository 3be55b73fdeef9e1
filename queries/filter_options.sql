-- Values offered by the filter bar: one row per (dimension, value), with the parent unit for
-- branches. Drawn from the records within the viewer's scope (f_dims: the values the serving copy
-- keeps, redservice.serving) and, for communities and counties (区县), from the community list.
-- With counties chosen ($counties, the filter bar's 区县), the units, branches and communities
-- offered narrow to them: the units a county view lists (f_county_units: the counties' own and any
-- unit with a member reported or a record served there), the branches found in the counties'
-- records (f_county_branches) or belonging to one of their own units, the counties' communities. Categories, forms and
-- the counties themselves are offered whole. Grain: dimension × value. Parameters: the scope and
-- $counties (the other filters are passed open).
-- Without counties the values are read as they are kept: the county branch below is then an empty
-- result (its condition on the bound $counties is folded), not a scan of every unit's counties; and
-- the parts are of different dimensions, so they are put together without a distinct over all values.
SELECT v.dimension, v.value, v.parent FROM f_dims v
WHERE $counties IS NULL
UNION ALL
SELECT v.dimension, v.value, v.parent FROM f_dims v
WHERE $counties IS NOT NULL
  AND (v.dimension IN ('category', 'form')
       OR (v.dimension = 'unit' AND v.value IN (SELECT unit FROM f_county_units))
       OR (v.dimension = 'branch'
           AND (v.parent IN (SELECT unit FROM f_county_own_units)
                OR EXISTS (SELECT 1 FROM f_county_branches b
                           WHERE b.branch = v.value AND b.unit IS NOT DISTINCT FROM v.parent))))
UNION ALL
SELECT DISTINCT 'community', community, NULL FROM communities
WHERE ($scope_communities IS NULL OR list_contains($scope_communities, community))
  AND ($scope_counties IS NULL OR list_contains($scope_counties, county))
  AND ($counties IS NULL OR list_contains($counties, county))
UNION ALL
SELECT DISTINCT 'county', county, NULL FROM communities
WHERE county IS NOT NULL
  AND ($scope_counties IS NULL OR list_contains($scope_counties, county))
ORDER BY dimension, value, parent

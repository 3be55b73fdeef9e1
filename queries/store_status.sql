-- Store status for the 数据管理 page: how many rows each table holds and the span of its dates.
-- Grain: one row per table of the store (table_name, row_count, first_date, last_date; dates only
-- for dated tables). Parameters: pass no dimension filters (all NULL) so that everything the
-- viewer's scope allows is counted; $start/$end are not used. Service records are counted whatever
-- their 审核状态 (what the store holds, not what the figures count). A viewer limited to some
-- counties counts their lists alone: the counties' communities (and their compounds), and the units
-- a county view lists (f_county_units: theirs, and the city's serving there) with their branches.
SELECT 'communities' AS table_name, COUNT(*) AS row_count,
       CAST(NULL AS DATE) AS first_date, CAST(NULL AS DATE) AS last_date
FROM communities
WHERE community IN (SELECT community FROM f_county_communities)
UNION ALL
SELECT 'compounds' AS table_name, COUNT(*) AS row_count, CAST(NULL AS DATE), CAST(NULL AS DATE)
FROM compounds
WHERE community IN (SELECT community FROM f_county_communities)
UNION ALL
SELECT 'units' AS table_name, COUNT(*) AS row_count, CAST(NULL AS DATE), CAST(NULL AS DATE)
FROM units
WHERE unit IN (SELECT unit FROM f_county_units)
UNION ALL
SELECT 'branches' AS table_name, COUNT(*) AS row_count, CAST(NULL AS DATE), CAST(NULL AS DATE)
FROM branches
WHERE unit IN (SELECT unit FROM f_county_units)
UNION ALL
SELECT 'members' AS table_name, COUNT(*) AS row_count, MIN(reported_on), MAX(reported_on)
FROM f_members
UNION ALL
SELECT 'services' AS table_name, COUNT(*) AS row_count, MIN(date), MAX(date)
FROM f_records
UNION ALL
SELECT 'service_households' AS table_name, COUNT(*) AS row_count, MIN(date), MAX(date)
FROM f_household_records
UNION ALL
SELECT 'wishes' AS table_name, COUNT(*) AS row_count, MIN(posted_on), MAX(posted_on)
FROM f_wishes
UNION ALL
SELECT 'evaluations' AS table_name, COUNT(*) AS row_count, MIN(e.evaluated_on), MAX(e.evaluated_on)
FROM evaluations e
WHERE e.member_id IN (SELECT member_id FROM f_members)

-- Shared filtered relations, prepended by the store to every query as CTEs.
-- This is the one choke point: the viewer's scope ($scope_units, $scope_communities) and the
-- filter bar ($units, $branches, $communities, $categories, $forms) apply here and nowhere else.
-- A NULL list means "no restriction"; an empty list matches nothing.
-- Queries read f_members, f_services, f_households, f_wishes and f_dims, never the raw tables
-- (they may name the units and branches they count by id: unit_ids, branch_ids).
-- mid (claim_mid: the wish's claiming member), uid, bid, cid, aid, household: dense integer ids
-- of member, work unit, branch, community, activity and household (redservice.serving);
-- $member_max, $branch_max, $community_max, $activity_max and $household_max: the
-- largest ids, bound by the store for exact bitmap counts (bitstring_agg); paired: the record is in
-- its unit's 包联 community; roster_uid, roster_bid: its member's unit and branch on the roster;
-- community_hh, compound_hh, unit_hh, unit_mid: the household's / member's number within its
-- community, compound, unit (largest: $community_household_max, $compound_household_max,
-- $unit_household_max, $unit_member_max), for exact bitmap counts grouped by those (or finer).
-- red_prev (services), unit_hh_prev (household_facts): the previous date of the same activity of the
-- member / of the same unit serving the same household, in all the records (redservice.serving);
-- unit_months, unit_household_months, unit_household_returns: per-unit rollups by month;
-- member_months, red_carry, branch_months: the 红色积分 rollups (built with the rules the store
-- binds as $rollup_points_per_hour, $rollup_red_day_form ...). All describe the unfiltered records: a query uses them only while f_rollups says
-- nothing cuts them (see there).
-- f_members, f_services and f_households are inlined wherever they are read (NOT MATERIALIZED): a
-- query that reads one of them twice (members counted by id, then a few named; records grouped
-- two ways) scans the table twice, reading only the columns each use needs, instead of one copy of
-- every record or of the whole roster with its names and phones (a scan of the date-sorted table
-- is cheaper than the copy: the unit scorecard at 10 M records, 250 → 180 ms).
f_members AS NOT MATERIALIZED (
    SELECT m.member_id, m.name, m.unit, m.branch, m.community, m.reported_on,
           m.gender, m.compound, m.phone, m.mid, m.bid, m.cid, m.uid
    FROM members m
    WHERE ($units IS NULL OR list_contains($units, m.unit))
      AND ($branches IS NULL OR list_contains($branches, m.branch))
      AND ($communities IS NULL OR list_contains($communities, m.community))
      AND ($scope_units IS NULL OR list_contains($scope_units, m.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, m.community))
),
f_services AS NOT MATERIALIZED (
    SELECT s.record_id, s.date, s.member_id, s.name, s.unit, s.branch, s.community, s.compound,
           s.category, s.form, s.activity_id, s.content, s.persons, s.hours, s.note, s.mid, s.aid, s.unit_mid,
           s.uid, s.paired, s.roster_uid, s.roster_bid, s.red_prev
    FROM services s
    WHERE ($units IS NULL OR list_contains($units, s.unit))
      AND ($branches IS NULL OR list_contains($branches, s.branch))
      AND ($communities IS NULL OR list_contains($communities, s.community))
      AND ($categories IS NULL OR list_contains($categories, s.category))
      AND ($forms IS NULL OR list_contains($forms, s.form))
      AND ($scope_units IS NULL OR list_contains($scope_units, s.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, s.community))
),
f_households AS NOT MATERIALIZED (
    -- one row per service record x household (household: a dense integer id, one per household)
    SELECT h.date, h.mid, h.member_id, h.unit, h.uid, h.branch, h.community, h.cid, h.compound,
           h.category, h.form, h.household, h.community_hh, h.compound_hh, h.unit_hh, h.unit_hh_prev
    FROM household_facts h
    WHERE ($units IS NULL OR list_contains($units, h.unit))
      AND ($branches IS NULL OR list_contains($branches, h.branch))
      AND ($communities IS NULL OR list_contains($communities, h.community))
      AND ($categories IS NULL OR list_contains($categories, h.category))
      AND ($forms IS NULL OR list_contains($forms, h.form))
      AND ($scope_units IS NULL OR list_contains($scope_units, h.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, h.community))
),
f_wishes AS (
    SELECT w.wish_id, w.community, w.compound, w.content, w.category, w.posted_on,
           w.claim_unit, w.claimer, w.claim_member_id, w.claim_branch, w.claimed_on,
           w.completed_on, w.status, w.satisfaction, w.claim_mid
    FROM wishes w
    WHERE ($units IS NULL OR list_contains($units, w.claim_unit))
      AND ($branches IS NULL OR list_contains($branches, w.claim_branch))
      AND ($communities IS NULL OR list_contains($communities, w.community))
      AND ($scope_units IS NULL OR list_contains($scope_units, w.claim_unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, w.community))
),
f_rollups AS (
    -- whether the precomputed first occurrences and rollups describe the records the viewer sees
    -- ($rollups: the store's switch, on in the app; the tests compare both ways):
    -- members: nothing narrows the records (no filter, no scope): red_prev, member_months, red_carry;
    -- units: nothing narrows a unit's records but whole units (unit filter and scope allowed):
    --   unit_hh_prev, whose chains run within one unit, and the per-unit rollups
    SELECT $rollups AND $units IS NULL AND $branches IS NULL AND $communities IS NULL
               AND $categories IS NULL AND $forms IS NULL AND $scope_units IS NULL
               AND $scope_communities IS NULL AS members,
           $rollups AND $branches IS NULL AND $communities IS NULL AND $categories IS NULL
               AND $forms IS NULL AND $scope_communities IS NULL AS units
),
f_member_months AS (
    -- the 红色积分 rollups (redservice.serving), empty unless f_rollups.members
    SELECT mm.mid, mm.month, mm.uid, mm.bid, mm.hours, mm.red_new, mm.eligible
    FROM member_months mm, f_rollups r
    WHERE r.members
),
f_unit_months AS (
    -- the per-unit rollups (redservice.serving), empty unless f_rollups.units; by the record's unit
    SELECT m.uid, m.month, m.hours, m.persons, m.records, m.paired_hours
    FROM unit_months m, f_rollups r
    WHERE r.units AND ($units IS NULL OR list_contains($units, m.unit))
      AND ($scope_units IS NULL OR list_contains($scope_units, m.unit))
),
f_unit_household_months AS (
    SELECT m.uid, m.month, m.households
    FROM unit_household_months m, f_rollups r
    WHERE r.units AND ($units IS NULL OR list_contains($units, m.unit))
      AND ($scope_units IS NULL OR list_contains($scope_units, m.unit))
),
f_unit_household_returns AS (
    SELECT m.uid, m.month, m.unit_hh_prev
    FROM unit_household_returns m, f_rollups r
    WHERE r.units AND ($units IS NULL OR list_contains($units, m.unit))
      AND ($scope_units IS NULL OR list_contains($scope_units, m.unit))
),
f_branch_months AS (
    SELECT b.uid, b.bid, b.month, b.hours, b.red_days, b.wishes, b.good_ratings, b.points_raw, b.points
    FROM branch_months b, f_rollups r
    WHERE r.members
),
f_red_carry AS (
    SELECT c.mid, c.month, c.red_prev
    FROM red_carry c, f_rollups r
    WHERE r.members
),
f_dims AS (
    -- the filter bar's values found in the records (dimension, value, parent unit of a branch),
    -- within the viewer's scope only (the filter bar offers every value the viewer may pick)
    SELECT v.dimension, v.value, v.parent
    FROM dim_values v
    WHERE $scope_units IS NULL AND $scope_communities IS NULL
    UNION ALL
    SELECT DISTINCT d.dimension, d.value, d.parent
    FROM dim_scoped d
    WHERE ($scope_units IS NOT NULL OR $scope_communities IS NOT NULL)
      AND ($scope_units IS NULL OR list_contains($scope_units, d.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, d.community))
)

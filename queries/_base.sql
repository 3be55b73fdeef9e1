-- Shared filtered relations, prepended by the store to every query as CTEs.
-- This is the one choke point: the viewer's scope ($scope_units, $scope_communities) and the
-- filter bar ($units, $branches, $communities, $categories, $forms) apply here and nowhere else.
-- A NULL list means "no restriction"; an empty list matches nothing.
-- Queries read f_members, f_services, f_households and f_wishes, never the raw tables.
f_members AS (
    SELECT m.member_id, m.name, m.unit, m.branch, m.community, m.reported_on,
           m.gender, m.compound, m.phone
    FROM members m
    WHERE ($units IS NULL OR m.unit IN (SELECT UNNEST($units)))
      AND ($branches IS NULL OR m.branch IN (SELECT UNNEST($branches)))
      AND ($communities IS NULL OR m.community IN (SELECT UNNEST($communities)))
      AND ($scope_units IS NULL OR m.unit IN (SELECT UNNEST($scope_units)))
      AND ($scope_communities IS NULL OR m.community IN (SELECT UNNEST($scope_communities)))
),
f_services AS (
    SELECT s.record_id, s.date, s.member_id, s.name, s.unit, s.branch, s.community, s.compound,
           s.category, s.form, s.activity_id, s.content, s.persons, s.hours, s.note
    FROM services s
    WHERE ($units IS NULL OR s.unit IN (SELECT UNNEST($units)))
      AND ($branches IS NULL OR s.branch IN (SELECT UNNEST($branches)))
      AND ($communities IS NULL OR s.community IN (SELECT UNNEST($communities)))
      AND ($categories IS NULL OR s.category IN (SELECT UNNEST($categories)))
      AND ($forms IS NULL OR s.form IN (SELECT UNNEST($forms)))
      AND ($scope_units IS NULL OR s.unit IN (SELECT UNNEST($scope_units)))
      AND ($scope_communities IS NULL OR s.community IN (SELECT UNNEST($scope_communities)))
),
f_households AS (
    -- one row per service record x household (household: an id, distinct per household)
    SELECT h.record_id, h.date, h.member_id, h.unit, h.branch, h.community, h.compound,
           h.category, h.form, h.household
    FROM household_facts h
    WHERE ($units IS NULL OR h.unit IN (SELECT UNNEST($units)))
      AND ($branches IS NULL OR h.branch IN (SELECT UNNEST($branches)))
      AND ($communities IS NULL OR h.community IN (SELECT UNNEST($communities)))
      AND ($categories IS NULL OR h.category IN (SELECT UNNEST($categories)))
      AND ($forms IS NULL OR h.form IN (SELECT UNNEST($forms)))
      AND ($scope_units IS NULL OR h.unit IN (SELECT UNNEST($scope_units)))
      AND ($scope_communities IS NULL OR h.community IN (SELECT UNNEST($scope_communities)))
),
f_wishes AS (
    SELECT w.wish_id, w.community, w.compound, w.content, w.category, w.posted_on,
           w.claim_unit, w.claimer, w.claim_member_id, w.claim_branch, w.claimed_on,
           w.completed_on, w.status, w.satisfaction
    FROM wishes w
    WHERE ($units IS NULL OR w.claim_unit IN (SELECT UNNEST($units)))
      AND ($branches IS NULL OR w.claim_branch IN (SELECT UNNEST($branches)))
      AND ($communities IS NULL OR w.community IN (SELECT UNNEST($communities)))
      AND ($scope_units IS NULL OR w.claim_unit IN (SELECT UNNEST($scope_units)))
      AND ($scope_communities IS NULL OR w.community IN (SELECT UNNEST($scope_communities)))
)

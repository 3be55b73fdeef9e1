-- Shared filtered relations, prepended by the store to every query as CTEs.
-- This is the one choke point: the viewer's scope ($scope_units, $scope_communities, $scope_counties)
-- and the filter bar ($counties, $units, $branches, $communities, $categories, $forms) apply here and
-- nowhere else (lists read from the raw tables are narrowed by f_county_communities / f_county_units).
-- A NULL list means "no restriction"; an empty list matches nothing.
-- Queries read f_members, f_services, f_households, f_wishes and f_dims, never the raw tables
-- (f_records / f_household_records: the same with the uncounted records, for 待审核 and 数据质量)
-- (they may name the units and branches they count by id: unit_ids, branch_ids).
-- mid (claim_mid: the wish's claiming member), uid, bid, cid, aid, household: dense integer ids
-- of member, work unit, branch, community, activity and household (redservice.serving);
-- $member_max, $branch_max, $community_max, $activity_max and $household_max: the
-- largest ids, bound by the store for exact bitmap counts (bitstring_agg); paired: the record is in
-- its unit's 包联 community; roster_uid, roster_bid: its member's unit and branch on the roster;
-- community_hh, compound_hh, unit_hh, county_hh, unit_mid: the household's / member's number within
-- its community, compound, unit, county (largest: $community_household_max, $compound_household_max,
-- $unit_household_max, $county_household_max, $unit_member_max), for exact bitmap counts grouped by
-- those (or finer); county_mid (members): the member's number within its county, home_mid
-- (services): the same on the member's records served in that county, NULL on the others (largest:
-- $county_member_max).
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
-- The county level (docs/guide.md, 口径): $counties (the filter bar's 区县) and $scope_counties (a
-- county's viewer) are lists of 所属县（市、区）; NULL: no restriction. f_county_communities: the
-- communities of the counties chosen and in scope (every community when neither is set);
-- f_county_units: the units a county view lists — the counties' own units and any unit (a unit of
-- the city, 市直单位, or of another county) with a member reported or a record served in them;
-- f_county_own_units: the counties' own units only (a unit's 报到率 is computed for these alone).
-- Lists of communities, units and branches read from the raw tables are narrowed by these.
-- The records, household rows, members and unit rollups are narrowed to the units chosen by their
-- dense unit id (uid IN the chosen units' ids), not by the unit's name: an integer test on the
-- table's uid column instead of a list search per row of its names (at 10 M records one unit's
-- quarter: 18 → 3.5 ms a scan; 数据质量 for one unit 131 → 55 ms).
-- A list narrowed only under a county restriction reads them as `(no restriction) OR x IN (SELECT …
-- FROM f_county_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL)`: without one the
-- subquery folds to an empty result instead of a scan of every unit's counties (at 10 M records the
-- unit scorecard 250 → 200 ms).
f_county_communities AS (
    SELECT c.community FROM communities c
    WHERE ($counties IS NULL OR list_contains($counties, c.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, c.county))
),
f_county_own_units AS (
    SELECT u.unit FROM units u
    WHERE ($counties IS NULL OR list_contains($counties, u.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, u.county))
),
f_county_units AS (
    SELECT unit FROM f_county_own_units
    UNION
    SELECT d.unit FROM dim_scoped d
    WHERE d.dimension = 'unit'
      AND ($counties IS NULL OR list_contains($counties, d.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, d.county))
),
f_county_branches AS (
    -- the branches (with their unit) found in the records of the counties chosen, within the scope:
    -- the filter bar's 党支部 of a county view (queries/filter_options.sql); empty without $counties
    SELECT DISTINCT d.value AS branch, d.parent AS unit FROM dim_scoped d
    WHERE d.dimension = 'branch' AND $counties IS NOT NULL AND list_contains($counties, d.county)
      AND ($scope_counties IS NULL OR list_contains($scope_counties, d.county))
      AND ($scope_units IS NULL OR list_contains($scope_units, d.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, d.community))
),
f_members AS NOT MATERIALIZED (
    SELECT m.member_id, m.name, m.unit, m.branch, m.community, m.reported_on,
           m.gender, m.compound, m.phone, m.mid, m.bid, m.cid, m.uid, m.roll_status, m.left_on, m.listed_on,
           m.county, m.county_mid
    FROM members m
    WHERE ($counties IS NULL OR list_contains($counties, m.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, m.county))
      AND ($units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($branches IS NULL OR list_contains($branches, m.branch))
      AND ($communities IS NULL OR list_contains($communities, m.community))
      AND ($scope_units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, m.community))
),
f_records AS NOT MATERIALIZED (
    -- every record the filters let through, counted or not (counted: its 审核状态 is one of
    -- [approval] counted, or it has none); only the 待审核 list and 数据质量 read the uncounted
    SELECT s.record_id, s.date, s.member_id, s.name, s.unit, s.branch, s.community, s.compound,
           s.category, s.form, s.activity_id, s.content, s.persons, s.hours, s.note, s.mid, s.aid, s.unit_mid,
           s.uid, s.paired, s.roster_uid, s.roster_bid, s.red_prev, s.review_status, s.origin, s.entered_on,
           s.rkey, s.counted, s.excluded_rules, s.county, s.home_mid, s.day_first, s.year_aid_first
    FROM services s
    WHERE ($counties IS NULL OR list_contains($counties, s.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, s.county))
      AND ($units IS NULL OR s.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($branches IS NULL OR list_contains($branches, s.branch))
      AND ($communities IS NULL OR list_contains($communities, s.community))
      AND ($categories IS NULL OR list_contains($categories, s.category))
      AND ($forms IS NULL OR list_contains($forms, s.form))
      AND ($scope_units IS NULL OR s.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, s.community))
),
f_services AS NOT MATERIALIZED (
    -- the records that count: every figure reads these
    SELECT * FROM f_records WHERE counted
),
f_household_records AS NOT MATERIALIZED (
    -- one row per service record x household (household: a dense integer id, one per household),
    -- counted or not (see f_records)
    SELECT h.date, h.mid, h.member_id, h.unit, h.uid, h.branch, h.community, h.cid, h.compound,
           h.category, h.form, h.household, h.community_hh, h.compound_hh, h.unit_hh, h.county_hh, h.unit_hh_prev,
           h.rkey,
           h.counted, h.county
    FROM household_facts h
    WHERE ($counties IS NULL OR list_contains($counties, h.county))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, h.county))
      AND ($units IS NULL OR h.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($branches IS NULL OR list_contains($branches, h.branch))
      AND ($communities IS NULL OR list_contains($communities, h.community))
      AND ($categories IS NULL OR list_contains($categories, h.category))
      AND ($forms IS NULL OR list_contains($forms, h.form))
      AND ($scope_units IS NULL OR h.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, h.community))
),
f_households AS NOT MATERIALIZED (
    SELECT * FROM f_household_records WHERE counted
),
f_wishes AS (
    SELECT w.wish_id, w.community, w.compound, w.content, w.category, w.posted_on,
           w.claim_unit, w.claimer, w.claim_member_id, w.claim_branch, w.claimed_on,
           w.completed_on, w.status, w.satisfaction, w.claim_mid
    FROM wishes w
    WHERE ($counties IS NULL OR w.community IN (SELECT community FROM f_county_communities))
      AND ($scope_counties IS NULL OR w.community IN (SELECT community FROM f_county_communities))
      AND ($units IS NULL OR list_contains($units, w.claim_unit))
      AND ($branches IS NULL OR list_contains($branches, w.claim_branch))
      AND ($communities IS NULL OR list_contains($communities, w.community))
      AND ($scope_units IS NULL OR list_contains($scope_units, w.claim_unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, w.community))
),
f_evaluations AS (
    -- 社区评价表 (双评价): grades by the member's unit and the grading community
    SELECT e.year, e.member_id, e.name, e.unit, e.community, e.grade, e.comment, e.evaluated_on, e.evaluator
    FROM evaluations e
    WHERE ($counties IS NULL OR e.community IN (SELECT community FROM f_county_communities))
      AND ($scope_counties IS NULL OR e.community IN (SELECT community FROM f_county_communities))
      AND ($units IS NULL OR list_contains($units, e.unit))
      AND ($communities IS NULL OR list_contains($communities, e.community))
      AND ($scope_units IS NULL OR list_contains($scope_units, e.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, e.community))
),
f_rollups AS (
    -- whether the precomputed first occurrences and rollups describe the records the viewer sees
    -- ($rollups: the store's switch, on in the app; the tests compare both ways):
    -- members: nothing narrows the records (no filter, no scope): red_prev, member_months, red_carry;
    -- units: nothing narrows a unit's records but whole units (unit filter and scope allowed):
    --   unit_hh_prev, whose chains run within one unit, and the per-unit rollups
    -- (a county, chosen or in scope, cuts a unit of the city's records: no rollup then)
    SELECT $rollups AND $units IS NULL AND $branches IS NULL AND $communities IS NULL
               AND $categories IS NULL AND $forms IS NULL AND $scope_units IS NULL
               AND $scope_communities IS NULL AND $counties IS NULL AND $scope_counties IS NULL AS members,
           $rollups AND $branches IS NULL AND $communities IS NULL AND $categories IS NULL
               AND $forms IS NULL AND $scope_communities IS NULL
               AND $counties IS NULL AND $scope_counties IS NULL AS units
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
    WHERE r.units AND ($units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($scope_units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
),
f_unit_household_months AS (
    SELECT m.uid, m.month, m.households
    FROM unit_household_months m, f_rollups r
    WHERE r.units AND ($units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($scope_units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
),
f_unit_household_returns AS (
    SELECT m.uid, m.month, m.unit_hh_prev
    FROM unit_household_returns m, f_rollups r
    WHERE r.units AND ($units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($units, i.unit)))
      AND ($scope_units IS NULL OR m.uid IN (SELECT i.uid FROM unit_ids i WHERE list_contains($scope_units, i.unit)))
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
    WHERE $scope_units IS NULL AND $scope_communities IS NULL AND $scope_counties IS NULL
    UNION ALL
    SELECT DISTINCT d.dimension, d.value, d.parent
    FROM dim_scoped d
    WHERE ($scope_units IS NOT NULL OR $scope_communities IS NOT NULL OR $scope_counties IS NOT NULL)
      AND ($scope_units IS NULL OR list_contains($scope_units, d.unit))
      AND ($scope_communities IS NULL OR list_contains($scope_communities, d.community))
      AND ($scope_counties IS NULL OR list_contains($scope_counties, d.county))
),
-- 数据质量: the [quality] rules (redservice.quality binds them as $q_...), over the period's records that
-- are checked: approved or pending (审核状态 in quality_settings.statuses, the serving copy's, or no
-- status). The five record-level rules (day_hours, duplicate, late_entry, bulk_identical,
-- household_repeat) judge a record by itself or by the whole day it belongs to, over every checked
-- record whatever the view asks: built once with the copy (quality_flags; their one definition is
-- queries/_quality_flags.sql) with the settings of quality_settings, and a view shows the flags of the
-- records it shows (a member's 8 h in community A and 8 h in B the same day: flagged in a view of A
-- alone). sign_in_only and backfill_share judge a member's or a unit's whole period: computed here.
-- rkey: a hash of the record's 记录编号, carried to the household facts (redservice.serving).
-- f_q_record_flags: the record-level flags of the view's checked records (one row per record and
-- rule; household_repeat: per household too); f_q_groups: per work unit (uid) and per community,
-- the checked records, the back-filled ones and those with a 录入日期 / 记录来源; f_q_flags: one row
-- per flagged record (rkey) and rule broken, with its unit (uid) and community; f_q_rule_counts: one
-- row per rule with its count in the rule's own unit (member-days, records, members, household-days,
-- units) and the records it flags. A rule whose column no record of the period has (录入日期,
-- 记录来源) is not applicable (applicable = FALSE) rather than 0.
f_q_records AS NOT MATERIALIZED (
    SELECT s.record_id, s.rkey, s.date, s.mid, s.uid, s.unit, s.community, s.hours, s.origin, s.entered_on
    FROM f_records s
    WHERE s.date BETWEEN $start AND $end
      AND (s.review_status IS NULL OR list_contains((SELECT statuses FROM quality_settings), s.review_status))
),
f_q_record_flags AS MATERIALIZED (
    SELECT r.rkey, f.rule, f.household, r.mid, r.date, r.uid, r.community
    FROM f_q_records r
    JOIN quality_flags f ON f.rkey = r.rkey
),
f_q_groups AS MATERIALIZED (
    SELECT CASE WHEN GROUPING(uid) = 0 THEN 'unit' ELSE 'community' END AS part, uid, community,
           CASE WHEN GROUPING(uid) = 0 THEN ANY_VALUE(unit) ELSE community END AS name,
           COUNT(*) AS records, COUNT(*) FILTER (WHERE origin = $q_backfill_origin) AS backfilled,
           COUNT(entered_on) AS entered, COUNT(origin) AS origins
    FROM f_q_records
    GROUP BY GROUPING SETS ((uid), (community))
),
f_q_sign_in_candidates AS MATERIALIZED (
    SELECT mid FROM f_q_records WHERE hours <= $q_sign_in_max_hours
    GROUP BY mid HAVING COUNT(*) >= $q_sign_in_min_records
),
f_q_sign_in AS MATERIALIZED (
    -- members with at least $q_sign_in_min_records records, none of more than $q_sign_in_max_hours: the
    -- few with that many short records, less those with a longer one (not every member grouped). The
    -- longer records are looked up for the candidates only (a NOT EXISTS was decorrelated into a join
    -- of every longer record: at 10 M records 190 ms of the page's CPU)
    SELECT c.mid
    FROM f_q_sign_in_candidates c
    LEFT JOIN (SELECT DISTINCT r.mid FROM f_q_records r
               WHERE r.hours > $q_sign_in_max_hours AND r.mid IN (SELECT mid FROM f_q_sign_in_candidates)) x
           ON x.mid = c.mid
    WHERE x.mid IS NULL
),
f_q_backfill_units AS (
    SELECT uid
    FROM f_q_groups
    WHERE part = 'unit' AND records >= $q_backfill_min_records AND backfilled > $q_backfill_share_max * records
),
f_q_flags AS MATERIALIZED (
    SELECT DISTINCT rkey, rule, uid, community FROM f_q_record_flags
    UNION ALL
    SELECT r.rkey, 'sign_in_only' AS rule, r.uid, r.community FROM f_q_records r JOIN f_q_sign_in m ON m.mid = r.mid
    UNION ALL
    SELECT r.rkey, 'backfill_share' AS rule, r.uid, r.community
    FROM f_q_records r JOIN f_q_backfill_units u ON u.uid IS NOT DISTINCT FROM r.uid
    WHERE r.origin = $q_backfill_origin
),
f_q_rule_counts AS (
    -- each rule's count in its own unit, the records it flags, and whether it applies
    SELECT k.rule, k.ord, COALESCE(n.count, f.records, 0) AS count, COALESCE(f.records, 0) AS records,
           CASE k.rule WHEN 'late_entry' THEN a.entered WHEN 'backfill_share' THEN a.origins ELSE TRUE END
               AS applicable
    FROM (VALUES ('day_hours', 1), ('duplicate', 2), ('late_entry', 3), ('bulk_identical', 4),
                 ('sign_in_only', 5), ('household_repeat', 6), ('backfill_share', 7)) k(rule, ord)
    LEFT JOIN (SELECT rule, COUNT(*) AS records FROM f_q_flags GROUP BY rule) f ON f.rule = k.rule
    LEFT JOIN (SELECT 'day_hours' AS rule, COUNT(*) AS count
               FROM (SELECT DISTINCT mid, date FROM f_q_record_flags WHERE rule = 'day_hours') d
               UNION ALL SELECT 'sign_in_only', COUNT(*) FROM f_q_sign_in
               UNION ALL SELECT 'household_repeat', COUNT(*)
               FROM (SELECT DISTINCT household, date FROM f_q_record_flags WHERE rule = 'household_repeat') h
               UNION ALL SELECT 'backfill_share', COUNT(*) FROM f_q_backfill_units) n ON n.rule = k.rule
    CROSS JOIN (SELECT COALESCE(SUM(entered), 0) > 0 AS entered, COALESCE(SUM(origins), 0) > 0 AS origins
                FROM f_q_groups WHERE part = 'unit') a
),
-- 年度考核 (redservice.assess binds the [targets] and [evaluation] settings as $t_..., $o_..., $grades):
-- the year [$year_start, $year_end] as of $as_of; elapsed / year_days: the days from 1 January to
-- $as_of, both included, and the days of the year (the pace f = elapsed ÷ year_days, kept as integers
-- so that a target reached exactly is reached).
-- f_a_roster: the members on the roster as of $as_of (of the unit $a_unit only, when not NULL: a
-- member's figures do not depend on the others'; not transferred out by then: 在册状态 $roll_out
-- or a 转出日期 on or before it; not listed after it), with their targets (the unit's override, else
-- the county's), the reporting deadline (1 January or the 入册日期, if later, + $t_report_days) and
-- whether it has passed unreported; f_a_members adds the approved records of 1 January..$as_of
-- (hours, distinct 活动编号, contact days in every ended quarter), the year's records, the
-- community's grade and the status: not_reported / met / on_track / behind (docs/guide.md, 年度考核).
f_a_year AS (
    SELECT CAST($year_start AS DATE) AS y0, CAST($year_end AS DATE) AS y1, CAST($as_of AS DATE) AS d,
           DATE_DIFF('day', CAST($year_start AS DATE), CAST($as_of AS DATE)) + 1 AS elapsed,
           DATE_DIFF('day', CAST($year_start AS DATE), CAST($year_end AS DATE)) + 1 AS year_days,
           -- the last day of each quarter of the year
           CAST(CAST($year_start AS DATE) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE) AS q1,
           CAST(CAST($year_start AS DATE) + INTERVAL 6 MONTH - INTERVAL 1 DAY AS DATE) AS q2,
           CAST(CAST($year_start AS DATE) + INTERVAL 9 MONTH - INTERVAL 1 DAY AS DATE) AS q3,
           CAST(CAST($year_start AS DATE) + INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE) AS q4
),
f_a_overrides AS (
    SELECT UNNEST(CAST($o_units AS VARCHAR[])) AS unit, UNNEST(CAST($o_hours AS DOUBLE[])) AS hours,
           UNNEST(CAST($o_activities AS INTEGER[])) AS activities, UNNEST(CAST($o_contacts AS INTEGER[])) AS contacts
),
f_a_roster AS MATERIALIZED (
    SELECT m.mid, m.uid, m.bid, m.member_id, m.name, m.unit, m.branch, m.community, m.phone, m.reported_on,
           m.listed_on,
           COALESCE(o.hours, $t_hours) AS t_hours,
           COALESCE(o.activities, $t_activities) AS t_activities,
           COALESCE(o.contacts, $t_contacts) AS t_contacts,
           GREATEST(y.y0, COALESCE(m.listed_on, y.y0)) + CAST($t_report_days AS INTEGER) AS deadline,
           m.reported_on IS NOT NULL AND m.reported_on <= y.d AS reported,
           (m.reported_on IS NULL OR m.reported_on > y.d)
               AND y.d > GREATEST(y.y0, COALESCE(m.listed_on, y.y0)) + CAST($t_report_days AS INTEGER) AS overdue
    FROM f_members m
    CROSS JOIN f_a_year y
    LEFT JOIN f_a_overrides o ON o.unit = m.unit
    WHERE ($a_unit IS NULL OR m.unit = $a_unit)
      AND NOT (m.left_on IS NOT NULL AND m.left_on <= y.d)
      AND NOT (COALESCE(m.roll_status = $roll_out, FALSE) AND (m.left_on IS NULL OR m.left_on <= y.d))
      AND (m.listed_on IS NULL OR m.listed_on <= y.d)
),
f_a_records AS (
    SELECT s.mid, s.date, s.aid, s.hours, s.day_first, s.year_aid_first
    FROM f_services s, f_a_year y
    WHERE s.date BETWEEN y.y0 AND y.y1
      AND s.mid IN (SELECT mid FROM f_a_roster)
),
f_a_days AS (
    -- per member and day of the year with a record: its hours and records. The members' contact days
    -- (a year's and each quarter's) are counted from these rows, not by a DISTINCT per member and
    -- per quarter over the records (at 10 M records a range join of 2.9 M records to the quarters)
    -- (only while something narrows the records: else f_a_served counts by the records' day_first)
    SELECT r.mid, r.date, SUM(r.hours) AS hours, COUNT(*) AS records
    FROM f_a_records r, f_rollups k
    WHERE NOT k.members
    GROUP BY r.mid, r.date
),
f_a_served AS (
    -- per member: hours, contact days, records, and the contact days of each quarter of the year
    -- (read for the quarters ended by $as_of only: f_a_contact_check). While nothing narrows the
    -- records (f_rollups.members), a member's contact days are its records flagged day_first (its
    -- first counted record of the day, redservice.serving), so one grouping by member suffices;
    -- else its days are grouped first (f_a_days). The same figures (tests/test_rollups.py).
    SELECT r.mid,
           SUM(r.hours) FILTER (WHERE r.date <= y.d) AS hours,
           COUNT(*) FILTER (WHERE r.day_first AND r.date <= y.d) AS contact_days,
           COUNT(*) FILTER (WHERE r.date <= y.d AND r.date >= CAST(DATE_TRUNC('quarter', y.d) AS DATE)) AS quarter_records,
           COUNT(*) AS year_records,
           COUNT(*) FILTER (WHERE r.day_first AND r.date <= y.q1) AS q1_days,
           COUNT(*) FILTER (WHERE r.day_first AND r.date > y.q1 AND r.date <= y.q2) AS q2_days,
           COUNT(*) FILTER (WHERE r.day_first AND r.date > y.q2 AND r.date <= y.q3) AS q3_days,
           COUNT(*) FILTER (WHERE r.day_first AND r.date > y.q3 AND r.date <= y.q4) AS q4_days
    FROM f_a_records r, f_a_year y, f_rollups k
    WHERE k.members
    GROUP BY r.mid
    UNION ALL
    SELECT d.mid,
           SUM(d.hours) FILTER (WHERE d.date <= y.d) AS hours,
           COUNT(*) FILTER (WHERE d.date <= y.d) AS contact_days,
           -- records of the quarter of $as_of, up to it
           CAST(SUM(d.records) FILTER (WHERE d.date <= y.d AND d.date >= CAST(DATE_TRUNC('quarter', y.d) AS DATE))
                AS BIGINT) AS quarter_records,
           CAST(SUM(d.records) AS BIGINT) AS year_records,
           COUNT(*) FILTER (WHERE d.date <= y.q1) AS q1_days,
           COUNT(*) FILTER (WHERE d.date > y.q1 AND d.date <= y.q2) AS q2_days,
           COUNT(*) FILTER (WHERE d.date > y.q2 AND d.date <= y.q3) AS q3_days,
           COUNT(*) FILTER (WHERE d.date > y.q3 AND d.date <= y.q4) AS q4_days
    FROM f_a_days d, f_a_year y
    GROUP BY d.mid
),
f_a_activities AS (
    -- distinct 活动编号 per member, 1 January..$as_of (counted by their dense ids, aid: one per 活动编号);
    -- while nothing narrows the records, the records flagged year_aid_first (a member's first counted
    -- record of an activity in the calendar year: within the year up to $as_of exactly when the
    -- activity has a record there)
    SELECT r.mid, COUNT(*) AS activities
    FROM f_a_records r, f_a_year y, f_rollups k
    WHERE k.members AND r.year_aid_first AND r.date <= y.d
    GROUP BY r.mid
    UNION ALL
    SELECT r.mid, COUNT(DISTINCT r.aid) AS activities
    FROM f_a_records r, f_a_year y, f_rollups k
    WHERE NOT k.members AND r.aid IS NOT NULL AND r.date <= y.d
    GROUP BY r.mid
),
f_a_grades AS (
    SELECT e.member_id, ANY_VALUE(e.grade) AS grade, ANY_VALUE(e.community) AS community,
           ANY_VALUE(e.comment) AS comment, COUNT(*) AS gradings
    FROM f_evaluations e, f_a_year y
    WHERE e.year = EXTRACT(year FROM y.y0)
    GROUP BY e.member_id
),
f_a_joined AS (
    -- per roster member, in one chain of joins by member: the year's figures (0 without records),
    -- the ended quarters with fewer contact days than the target and the fewest contact days of an
    -- ended quarter (NULL before the first quarter ends), and the member's grade
    SELECT m.*, COALESCE(s.hours, 0) AS hours, COALESCE(a.activities, 0) AS activities,
           COALESCE(s.contact_days, 0) AS contact_days, COALESCE(s.year_records, 0) AS year_records,
           COALESCE(s.quarter_records, 0) AS quarter_records,
           (CASE WHEN y.q1 <= y.d AND COALESCE(s.q1_days, 0) < m.t_contacts THEN 1 ELSE 0 END)
           + (CASE WHEN y.q2 <= y.d AND COALESCE(s.q2_days, 0) < m.t_contacts THEN 1 ELSE 0 END)
           + (CASE WHEN y.q3 <= y.d AND COALESCE(s.q3_days, 0) < m.t_contacts THEN 1 ELSE 0 END)
           + (CASE WHEN y.q4 <= y.d AND COALESCE(s.q4_days, 0) < m.t_contacts THEN 1 ELSE 0 END) AS short_quarters,
           LEAST(CASE WHEN y.q1 <= y.d THEN COALESCE(s.q1_days, 0) END,
                 CASE WHEN y.q2 <= y.d THEN COALESCE(s.q2_days, 0) END,
                 CASE WHEN y.q3 <= y.d THEN COALESCE(s.q3_days, 0) END,
                 CASE WHEN y.q4 <= y.d THEN COALESCE(s.q4_days, 0) END) AS min_quarter_days,
           g.grade, g.community AS grade_community, g.comment AS grade_comment
    FROM f_a_roster m
    CROSS JOIN f_a_year y
    LEFT JOIN f_a_served s ON s.mid = m.mid
    LEFT JOIN f_a_activities a ON a.mid = m.mid
    LEFT JOIN f_a_grades g ON g.member_id = m.member_id
),
f_a_members AS MATERIALIZED (
    SELECT j.* EXCLUDE (grade, grade_community, grade_comment),
           CASE
               WHEN NOT j.reported THEN 'not_reported'
               WHEN j.hours >= j.t_hours AND j.activities >= j.t_activities AND j.short_quarters = 0 THEN 'met'
               WHEN j.hours * y.year_days >= j.t_hours * y.elapsed
                    AND j.activities >= (j.t_activities * y.elapsed) // y.year_days
                    AND j.short_quarters = 0 THEN 'on_track'
               ELSE 'behind'
           END AS status,
           j.grade, j.grade_community, j.grade_comment,
           -- the [evaluation] rule: not reported by 31 December, or no approved record in the year,
           -- and a grade better than $grade_cap
           j.grade IS NOT NULL AND $grade_cap IS NOT NULL
               AND list_position($grades, j.grade) < list_position($grades, $grade_cap)
               AND (j.reported_on IS NULL OR j.reported_on > y.y1 OR j.year_records = 0)
               AS grade_conflict
    FROM f_a_joined j
    CROSS JOIN f_a_year y
),
-- 红色积分's member-months, shared by red_points.sql and unit_points.sql (the rules of the [points]
-- settings and the rows asked for are their parameters; see red_points.sql for what they mean).
-- f_points_roster: the reported members (by $end), restricted to $member_unit / $member_branch;
-- f_points_capped: one row per roster member and calendar month with any event in the period, its
-- hours, 红色服务日, completed wishes and good ratings, points before the monthly caps (points_raw)
-- and after them (points). While the rollups may be read, the period's whole months of the
-- member-months in branch_months are left out when only branches and units are asked
-- (f_points_months.by_branch); f_points_branches adds f_branch_months for those months.
f_points_roster AS (
    SELECT r.mid, r.uid, r.bid, r.reported_on
    FROM f_members r
    WHERE r.reported_on <= $end
      AND ($member_unit IS NULL OR r.unit = $member_unit)
      AND ($member_branch IS NULL OR r.branch = $member_branch)
),
f_points_chosen AS (
    -- the roster as a bitmap over the dense member ids
    SELECT bitstring_agg(mid, 1, $member_max) AS bits FROM f_points_roster
),
f_points_months AS (
    -- [lo, hi): the period's whole calendar months, read from the rollups when they may be used
    -- (f_rollups.members, and they count this form); NULL: every month read from the records.
    -- firsts: a 红色服务日 found by its record's red_prev; by_branch: only branch and unit rows are
    -- asked and the rules are those of the rollups: whole months of eligible member-months are read
    -- from branch_months, already summed per branch
    SELECT CASE WHEN use THEN lo END AS lo, CASE WHEN use THEN hi END AS hi, firsts,
           use AND rules AND NOT COALESCE($level = 'member', FALSE) AND NOT COALESCE($board = 'member', FALSE)
               AS by_branch
    FROM (SELECT r.members AND $red_day_form = $rollup_red_day_form AS use, r.members AS firsts,
                 $whole_from AS lo, $whole_to AS hi,
                 $points_per_hour = $rollup_points_per_hour
                 AND $max_hours_per_month = $rollup_max_hours_per_month
                 AND $points_per_red_day = $rollup_points_per_red_day
                 AND $points_per_wish = $rollup_points_per_wish
                 AND $points_per_good_rating = $rollup_points_per_good_rating
                 AND $good_rating_min = $rollup_good_rating_min
                 AND $max_points_per_month = $rollup_max_points_per_month AS rules
          FROM f_rollups r) t
),
f_points_period AS (
    -- the roster's records of the period but the whole months read from the rollups: the days before
    -- the first whole month, those from the month after the last, and the whole months only when the
    -- rollups are not read. Each part is one range of dates of bound parameters ($whole_from,
    -- $whole_to: redservice.filters.whole_months), so that the scan of the date-sorted records skips
    -- the rest.
    SELECT s.mid, s.roster_uid AS uid, s.roster_bid AS bid, s.date, s.hours, s.form, s.aid, s.red_prev
    FROM f_services s, f_points_chosen c
    WHERE s.date BETWEEN $start AND LEAST($whole_from - 1, $end)
      AND get_bit(c.bits, s.mid - 1) = 1
    UNION ALL
    SELECT s.mid, s.roster_uid AS uid, s.roster_bid AS bid, s.date, s.hours, s.form, s.aid, s.red_prev
    FROM f_services s, f_points_chosen c, f_points_months k
    WHERE k.lo IS NULL
      AND s.date BETWEEN $whole_from AND $whole_to - 1
      AND get_bit(c.bits, s.mid - 1) = 1
    UNION ALL
    SELECT s.mid, s.roster_uid AS uid, s.roster_bid AS bid, s.date, s.hours, s.form, s.aid, s.red_prev
    FROM f_services s, f_points_chosen c
    WHERE s.date BETWEEN GREATEST($whole_to, $whole_from) AND $end
      AND get_bit(c.bits, s.mid - 1) = 1
),
f_points_red_groups AS (
    -- a 红色服务日 is counted on its first record in the period: with every record visible, the one
    -- whose previous record of the activity (red_prev) is before the period; else found by grouping
    SELECT p.mid, ANY_VALUE(p.uid) AS uid, ANY_VALUE(p.bid) AS bid, MIN(p.date) AS date
    FROM f_points_period p, f_points_months k
    WHERE NOT k.firsts AND p.form = $red_day_form
    GROUP BY p.mid, p.aid, CASE WHEN p.aid IS NULL THEN p.date END
),
f_points_record_months AS (
    SELECT mid, DATE_TRUNC('month', date) AS month, ANY_VALUE(uid) AS uid, ANY_VALUE(bid) AS bid,
           COALESCE(SUM(hours), 0) AS hours, SUM(red_days) AS red_days
    FROM (SELECT p.mid, p.uid, p.bid, p.date, p.hours,
                 CASE WHEN k.firsts AND p.form = $red_day_form AND (p.red_prev IS NULL OR p.red_prev < $start)
                      THEN 1 ELSE 0 END AS red_days
          FROM f_points_period p, f_points_months k
          UNION ALL
          SELECT mid, uid, bid, date, 0, 1 FROM f_points_red_groups) e
    GROUP BY mid, DATE_TRUNC('month', date)
),
f_points_carried AS (
    -- 红色服务日 continuing in a whole month an activity begun before the period: counted there
    SELECT c.mid, c.month, COUNT(*) AS red_days
    FROM f_red_carry c, f_points_months k
    WHERE c.month >= k.lo AND c.month < k.hi AND c.red_prev < $start
    GROUP BY c.mid, c.month
),
f_points_rollup_months AS (
    -- the member-months of the whole months (those in branch_months left out when it is read)
    SELECT m.mid, m.month, m.uid, m.bid, m.hours, m.red_new + COALESCE(x.red_days, 0) AS red_days
    FROM f_member_months m
    JOIN f_points_months k ON m.month >= k.lo AND m.month < k.hi AND NOT (k.by_branch AND m.eligible)
    JOIN f_points_chosen c ON get_bit(c.bits, m.mid - 1) = 1
    LEFT JOIN f_points_carried x ON x.mid = m.mid AND x.month = m.month
),
f_points_wish_months AS (
    SELECT w.claim_mid AS mid, DATE_TRUNC('month', w.completed_on) AS month, ANY_VALUE(r.uid) AS uid,
           ANY_VALUE(r.bid) AS bid, COUNT(*) AS wishes,
           COUNT(*) FILTER (WHERE w.satisfaction >= $good_rating_min) AS good_ratings
    FROM f_wishes w
    JOIN f_points_roster r ON r.mid = w.claim_mid
    JOIN f_points_months k ON TRUE
    WHERE w.completed_on BETWEEN $start AND $end
      -- an eligible member-month of a whole month is in branch_months when it is read
      AND NOT (k.by_branch AND w.completed_on >= k.lo AND w.completed_on < k.hi
               AND r.reported_on <= DATE_TRUNC('month', w.completed_on)
               AND NOT EXISTS (SELECT 1 FROM f_red_carry c
                               WHERE c.mid = w.claim_mid AND c.month = DATE_TRUNC('month', w.completed_on)))
    GROUP BY w.claim_mid, DATE_TRUNC('month', w.completed_on)
),
f_points_member_months AS (
    -- uid, bid: the member's unit and branch on the roster (the same on every row of a member)
    SELECT COALESCE(s.mid, w.mid) AS mid, COALESCE(s.uid, w.uid) AS uid, COALESCE(s.bid, w.bid) AS bid,
           COALESCE(s.hours, 0) AS hours, COALESCE(s.red_days, 0) AS red_days,
           COALESCE(w.wishes, 0) AS wishes, COALESCE(w.good_ratings, 0) AS good_ratings
    FROM (SELECT mid, month, uid, bid, hours, red_days FROM f_points_record_months
          UNION ALL
          SELECT mid, month, uid, bid, hours, red_days FROM f_points_rollup_months) s
    FULL JOIN f_points_wish_months w ON w.mid = s.mid AND w.month = s.month
),
f_points_scored AS (
    SELECT mid, uid, bid, hours, red_days, wishes, good_ratings,
           hours * $points_per_hour
           + red_days * $points_per_red_day
           + wishes * $points_per_wish
           + good_ratings * $points_per_good_rating AS points_raw,
           CASE WHEN $max_hours_per_month > 0 AND hours > $max_hours_per_month
                THEN $max_hours_per_month ELSE hours END * $points_per_hour
           + red_days * $points_per_red_day
           + wishes * $points_per_wish
           + good_ratings * $points_per_good_rating AS points_hours_capped
    FROM f_points_member_months
),
f_points_capped AS (
    SELECT mid, uid, bid, hours, red_days, wishes, good_ratings, points_raw,
           CASE WHEN $max_points_per_month > 0 AND points_hours_capped > $max_points_per_month
                THEN $max_points_per_month ELSE points_hours_capped END AS points
    FROM f_points_scored
),
f_points_branches AS (
    -- per branch of the roster: its members' months summed directly (the caps are per member and
    -- month: the same sums, one grouping fewer), with the whole months already summed per branch
    -- (branch_months) when they are read
    SELECT uid, bid, SUM(hours) AS hours, SUM(red_days) AS red_days, SUM(wishes) AS wishes,
           SUM(good_ratings) AS good_ratings, SUM(points_raw) AS points_raw, SUM(points) AS points
    FROM (SELECT uid, bid, hours, red_days, wishes, good_ratings, points_raw, points
          FROM f_points_capped
          UNION ALL
          SELECT b.uid, b.bid, b.hours, b.red_days, b.wishes, b.good_ratings, b.points_raw, b.points
          FROM f_branch_months b, f_points_months k
          WHERE k.by_branch AND b.month >= k.lo AND b.month < k.hi) t
    WHERE $level IN ('branch', 'unit') OR $board IN ('branch', 'unit')
    GROUP BY uid, bid
)

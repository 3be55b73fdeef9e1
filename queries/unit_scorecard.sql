-- Unit scorecard: one row per unit of the store's units table, limited by the unit and branch
-- filters (a unit stays when it owns a selected branch) and the viewer's scope.
-- Grain: unit. Parameters: $start, $end (inclusive), $whole_from, $whole_to (its whole months), the
-- shared filters, $member_max and
-- $unit_household_max (bound by the store).
-- branches / members_on_roll: from the branch list (党支部名录), within the branch filter;
--   members_on_roll (党员人数) is NULL unless every listed branch of the unit gives it.
-- reported: members reported on or before $end (the member's unit on the roster);
--   reporting_rate = reported ÷ members_on_roll, NULL when the roll is unknown or 0, and NULL
--   when a community filter or scope is in force (the roll is not kept per community).
-- active: reported members with at least one service in the period; participation_rate =
--   active ÷ reported (NULL with no reported member).
-- hours, persons, records: services in the period credited to the unit on the day of service;
--   hours_per_member = hours ÷ reported (NULL with no reported member).
-- households: DISTINCT household codes served by the unit's records (never add across units).
-- wishes_claimed / wishes_completed: by claiming unit, on claim / completion date in the period.
-- paired_hours: hours of the unit's records in its 包联 community (NULL when it has none;
--   services.paired, set when the serving copy is built).
-- latest_month_records: the unit's records in the month of $end (within the period).
-- hours_rank: rank by hours_per_member, highest first (NULL when it cannot be computed).
-- How: records, households and members grouped by the unit's integer id (uid). While nothing but
-- whole units is filtered (f_rollups.units), the whole calendar months of the period are read from
-- the per-unit monthly rollups and households counted by first occurrence (see outside, hh).
WITH
unit_list AS (
    SELECT u.unit, i.uid, u.category, u.paired_community
    FROM units u
    LEFT JOIN unit_ids i ON i.unit = u.unit
    WHERE ($units IS NULL OR list_contains($units, u.unit))
      AND ($scope_units IS NULL OR list_contains($scope_units, u.unit))
      AND (($counties IS NULL AND $scope_counties IS NULL) OR u.unit IN (
                SELECT unit FROM f_county_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL))
      AND ($branches IS NULL OR u.unit IN (
          SELECT b.unit FROM branches b WHERE list_contains($branches, b.branch)))
),
roll AS (
    SELECT b.unit, COUNT(*) AS branches,
           CASE WHEN COUNT(b.members_on_roll) = COUNT(*) THEN CAST(SUM(b.members_on_roll) AS BIGINT) END
               AS members_on_roll
    FROM branches b
    WHERE ($branches IS NULL OR list_contains($branches, b.branch))
    GROUP BY b.unit
),
reported AS (
    SELECT m.mid, m.uid
    FROM f_members m
    WHERE m.reported_on <= $end
),
served AS (
    -- the members with a service in the period: one bitmap over the dense member ids
    SELECT bitstring_agg(s.mid, 1, $member_max) AS bits
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
),
unit_members AS (
    SELECT r.uid, COUNT(*) AS reported,
           COUNT(*) FILTER (WHERE get_bit(a.bits, r.mid - 1) = 1) AS active
    FROM reported r, served a
    GROUP BY r.uid
),
outside AS (
    -- the period's records but its whole calendar months when those are read from the per-unit
    -- rollups (f_rollups.units): the days before the first whole month, those from the month after
    -- the last, and the whole months only when the rollups are not read. Each part is one range of
    -- dates of bound parameters ([$whole_from, $whole_to): the whole months,
    -- redservice.filters.whole_months), so that the scan of the date-sorted records skips the rest
    SELECT s.uid, s.date, s.hours, s.persons, s.paired
    FROM f_services s
    WHERE s.date BETWEEN $start AND LEAST($whole_from - 1, $end)
    UNION ALL
    SELECT s.uid, s.date, s.hours, s.persons, s.paired
    FROM f_services s, f_rollups r
    WHERE NOT r.units AND s.date BETWEEN $whole_from AND $whole_to - 1
    UNION ALL
    SELECT s.uid, s.date, s.hours, s.persons, s.paired
    FROM f_services s
    WHERE s.date BETWEEN GREATEST($whole_to, $whole_from) AND $end
),
svc AS (
    SELECT uid, SUM(hours) AS hours, SUM(persons) AS persons, CAST(SUM(records) AS BIGINT) AS records,
           SUM(paired_hours) AS paired_hours,
           CAST(SUM(latest_month_records) AS BIGINT) AS latest_month_records
    FROM (SELECT s.uid, SUM(s.hours) AS hours, SUM(s.persons) AS persons, COUNT(*) AS records,
                 SUM(CASE WHEN s.paired THEN s.hours ELSE 0 END) AS paired_hours,
                 COUNT(*) FILTER (WHERE s.date >= DATE_TRUNC('month', CAST($end AS DATE))) AS latest_month_records
          FROM outside s
          GROUP BY s.uid
          UNION ALL
          SELECT m.uid, m.hours, m.persons, m.records, m.paired_hours,
                 CASE WHEN m.month = DATE_TRUNC('month', CAST($end AS DATE)) THEN m.records ELSE 0 END
          FROM f_unit_months m
          WHERE m.month BETWEEN $whole_from AND $whole_to - 1) t
    GROUP BY uid
),
hh AS (
    -- exact either way. With every record of each unit visible (f_rollups.units) a household is
    -- counted on the row where the unit serves it for the first time in the period (the previous
    -- time, unit_hh_prev, before $start or never): outside the whole months from the rows, in the
    -- whole months from the households first served since an earlier month
    -- (unit_household_months) less those whose earlier month is already in the period
    -- (unit_household_returns). Otherwise a bitmap per unit over the household's number within
    -- the unit.
    SELECT uid, CAST(SUM(households) AS BIGINT) AS households
    FROM (SELECT h.uid, COUNT(*) AS households
          FROM f_households h, f_rollups r
          WHERE r.units AND (h.date BETWEEN $start AND LEAST($whole_from - 1, $end)
                             OR h.date BETWEEN GREATEST($whole_to, $whole_from) AND $end)
            AND (h.unit_hh_prev IS NULL OR h.unit_hh_prev < $start)
          GROUP BY h.uid
          UNION ALL
          SELECT m.uid, SUM(m.households)
          FROM f_unit_household_months m
          WHERE m.month BETWEEN $whole_from AND $whole_to - 1
          GROUP BY m.uid
          UNION ALL
          SELECT m.uid, -COUNT(*)
          FROM f_unit_household_returns m
          WHERE m.month BETWEEN $whole_from AND $whole_to - 1 AND m.unit_hh_prev >= $start
          GROUP BY m.uid
          UNION ALL
          SELECT h.uid, COALESCE(bit_count(bitstring_agg(h.unit_hh, 1, $unit_household_max)), 0)
          FROM f_households h, f_rollups r
          WHERE NOT r.units AND h.date BETWEEN $start AND $end
          GROUP BY h.uid) t
    GROUP BY uid
),
claimed AS (
    SELECT claim_unit AS unit, COUNT(*) AS wishes_claimed
    FROM f_wishes WHERE claimed_on BETWEEN $start AND $end
    GROUP BY claim_unit
),
completed AS (
    SELECT claim_unit AS unit, COUNT(*) AS wishes_completed
    FROM f_wishes WHERE completed_on BETWEEN $start AND $end
    GROUP BY claim_unit
),
card AS (
    SELECT
        l.unit,
        l.category,
        l.paired_community,
        COALESCE(ro.branches, 0) AS branches,
        ro.members_on_roll,
        COALESCE(mb.reported, 0) AS reported,
        CASE WHEN $communities IS NULL AND $scope_communities IS NULL AND ro.members_on_roll > 0
                  AND (($counties IS NULL AND $scope_counties IS NULL) OR l.unit IN (
                SELECT unit FROM f_county_own_units WHERE $counties IS NOT NULL OR $scope_counties IS NOT NULL))
             THEN CAST(COALESCE(mb.reported, 0) AS DOUBLE) / ro.members_on_roll END AS reporting_rate,
        COALESCE(mb.active, 0) AS active,
        CASE WHEN COALESCE(mb.reported, 0) > 0
             THEN CAST(mb.active AS DOUBLE) / mb.reported END AS participation_rate,
        COALESCE(s.hours, 0) AS hours,
        CASE WHEN COALESCE(mb.reported, 0) > 0
             THEN COALESCE(s.hours, 0) / mb.reported END AS hours_per_member,
        CAST(COALESCE(s.persons, 0) AS BIGINT) AS persons,
        COALESCE(s.records, 0) AS records,
        COALESCE(h.households, 0) AS households,
        COALESCE(c.wishes_claimed, 0) AS wishes_claimed,
        COALESCE(d.wishes_completed, 0) AS wishes_completed,
        CASE WHEN l.paired_community IS NULL THEN NULL
             ELSE COALESCE(s.paired_hours, 0) END AS paired_hours,
        COALESCE(s.latest_month_records, 0) AS latest_month_records
    FROM unit_list l
    LEFT JOIN roll ro ON ro.unit = l.unit
    LEFT JOIN unit_members mb ON mb.uid = l.uid
    LEFT JOIN svc s ON s.uid = l.uid
    LEFT JOIN hh h ON h.uid = l.uid
    LEFT JOIN claimed c ON c.unit = l.unit
    LEFT JOIN completed d ON d.unit = l.unit
)
SELECT
    card.*,
    CASE WHEN hours_per_member IS NULL THEN NULL
         ELSE RANK() OVER (ORDER BY CASE WHEN hours_per_member IS NULL THEN 1 ELSE 0 END,
                                    hours_per_member DESC) END AS hours_rank
FROM card
ORDER BY CASE WHEN hours_per_member IS NULL THEN 1 ELSE 0 END, hours_per_member DESC, unit

-- 数据质量: the record-level [quality] rules, the one definition of each, built once with the serving
-- copy (redservice.serving: the table quality_flags; with source="raw" a view recomputed per query).
-- Read by queries/_base.sql (f_q_record_flags), never by a page directly.
-- These five rules judge a record by itself or by the whole day it belongs to (the member-day, the
-- household-day, the unit-day), over every checked record (审核状态 in quality_settings.statuses, or
-- none), whatever the period and the filter bar: a record's flag is a fact about the record. The two
-- rules that judge a member's or a unit's whole period (sign_in_only, backfill_share) stay per query.
-- Thresholds: the table quality_settings (the store's [quality] settings the copy is built with).
-- Grain: one row per flagged record (rkey) and rule broken; household: for household_repeat, the
-- household of each household-day the record is one of too many of (one row per household), else NULL.
--   day_hours         a member's checked records on one date sum to more than max_hours_per_day:
--                     every record of such a member-day;
--   duplicate         records alike in member, date, community, category and hours: all but the
--                     first by 记录编号;
--   late_entry        录入日期 more than max_entry_delay_days after the 服务日期;
--   bulk_identical    at least bulk_min_members members of one unit with records of the same date,
--                     hours and 服务内容 and no 活动编号: every record of such a group;
--   household_repeat  one household served by more than household_max_per_day checked records on
--                     one date: every record of such a household-day.
WITH q AS (
    SELECT statuses, max_hours_per_day, max_entry_delay_days, bulk_min_members, household_max_per_day
    FROM quality_settings
),
-- checked is inlined into each rule (NOT MATERIALIZED): each reads only its columns of the records.
-- Materialized, the records' text columns were written and read back six times and spilled under
-- the build's budget (at 10 M records 10.6 -> 4.4 s for the build's quality_flags).
checked AS NOT MATERIALIZED (
    SELECT s.rkey, s.record_id, s.date, s.mid, s.uid, s.community, s.category, s.hours, s.content,
           s.activity_id, s.entered_on
    FROM services s, q
    WHERE s.review_status IS NULL OR list_contains(q.statuses, s.review_status)
),
member_days AS (
    -- member-days with more than one record (the only place a duplicate can be: most have one)
    -- or more hours than a day may hold
    SELECT c.mid, c.date, SUM(c.hours) > ANY_VALUE(q.max_hours_per_day) AS long_day
    FROM checked c, q
    GROUP BY c.mid, c.date
    HAVING COUNT(*) > 1 OR SUM(c.hours) > ANY_VALUE(q.max_hours_per_day)
),
duplicates AS (
    -- the first (by 记录编号) of each group of alike records is kept
    SELECT rkey
    FROM (SELECT r.rkey, ROW_NUMBER() OVER (PARTITION BY r.mid, r.date, r.community, r.category, r.hours
                                                 ORDER BY r.record_id) AS n
          FROM checked r
          JOIN member_days d ON d.mid = r.mid AND d.date = r.date) t
    WHERE n > 1
),
bulk_groups AS (
    SELECT c.uid, c.date, c.hours, c.content
    FROM checked c
    WHERE c.activity_id IS NULL
    GROUP BY c.uid, c.date, c.hours, c.content
    HAVING COUNT(DISTINCT c.mid) >= (SELECT bulk_min_members FROM q)
),
household_candidates AS (
    -- household-days with more rows than allowed among all the records; only these few are then
    -- counted again over the checked ones
    SELECT h.household, h.date
    FROM household_facts h
    GROUP BY h.household, h.date
    HAVING COUNT(*) > (SELECT household_max_per_day FROM q)
),
household_rows AS (
    SELECT h.household, h.date, h.rkey
    FROM household_facts h
    JOIN household_candidates k ON k.household = h.household AND k.date = h.date
    JOIN checked c ON c.rkey = h.rkey
),
household_days AS (
    SELECT household, date FROM household_rows
    GROUP BY household, date
    HAVING COUNT(*) > (SELECT household_max_per_day FROM q)
)
SELECT r.rkey, 'day_hours' AS rule, CAST(NULL AS INTEGER) AS household
FROM checked r JOIN member_days d ON d.mid = r.mid AND d.date = r.date
WHERE d.long_day
UNION ALL
SELECT rkey, 'duplicate', NULL FROM duplicates
UNION ALL
SELECT c.rkey, 'late_entry', NULL
FROM checked c, q
WHERE c.entered_on > c.date + CAST(q.max_entry_delay_days AS INTEGER)
UNION ALL
SELECT r.rkey, 'bulk_identical', NULL
FROM checked r
JOIN bulk_groups b ON b.uid IS NOT DISTINCT FROM r.uid AND b.date = r.date AND b.hours = r.hours
                  AND b.content IS NOT DISTINCT FROM r.content
WHERE r.activity_id IS NULL
UNION ALL
SELECT DISTINCT h.rkey, 'household_repeat', h.household
FROM household_rows h
JOIN household_days d ON d.household = h.household AND d.date = h.date

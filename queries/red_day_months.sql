-- 红色服务日 by month: the days held (records whose 活动形式 is $red_form; the day is the records'
-- date, grouped by calendar month), members attending (distinct), members reported by the month's
-- last service day, reported members who attended, units with reported members, units attending
-- and units missing (reported members, no attendee that month). participation_rate = reported
-- members who attended ÷ members reported by that day (NULL when none reported).
-- Grain: month with at least one service day. Parameters: $start, $end, $red_form, the shared
-- filters and $member_max (bound by the store).
-- How: the roster is never multiplied by the months: members are counted by 报到日期 (a few hundred
-- dates) and units by their first member's date, each compared with the months' last days; each
-- month's attendees are a bitmap over the dense member ids, ANDed with the bitmap of the members
-- reported by the first month's last day and with that of the few reported later, month by month.
WITH
red AS (
    SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS month, date, mid, uid
    FROM f_services
    WHERE form = $red_form AND date BETWEEN $start AND $end
),
days AS (
    SELECT month, MIN(date) AS first_day, MAX(date) AS last_day, COUNT(DISTINCT date) AS days,
           -- exact: the month's attendees as a bitmap over the dense member ids
           bitstring_agg(mid, 1, $member_max) AS attended
    FROM red
    GROUP BY month
),
unit_attended AS (
    SELECT DISTINCT month, uid FROM red
),
roster AS (
    SELECT mid, uid, reported_on FROM f_members
),
by_date AS (
    SELECT reported_on, COUNT(*) AS members FROM roster GROUP BY reported_on
),
unit_first AS (
    SELECT uid, MIN(reported_on) AS first_reported FROM roster WHERE uid IS NOT NULL GROUP BY uid
),
earliest AS (
    SELECT MIN(last_day) AS last_day FROM days
),
early_bits AS (
    -- members reported by the first month's last day (reported by every month's): one bitmap
    SELECT bitstring_agg(mid, 1, $member_max) AS bits
    FROM roster
    WHERE reported_on <= (SELECT last_day FROM earliest)
),
late_bits AS (
    -- the later ones, month by month
    SELECT d.month, bitstring_agg(m.mid, 1, $member_max) AS bits
    FROM days d
    JOIN roster m ON m.reported_on <= d.last_day AND m.reported_on > (SELECT last_day FROM earliest)
    GROUP BY d.month
),
rep AS (
    SELECT d.month, SUM(b.members) AS members
    FROM days d JOIN by_date b ON b.reported_on <= d.last_day
    GROUP BY d.month
),
rep_units AS (
    SELECT d.month, COUNT(*) AS units
    FROM days d JOIN unit_first u ON u.first_reported <= d.last_day
    GROUP BY d.month
),
rep_att AS (
    -- attendees reported by the month's last day: the AND of the bitmaps
    SELECT d.month,
           COALESCE(bit_count(d.attended & e.bits), 0) + COALESCE(bit_count(d.attended & l.bits), 0)
               AS attending_members
    FROM days d
    CROSS JOIN early_bits e
    LEFT JOIN late_bits l ON l.month = d.month
),
unit_att AS (
    SELECT u.month, COUNT(*) AS units_attending,
           COUNT(*) FILTER (WHERE f.first_reported <= d.last_day) AS reported_units_attending
    FROM unit_attended u
    JOIN days d ON d.month = u.month
    LEFT JOIN unit_first f ON f.uid = u.uid
    GROUP BY u.month
)
SELECT
    d.month, d.first_day, d.last_day, d.days, COALESCE(bit_count(d.attended), 0) AS attendees,
    CAST(COALESCE(rep.members, 0) AS BIGINT) AS members,
    COALESCE(rep_att.attending_members, 0) AS attending_members,
    COALESCE(ru.units, 0) AS units,
    COALESCE(ua.units_attending, 0) AS units_attending,
    COALESCE(ru.units, 0) - COALESCE(ua.reported_units_attending, 0) AS units_missed,
    CASE WHEN COALESCE(rep.members, 0) = 0 THEN NULL
         ELSE CAST(COALESCE(rep_att.attending_members, 0) AS DOUBLE) / rep.members END AS participation_rate
FROM days d
LEFT JOIN rep ON rep.month = d.month
LEFT JOIN rep_att ON rep_att.month = d.month
LEFT JOIN rep_units ru ON ru.month = d.month
LEFT JOIN unit_att ua ON ua.month = d.month
ORDER BY d.month

-- 红色服务日 by month: the days held (records whose 活动形式 is $red_form; the day is the records'
-- date, grouped by calendar month), members attending (distinct), members reported by the month's
-- last service day, reported members who attended, units with reported members, units attending
-- and units missing (reported members, no attendee that month). participation_rate = reported
-- members who attended ÷ members reported by that day (NULL when none reported).
-- Grain: month with at least one service day. Parameters: $start, $end, $red_form, shared filters.
WITH
red AS (
    SELECT date, member_id, unit
    FROM f_services
    WHERE form = $red_form AND date BETWEEN $start AND $end
),
days AS (
    SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS month,
           MIN(date) AS first_day, MAX(date) AS last_day, COUNT(DISTINCT date) AS days,
           COUNT(DISTINCT member_id) AS attendees
    FROM red
    GROUP BY CAST(DATE_TRUNC('month', date) AS DATE)
),
attended AS (
    SELECT DISTINCT CAST(DATE_TRUNC('month', date) AS DATE) AS month, member_id
    FROM red
),
unit_attended AS (
    SELECT DISTINCT CAST(DATE_TRUNC('month', date) AS DATE) AS month, unit
    FROM red
),
reported AS (
    SELECT d.month, m.member_id, m.unit
    FROM days d
    JOIN f_members m ON m.reported_on <= d.last_day
),
rep AS (
    SELECT month, COUNT(*) AS members, COUNT(DISTINCT unit) AS units
    FROM reported
    GROUP BY month
),
rep_att AS (
    SELECT r.month, COUNT(*) AS attending_members
    FROM reported r
    JOIN attended a ON a.month = r.month AND a.member_id = r.member_id
    GROUP BY r.month
),
unit_att AS (
    SELECT month, COUNT(*) AS units_attending
    FROM unit_attended
    GROUP BY month
),
missed AS (
    SELECT r.month, COUNT(DISTINCT r.unit) AS units_missed
    FROM reported r
    LEFT JOIN unit_attended u ON u.month = r.month AND u.unit = r.unit
    WHERE u.unit IS NULL
    GROUP BY r.month
)
SELECT
    d.month, d.first_day, d.last_day, d.days, d.attendees,
    COALESCE(rep.members, 0) AS members,
    COALESCE(rep_att.attending_members, 0) AS attending_members,
    COALESCE(rep.units, 0) AS units,
    COALESCE(unit_att.units_attending, 0) AS units_attending,
    COALESCE(missed.units_missed, 0) AS units_missed,
    CASE WHEN COALESCE(rep.members, 0) = 0 THEN NULL
         ELSE CAST(COALESCE(rep_att.attending_members, 0) AS DOUBLE) / rep.members END AS participation_rate
FROM days d
LEFT JOIN rep ON rep.month = d.month
LEFT JOIN rep_att ON rep_att.month = d.month
LEFT JOIN unit_att ON unit_att.month = d.month
LEFT JOIN missed ON missed.month = d.month
ORDER BY d.month

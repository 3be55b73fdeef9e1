-- 红色服务日 attendance per work unit and month (the heat map): members attending (distinct, by
-- the unit credited on the day of service) and the unit's members reported by the month's last
-- service day. A unit with members but attendees = 0 missed that month's service day.
-- Grain: month with a service day × unit with members or attendees.
-- Parameters: $start, $end, $red_form and the shared filters.
WITH
red AS (
    SELECT date, member_id, unit
    FROM f_services
    WHERE form = $red_form AND date BETWEEN $start AND $end
),
days AS (
    SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS month, MAX(date) AS last_day
    FROM red
    GROUP BY CAST(DATE_TRUNC('month', date) AS DATE)
),
att AS (
    SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS month, unit,
           COUNT(DISTINCT member_id) AS attendees
    FROM red
    GROUP BY CAST(DATE_TRUNC('month', date) AS DATE), unit
),
rep AS (
    SELECT d.month, m.unit, COUNT(*) AS members
    FROM days d
    JOIN f_members m ON m.reported_on <= d.last_day
    GROUP BY d.month, m.unit
),
cells AS (
    SELECT month, unit FROM att
    UNION
    SELECT month, unit FROM rep
)
SELECT
    c.month, c.unit,
    COALESCE(rep.members, 0) AS members,
    COALESCE(att.attendees, 0) AS attendees
FROM cells c
LEFT JOIN rep ON rep.month = c.month AND rep.unit = c.unit
LEFT JOIN att ON att.month = c.month AND att.unit = c.unit
WHERE c.unit IS NOT NULL
ORDER BY c.month, c.unit

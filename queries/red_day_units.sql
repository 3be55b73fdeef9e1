-- 红色服务日 attendance per work unit and month (the heat map): members attending (distinct, by
-- the unit credited on the day of service) and the unit's members reported by the month's last
-- service day. A unit with members but attendees = 0 missed that month's service day.
-- Grain: month with a service day × unit with members or attendees.
-- Parameters: $start, $end, $red_form, the shared filters and $unit_member_max (bound by the store).
-- How: one pass over the period's 红色服务日 records by month and unit (its integer id, uid, named
-- at the end); members reported by the first month's last day are counted once per unit, only
-- later ones month by month.
WITH
att AS (
    SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS month, uid,
           -- exact: a bitmap per unit and month over the member's number within the unit
           COALESCE(bit_count(bitstring_agg(unit_mid, 1, $unit_member_max)), 0) AS attendees,
           MAX(date) AS last_day
    FROM f_services
    WHERE form = $red_form AND date BETWEEN $start AND $end
    GROUP BY CAST(DATE_TRUNC('month', date) AS DATE), uid
),
days AS (
    SELECT month, MAX(last_day) AS last_day FROM att GROUP BY month
),
earliest AS (
    SELECT MIN(last_day) AS last_day FROM days
),
by_unit AS (
    -- members reported by the first month's last service day count in every month: counted once
    -- per unit; the others are matched month by month
    SELECT m.uid, COUNT(*) AS members
    FROM f_members m
    WHERE m.reported_on <= (SELECT last_day FROM earliest)
    GROUP BY m.uid
),
rep AS (
    SELECT month, uid, SUM(members) AS members
    FROM (
        SELECT d.month, b.uid, b.members FROM days d CROSS JOIN by_unit b
        UNION ALL
        SELECT d.month, m.uid, 1
        FROM f_members m
        JOIN days d ON m.reported_on <= d.last_day
        WHERE m.reported_on > (SELECT last_day FROM earliest)
    ) x
    GROUP BY month, uid
)
SELECT
    COALESCE(rep.month, att.month) AS month,
    i.unit,
    CAST(COALESCE(rep.members, 0) AS BIGINT) AS members,
    COALESCE(att.attendees, 0) AS attendees
FROM rep
FULL JOIN att ON att.month = rep.month AND att.uid = rep.uid
JOIN unit_ids i ON i.uid = COALESCE(rep.uid, att.uid)
ORDER BY month, i.unit

-- One row per work unit with activity: members reported by $end, active members in the period,
-- hours and persons served. Grain: unit. Parameters: $start, $end, the shared filters and
-- $unit_member_max (bound by the store).
WITH
reported AS (
    SELECT unit, COUNT(*) AS members
    FROM f_members WHERE reported_on <= $end
    GROUP BY unit
),
svc AS (
    SELECT unit, SUM(hours) AS hours, SUM(persons) AS persons,
           -- exact: a bitmap per unit over the member's number within the unit
           COALESCE(bit_count(bitstring_agg(unit_mid, 1, $unit_member_max)), 0) AS active_members
    FROM f_services WHERE date BETWEEN $start AND $end
    GROUP BY unit
),
units_seen AS (
    SELECT unit FROM reported
    UNION
    SELECT unit FROM svc
)
SELECT
    u.unit,
    COALESCE(r.members, 0) AS members,
    COALESCE(s.active_members, 0) AS active_members,
    COALESCE(s.hours, 0) AS hours,
    COALESCE(s.persons, 0) AS persons
FROM units_seen u
LEFT JOIN reported r ON r.unit = u.unit
LEFT JOIN svc s ON s.unit = u.unit
ORDER BY hours DESC, u.unit

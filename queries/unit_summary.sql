-- One row per work unit with activity: members reported by $end, active members in the period,
-- hours and persons served. Grain: unit. Parameters: $start, $end, the shared filters and
-- $unit_member_max (bound by the store).
-- How: grouped by the unit's integer id (uid), named at the end.
WITH
reported AS (
    SELECT uid, COUNT(*) AS members
    FROM f_members WHERE reported_on <= $end
    GROUP BY uid
),
svc AS (
    SELECT uid, SUM(hours) AS hours, SUM(persons) AS persons,
           -- exact: a bitmap per unit over the member's number within the unit
           COALESCE(bit_count(bitstring_agg(unit_mid, 1, $unit_member_max)), 0) AS active_members
    FROM f_services WHERE date BETWEEN $start AND $end
    GROUP BY uid
),
units_seen AS (
    SELECT uid FROM reported
    UNION
    SELECT uid FROM svc
)
SELECT
    i.unit,
    COALESCE(r.members, 0) AS members,
    COALESCE(s.active_members, 0) AS active_members,
    COALESCE(s.hours, 0) AS hours,
    COALESCE(s.persons, 0) AS persons
FROM units_seen u
LEFT JOIN unit_ids i ON i.uid = u.uid
LEFT JOIN reported r ON r.uid = u.uid
LEFT JOIN svc s ON s.uid = u.uid
ORDER BY hours DESC, i.unit

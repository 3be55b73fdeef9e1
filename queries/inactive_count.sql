-- 未参与党员 counted: members reported on or before $end without any service record in the period
-- (within every filter), as queries/inactive_members.sql lists them; the page's headline tile,
-- without reading the members' names. Grain: one row. Parameters: $start, $end, the shared
-- filters and $member_max (bound by the store).
-- How: the members who served in the period as one bitmap over the dense member ids, then one
-- get_bit per reported member.
WITH
served AS (
    SELECT bitstring_agg(s.mid, 1, $member_max) AS bits
    FROM f_services s
    WHERE s.date BETWEEN $start AND $end
)
SELECT COUNT(*) FILTER (WHERE get_bit(a.bits, m.mid - 1) IS DISTINCT FROM 1) AS inactive
FROM f_members m, served a
WHERE m.reported_on <= $end

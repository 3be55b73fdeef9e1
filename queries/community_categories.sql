-- One community's service by category (六送三请 and other services) in the period: hours,
-- persons served and records. One row per category with service.
-- Grain: service category. Parameters: $start, $end, the shared filters, $community.
SELECT
    category,
    SUM(hours) AS hours,
    SUM(persons) AS persons,
    COUNT(*) AS records
FROM f_services
WHERE date BETWEEN $start AND $end AND community = $community
GROUP BY category
ORDER BY hours DESC, category

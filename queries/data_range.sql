-- First and last service date the viewer may see (periods are relative to the last one).
-- Returns one row; NULLs when there is no service yet. Parameters: the scope only.
SELECT MIN(date) AS first_date, MAX(date) AS last_date, COUNT(*) AS records
FROM f_services

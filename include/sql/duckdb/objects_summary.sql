SELECT format, count(*) AS n FROM objects GROUP BY ALL ORDER BY ALL;

SELECT DISTINCT dt, hour FROM requests ORDER BY dt, hour;

SELECT count(*) AS n FROM requests;

-- The Glue/Athena database of edgesense. The edgesense_setup DAG creates it through the
-- Glue API; run this in the Athena console only if you prefer to manage it with DDL.
CREATE DATABASE IF NOT EXISTS edgesense;

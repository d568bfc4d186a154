"""edgesense's Parquet tables: their columns (the one source), key shape and partitions.

The Glue tables (:mod:`edgesense.aws.catalog`) are made from :data:`TABLES`; the SQL that
writes the files (``build_requests.sql``, ``minute_metrics.sql``) and the Athena DDL in
``include/sql/athena/`` are tested against it (``test_parsing.py``, ``test_athena_sql.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Column name -> Hive type, in file order. Must match build_requests.sql / minute_metrics.sql.
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "requests": [
        ("event_time", "timestamp", "request time, UTC"),
        ("client_ip", "string", ""),
        ("method", "string", ""),
        ("host", "string", "lower-cased"),
        ("path", "string", "percent-decoded, leading /"),
        ("query", "string", ""),
        ("status", "int", ""),
        ("bytes", "bigint", ""),
        ("turnaround_ms", "int", ""),
        ("transfer_ms", "int", ""),
        ("referer", "string", "percent-decoded"),
        ("user_agent", "string", "percent-decoded"),
        ("cache_status", "int", "1 = served from edge cache"),
        ("country", "string", ""),
        ("error_code", "string", ""),
        ("security_rules", "string", "WAF information"),
        ("request_id", "string", ""),
        ("stream_id", "string", ""),
        ("cp_code", "string", ""),
        ("proto", "string", ""),
        ("content_type", "string", ""),
        ("edge_ip", "string", ""),
        ("url_pattern", "string", "id of the winning rule"),
        ("source_format", "string", "ds2_json, ds1_raw or ds2_structured"),
        ("source_key", "string", "S3 key of the log object (lineage)"),
        ("batch_id", "string", "edgesense batch that produced the row"),
        ("rules_version", "string", "content hash of the rules snapshot"),
    ],
    "minute_metrics": [
        ("minute", "timestamp", "event minute, UTC"),
        ("host", "string", ""),
        ("url_pattern", "string", ""),
        ("status", "int", ""),
        ("requests", "bigint", ""),
        ("bytes", "bigint", ""),
        ("turnaround_ms_sum", "bigint", ""),
        ("turnaround_count", "bigint", ""),
        ("transfer_ms_sum", "bigint", ""),
        ("cache_hits", "bigint", ""),
        ("rules_version", "string", ""),
        ("batch_id", "string", ""),
    ],
    "unmatched_paths": [
        ("host", "string", ""),
        ("path", "string", "percent-decoded path no rule matched"),
        ("requests", "bigint", "requests in this batch (top N per hour and batch)"),
        ("batch_id", "string", ""),
    ],
}


def output_key_shape(table: str) -> re.Pattern[str]:
    """The keys edgesense writes for a table: ``<table>/dt=YYYY-MM-DD/hour=HH/part-<batch>-N.parquet``."""
    return re.compile(rf"(?P<table>{re.escape(table)})/dt=(?P<dt>\d{{4}}-\d{{2}}-\d{{2}})/hour=(?P<hour>\d{{2}})/"
                      r"part-[A-Za-z0-9-]+\.parquet")  # fmt: skip


def partitions_of(keys: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
    """The (dt, hour) partitions each table's output keys fall into."""
    out: dict[str, set[tuple[str, str]]] = {t: set() for t in TABLES}
    for key in keys:
        table = key.split("/", 1)[0]
        if table in TABLES and (m := output_key_shape(table).fullmatch(key)):
            out[table].add((m["dt"], m["hour"]))
    return out

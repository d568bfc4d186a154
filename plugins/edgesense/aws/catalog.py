"""The Glue Data Catalog (what Athena queries): database, tables and partitions.

moto does not apply Athena DDL to Glue, and real deployments should not depend on
``MSCK REPAIR`` (slow, times out as prefixes grow), so tables and partitions are managed
through the Glue API directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

log = logging.getLogger(__name__)

PARTITION_KEYS = [{"Name": "dt", "Type": "string"}, {"Name": "hour", "Type": "string"}]
MAX_PARTITIONS_PER_CALL = 100

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


_PARQUET_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


class Catalog:
    def __init__(self, glue: GlueCatalogHook, *, database: str, store_bucket: str) -> None:
        self.client = glue.get_conn()
        self.database = database
        self.bucket = store_bucket

    def location(self, table: str) -> str:
        return f"s3://{self.bucket}/{table}/"

    def _table_input(self, table: str) -> dict[str, Any]:
        return {
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"},
            "PartitionKeys": PARTITION_KEYS,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t, "Comment": c} for n, t, c in TABLES[table]],
                "Location": self.location(table),
                **_PARQUET_SD,
            },
        }

    def ensure(self) -> list[str]:
        """Create or update the database and tables; safe to run any number of times."""
        done = []
        try:
            self.client.create_database(
                DatabaseInput={"Name": self.database, "Description": "edgesense CDN logs"}
            )
            done.append(f"created database {self.database}")
        except self.client.exceptions.AlreadyExistsException:
            done.append(f"database {self.database} exists")
        for table in TABLES:
            ti = self._table_input(table)
            try:
                self.client.create_table(DatabaseName=self.database, TableInput=ti)
                done.append(f"created table {self.database}.{table}")
            except self.client.exceptions.AlreadyExistsException:
                self.client.update_table(DatabaseName=self.database, TableInput=ti)
                done.append(f"updated table {self.database}.{table}")
        return done

    def add_partitions(self, table: str, partitions: Iterable[tuple[str, str]]) -> dict[str, int]:
        """BatchCreatePartition in calls of <= 100; an existing partition is fine."""
        parts = sorted(set(partitions))
        created = existing = 0
        for i in range(0, len(parts), MAX_PARTITIONS_PER_CALL):
            chunk = parts[i : i + MAX_PARTITIONS_PER_CALL]
            inputs = [
                {
                    "Values": [dt, hour],
                    "StorageDescriptor": {
                        "Columns": [{"Name": n, "Type": t} for n, t, _ in TABLES[table]],
                        "Location": f"{self.location(table)}dt={dt}/hour={hour}/",
                        **_PARQUET_SD,
                    },
                }
                for dt, hour in chunk
            ]
            resp = self.client.batch_create_partition(
                DatabaseName=self.database, TableName=table, PartitionInputList=inputs
            )
            errors = resp.get("Errors", [])
            failed = [e for e in errors if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
            if failed:
                raise RuntimeError(f"Glue BatchCreatePartition on {table} failed: {failed}")
            existing += len(errors)
            created += len(chunk) - len(errors)
        log.info("%s: %d partition(s) created, %d already existed", table, created, existing)
        return {"created": created, "existing": existing}

    def partitions(self, table: str) -> list[tuple[str, ...]]:
        out = []
        paginator = self.client.get_paginator("get_partitions")
        for page in paginator.paginate(DatabaseName=self.database, TableName=table):
            out += [tuple(p["Values"]) for p in page["Partitions"]]
        return sorted(out)

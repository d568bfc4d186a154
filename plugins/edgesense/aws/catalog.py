"""The Glue Data Catalog (what Athena queries): database, tables and partitions.

moto does not apply Athena DDL to Glue, and real deployments should not depend on
``MSCK REPAIR`` (slow, times out as prefixes grow), so tables and partitions are managed
through the Glue API directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from edgesense.tables import TABLES

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

log = logging.getLogger(__name__)

PARTITION_KEYS = [{"Name": "dt", "Type": "string"}, {"Name": "hour", "Type": "string"}]
MAX_PARTITIONS_PER_CALL = 100

_PARQUET_SD = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


class Catalog:
    def __init__(self, glue: GlueClient, *, database: str, store_bucket: str) -> None:
        self.client = glue
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

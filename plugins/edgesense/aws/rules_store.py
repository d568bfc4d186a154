"""The rules table in DynamoDB, and content-addressed rule snapshots in S3.

Each run reads the table afresh (a change takes effect on the next minute's run), then
pins what it read as an immutable snapshot named by its content hash. The aggregation
uses exactly that snapshot, and its version is recorded with every output row.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from edgesense.aws.s3 import STATE_PREFIX, exists, get_json, put_json
from edgesense.rules import RuleSet, sample_rule_set, validate_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

SNAPSHOT_PREFIX = f"{STATE_PREFIX}rules/"
LATEST_KEY = f"{SNAPSHOT_PREFIX}latest.json"


def snapshot_key(version: str) -> str:
    return f"{SNAPSHOT_PREFIX}{version}.json"


class RulesStore:
    """The rules table. ``client`` is a DynamoDB *resource's* client, which takes and
    returns plain Python values (Decimal for N): :attr:`AwsClients.dynamodb`."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def scan(self) -> list[dict[str, Any]]:
        """Every item, following LastEvaluatedKey across 1 MB pages."""
        items: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True):
            items += page.get("Items", ())
        return items

    def read(self) -> RuleSet:
        rs = validate_items(self.scan())
        for r in rs.rejected:
            log.warning("rules table %s: skipping %s", self.table, r)
        return rs

    def is_empty(self) -> bool:
        return not self.client.scan(TableName=self.table, Limit=1, Select="COUNT").get("Count", 0)

    def write(self, items: list[dict[str, Any]], delete_ids: list[str] = ()) -> None:
        """Put items and delete Ids with BatchWriteItem (25 per call), retrying what is unprocessed."""
        requests = [{"PutRequest": {"Item": {**i, "Rank": Decimal(str(i["Rank"]))}}} for i in items]
        requests += [{"DeleteRequest": {"Key": {"Id": rid}}} for rid in delete_ids]
        for n in range(0, len(requests), 25):
            pending = {self.table: requests[n : n + 25]}
            for attempt in range(8):
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(5.0, 0.05 * 2**attempt))
            if pending:
                raise RuntimeError(
                    f"DynamoDB left {len(pending[self.table])} write(s) to {self.table} unprocessed"
                )

    def seed_samples(self) -> int:
        """Write the original's five sample rules, but only into an empty table."""
        if not self.is_empty():
            return 0
        items = [r.to_item() for r in sample_rule_set().rules]
        self.write(items)
        return len(items)


class Snapshots:
    """Immutable rule snapshots in the store bucket, plus a pointer to the last good one."""

    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket

    def save(self, rules: RuleSet) -> tuple[str, bool]:
        """Write the snapshot unless one with the same content hash exists; return (key, reused)."""
        key = snapshot_key(rules.version)
        reused = exists(self.s3, self.bucket, key)
        if not reused:
            put_json(self.s3, self.bucket, key, rules.to_snapshot())
        put_json(self.s3, self.bucket, LATEST_KEY, {"version": rules.version, "key": key})
        return key, reused

    def latest(self) -> tuple[str, RuleSet] | None:
        ptr = get_json(self.s3, self.bucket, LATEST_KEY)
        if not ptr:
            return None
        return ptr["key"], self.load(ptr["key"])

    def load(self, key: str) -> RuleSet:
        doc = get_json(self.s3, self.bucket, key)
        if doc is None:
            raise FileNotFoundError(f"rules snapshot s3://{self.bucket}/{key} is missing")
        return RuleSet.from_snapshot(doc)

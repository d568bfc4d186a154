"""Rules table and snapshots against moto: pagination, content-addressed snapshots and reuse."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest

from edgesense.aws.clients import AwsClients
from edgesense.aws.rules_store import LATEST_KEY, RulesStore, Snapshots, snapshot_key
from edgesense.config import Settings
from edgesense.tasks.ingest import sync_rules
from helpers import STORE, TABLE

pytestmark = pytest.mark.e2e


def test_the_rules_task_reads_every_page_of_a_table_over_one_megabyte(aws):
    table = boto3.resource("dynamodb", endpoint_url=aws.endpoint, region_name="us-east-1").Table(TABLE)
    with table.batch_writer() as batch:
        for i in range(1800):
            batch.put_item(Item={"Id": f"R{i:04d}", "Regex": f"/s{i}/{'y' * 600}", "Rank": Decimal(i)})
    assert "LastEvaluatedKey" in aws.ddb.scan(TableName=TABLE)  # the first page is not everything

    settings = Settings.from_env()
    rules = RulesStore(AwsClients(settings.aws_conn_id).dynamodb, TABLE).read()

    assert len(rules.rules) == 1800


def test_snapshots_are_named_by_content_and_reused_when_nothing_changed(aws):
    settings = Settings.from_env()
    aws.ddb.put_item(TableName=TABLE, Item={"Id": {"S": "Api"}, "Regex": {"S": "/json/"}, "Rank": {"N": "5"}})

    first = sync_rules(settings)
    second = sync_rules(settings)
    aws.ddb.put_item(
        TableName=TABLE, Item={"Id": {"S": "Api"}, "Regex": {"S": "/json2/"}, "Rank": {"N": "5"}}
    )
    third = sync_rules(settings)

    assert first["key"] == second["key"] == snapshot_key(first["version"])
    assert (first["reused"], second["reused"], third["reused"]) == (False, True, False)
    assert third["version"] != first["version"]
    snaps = Snapshots(aws.s3, STORE)
    assert [r.regex for r in snaps.load(first["key"]).rules] == ["/json/"]
    assert snaps.latest()[0] == third["key"]
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/rules/")["Contents"]]
    assert sorted(keys) == sorted([first["key"], third["key"], LATEST_KEY])

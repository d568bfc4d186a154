"""The Glue catalog adapter against moto: tables, and partitions in calls of at most 100."""

from __future__ import annotations

import pytest

from edgesense.aws.catalog import MAX_PARTITIONS_PER_CALL, Catalog
from edgesense.aws.clients import AwsClients
from edgesense.tables import TABLES

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog(aws):
    cat = Catalog(AwsClients("aws_default").glue, database="edgesense_test", store_bucket="es-store")
    cat.ensure()
    return cat


def test_ensure_creates_then_updates_the_tables_and_is_safe_to_repeat(catalog, aws):
    again = catalog.ensure()

    assert again == ["database edgesense_test exists", "updated table edgesense_test.requests",
                     "updated table edgesense_test.minute_metrics",
                     "updated table edgesense_test.unmatched_paths"]  # fmt: skip
    table = aws.glue.get_table(DatabaseName="edgesense_test", Name="requests")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == [n for n, _, _ in TABLES["requests"]]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt", "hour"]
    assert table["StorageDescriptor"]["Location"] == "s3://es-store/requests/"


def test_partitions_go_in_calls_of_at_most_100_and_existing_ones_are_fine(catalog, aws):
    """The real client is wrapped only to record call sizes; every call reaches moto."""
    sizes = []
    real = catalog.client.batch_create_partition

    def spy(**kw):
        sizes.append(len(kw["PartitionInputList"]))
        return real(**kw)

    catalog.client.batch_create_partition = spy
    parts = [(f"2026-11-{d:02d}", f"{h:02d}") for d in range(1, 12) for h in range(24)]  # 264

    first = catalog.add_partitions("requests", parts)
    second = catalog.add_partitions("requests", parts[:150])

    assert first == {"created": 264, "existing": 0}
    assert second == {"created": 0, "existing": 150}
    assert max(sizes) <= MAX_PARTITIONS_PER_CALL
    pages = aws.glue.get_paginator("get_partitions").paginate(
        DatabaseName="edgesense_test", TableName="requests"
    )
    assert sum(len(page["Partitions"]) for page in pages) == 264
    stored = aws.glue.get_partition(DatabaseName="edgesense_test", TableName="requests",
                                    PartitionValues=["2026-11-05", "07"])["Partition"]  # fmt: skip
    assert stored["StorageDescriptor"]["Location"] == "s3://es-store/requests/dt=2026-11-05/hour=07/"

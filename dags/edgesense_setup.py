"""
### edgesense_setup: create the Athena catalog and seed the sample rules (Airflow DAG)

Trigger by hand once per environment (like the original's Init function); running it
again is safe.

* **ensure_catalog** creates the Glue database (`EDGESENSE_GLUE_DATABASE`) and the Parquet
  tables `requests`, `minute_metrics` and `unmatched_paths`, partitioned by `dt`/`hour`,
  or updates them to the current schema if they exist.
* **seed_rules** writes the original's five sample URL-pattern rules into the DynamoDB
  rules table (`EDGESENSE_RULES_TABLE`) **only if the table is empty**. Turn it off with
  the `seed_rules` param.

The buckets and the rules table are infrastructure (CloudFormation on AWS, `make demo`
locally); this DAG does not create them. Connection: `aws_default`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from edgesense.compat import Param, dag, task

DAG_ID = "edgesense_setup"

default_args = {
    "owner": "edgesense",
    "retries": 2,
    "retry_delay": timedelta(seconds=int(os.environ.get("EDGESENSE_RETRY_DELAY_SECONDS", "20"))),
}


def _settings():
    from edgesense.config import Settings

    return Settings.from_env()


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args=default_args,
    params={"seed_rules": Param(True, type="boolean", description="Seed sample rules into an empty table")},
    tags=["edgesense", "setup"],
    doc_md=__doc__,
)
def edgesense_setup():
    @task
    def ensure_catalog() -> list[str]:
        from edgesense.aws.catalog import Catalog
        from edgesense.pipeline import Hooks

        settings = _settings()
        hooks = Hooks.create(settings, glue=True)
        return Catalog(
            hooks.glue, database=settings.glue_database, store_bucket=settings.store_bucket
        ).ensure()

    @task
    def seed_rules(params=None) -> int:
        from edgesense.aws.rules_store import RulesStore
        from edgesense.pipeline import Hooks

        if not (params or {}).get("seed_rules", True):
            return 0
        settings = _settings()
        return RulesStore(Hooks.create(settings, dynamodb=True).dynamodb, settings.rules_table).seed_samples()

    ensure_catalog()
    seed_rules()


dag_object = edgesense_setup()

if __name__ == "__main__":
    dag_object.test()

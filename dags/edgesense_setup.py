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

from datetime import datetime

from edgesense import dag_helpers
from edgesense.compat import Param, dag, task

DAG_ID = "edgesense_setup"

default_args = dag_helpers.default_args(2, 20)


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
        from edgesense.tasks.setup import ensure_catalog

        return ensure_catalog(dag_helpers.settings())

    @task
    def seed_rules(params=None) -> int:
        from edgesense.tasks.setup import seed_rules

        if not (params or {}).get("seed_rules", True):
            return 0
        return seed_rules(dag_helpers.settings())

    ensure_catalog()
    seed_rules()


dag_object = edgesense_setup()

if __name__ == "__main__":
    dag_object.test()

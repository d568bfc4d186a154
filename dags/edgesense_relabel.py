"""
### edgesense_relabel: re-label history with the current rules (Airflow DAG)

Trigger by hand with a date range (`first_day`, `last_day`, UTC dates). For every day it
reads the `requests` Parquet (written by `edgesense_archive`, so a day is complete once its
last archive interval has run), names every request's URL pattern with the **current**
rules from DynamoDB (the same RE2 matching, ranks and host scopes as the ingest DAG) and
rewrites that day's `minute_metrics` Parquet in place, one file per original batch, with
the new `rules_version`. Batches of the day that are not archived yet keep their
`minute_metrics` as ingest wrote them (re-run the day after its last archive interval). Glue partitions are refreshed. Running it twice gives the same
files.

**CloudWatch is never touched.** Datapoints already in CloudWatch cannot be changed or
deleted, only added to, so re-publishing would double count. Past minutes keep the
patterns they were published with; Athena (`minute_metrics`) shows the re-labelled view.

Connection: `aws_default`. Settings: `EDGESENSE_*` (see the README).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from edgesense import dag_helpers
from edgesense.compat import Param, dag, task

DAG_ID = "edgesense_relabel"

default_args = dag_helpers.default_args(2, 30, execution_timeout=timedelta(hours=2))


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={
        "first_day": Param(
            type="string", format="date", description="First day to re-label (UTC, YYYY-MM-DD)"
        ),
        "last_day": Param(type="string", format="date", description="Last day, inclusive"),
    },
    tags=["edgesense", "rules"],
    doc_md=__doc__,
)
def edgesense_relabel():
    @task
    def sync_rules() -> dict:
        from edgesense.tasks.ingest import sync_rules

        return sync_rules(dag_helpers.settings())

    @task
    def relabel_minute_metrics(rules: dict, params=None) -> dict:
        from edgesense.tasks.relabel import relabel_days

        return relabel_days(dag_helpers.settings(), params["first_day"], params["last_day"], rules["key"])

    @task
    def refresh_partitions(summary: dict) -> dict:
        from edgesense.tasks.common import add_partitions_for

        return add_partitions_for(dag_helpers.settings(), "minute_metrics", summary["partitions"])

    refresh_partitions(relabel_minute_metrics(sync_rules()))


dag_object = edgesense_relabel()

if __name__ == "__main__":
    dag_object.test()

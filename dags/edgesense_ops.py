"""
### edgesense_ops: dashboards and alarms that follow the hosts of `minute_metrics` (Airflow DAG)

Hourly, and safe to trigger by hand at any time (a run that changes nothing writes nothing):

1. **refresh_hosts** reads the last two hours of `minute_metrics/` and merges the hosts it
   finds into `_edgesense/ops/hosts.json` (when each was last seen). A host unseen for
   `EDGESENSE_HOST_QUIET_HOURS` (24) leaves the list.
2. **put_dashboards** puts `edgesense-<stage>-traffic` and `edgesense-<stage>-pipeline`
   (only those whose body changed). Counts and percentiles use Metrics Insights `GROUP BY
   Host` and `SEARCH`, so a new host shows at once; the 5XX, 4XX and cache-hit *rates* are
   metric math per host, so they list the hosts of step 1.
3. **put_alarms** keeps the alarms in step: pipeline stopped, reject ratio, ingest lag,
   and per host the 5XX rate and the anomaly score. New hosts get theirs, hosts that left
   the list lose theirs. Every alarm notifies `EDGESENSE_ALERT_TOPIC_ARN`. This DAG owns
   every metric alarm; the CloudFormation stack owns only the topic. Only alarms marked
   *Managed by edgesense_ops* for this stage are ever changed or deleted.

Thresholds are settings (`EDGESENSE_ALARM_*`, `EDGESENSE_ANOMALY_THRESHOLD`); the README's
Operations section says what each alarm means and how to tune it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from edgesense import dag_helpers
from edgesense.compat import dag, task

DAG_ID = "edgesense_ops"


@dag(
    dag_id=DAG_ID,
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=dag_helpers.default_args(2, 60),
    tags=["edgesense", "operations"],
    doc_md=__doc__,
    is_paused_upon_creation=True,
)
def edgesense_ops():
    @task
    def refresh_hosts() -> list[str]:
        from edgesense.tasks.ops import refresh_hosts

        return refresh_hosts(dag_helpers.settings())

    @task
    def put_dashboards(hosts: list[str]) -> dict[str, str]:
        from edgesense.tasks.ops import put_dashboards

        return put_dashboards(dag_helpers.settings(), hosts)

    @task
    def put_alarms(hosts: list[str]) -> str:
        from edgesense.tasks.ops import put_alarms

        return put_alarms(dag_helpers.settings(), hosts).sentence()

    hosts = refresh_hosts()
    put_dashboards(hosts)
    put_alarms(hosts)


dag_object = edgesense_ops()

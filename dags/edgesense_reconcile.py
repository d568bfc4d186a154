"""
### edgesense_reconcile: CloudWatch against `minute_metrics`, every minute of a day (Airflow DAG)

Daily at 03:00 UTC, for the day before (its last points have settled by then); any other
day of the last 14 with the `day` param.

1. **reconcile** compares, for every minute x host of the day, the requests CloudWatch holds
   (GetMetricData `Sum` of every `ResponseCountTotal` series of the host) with the requests
   `minute_metrics` counted. Each difference gets its reason where the plans and ledgers
   know it: an *ambiguous call* (an intent marker without done: its reply was lost), a
   minute *outside the 14-day window* when planned, a call *not sent yet*, or CloudWatch
   holding *more* (never repaired). It writes `_edgesense/reconcile/dt=<day>.json` and
   publishes `MinutesMismatched` (0 after a normal day).
2. **repair** sends again, once, each lost call that certainly never landed: CloudWatch lacks
   exactly what it carried at every minute x host it touches (a PutMetricData call is
   applied whole or not at all). It keeps its own ledger (`_edgesense/repair/`), waits
   `EDGESENSE_REPAIR_SETTLE_MINUTES` after the lost call, and sends nothing when CloudWatch
   holds more or when it cannot tell. Turn it off with the `repair` param.

A re-run is safe: the report is rewritten, a repaired call is never sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from edgesense import dag_helpers
from edgesense.compat import AirflowFailException, Param, dag, task

DAG_ID = "edgesense_reconcile"


@dag(
    dag_id=DAG_ID,
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=dag_helpers.default_args(2, 300),
    params={
        "day": Param(
            None,
            type=["null", "string"],
            format="date",
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="A past day of the last 14 (YYYY-MM-DD); empty: the day before the run.",
        ),
        "repair": Param(
            True, type="boolean", description="Send again, once, the calls that certainly never landed."
        ),
    },
    tags=["edgesense", "operations"],
    doc_md=__doc__,
    is_paused_upon_creation=True,
)
def edgesense_reconcile():
    @task
    def reconcile(params=None, data_interval_end=None) -> str:
        from edgesense.tasks.reconcile import DayOutOfReach, day_to_reconcile, reconcile_day

        try:
            day = day_to_reconcile((params or {}).get("day"), data_interval_end)
            return reconcile_day(dag_helpers.settings(), day)["day"]
        except DayOutOfReach as exc:
            raise AirflowFailException(str(exc)) from exc

    @task
    def repair(day: str, params=None) -> dict:
        from datetime import date

        from edgesense.tasks.reconcile import repair_day

        if not (params or {}).get("repair", True):
            return {"repaired": [], "skipped": "repair param is off"}
        return repair_day(dag_helpers.settings(), date.fromisoformat(day))

    repair(reconcile())


dag_object = edgesense_reconcile()

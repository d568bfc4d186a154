"""edgesense_ops on a real moto_server: the hosts that ingest counted get their alarms and
dashboard lines, a second run writes nothing, and a host quiet for the quiet period loses
its alarms while the pipeline alarms and a user's own alarm stay.

moto stores alarms and dashboards but evaluates neither metric math nor Metrics Insights
(a new alarm simply reads OK there), so what each alarm computes is tested on its request
in tests/unit/test_alarms.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from edgesense.config import Settings
from edgesense.tasks.ops import HOSTS_KEY, put_alarms, put_dashboards, refresh_hosts
from helpers import STORE
from tests.e2e.test_ingest_dag import assert_all_succeeded, run_window, upload_generated

pytestmark = pytest.mark.e2e

HOSTS = ("www.example.abc", "api.example.abc")
TOPIC = "edgesense-test-alarms"


@pytest.fixture
def ingested(catalog, monkeypatch):
    """Two hosts' traffic of the last minutes, through the real ingest DAG."""
    arn = boto3.client("sns").create_topic(Name=TOPIC)["TopicArn"]
    monkeypatch.setenv("EDGESENSE_ALERT_TOPIC_ARN", arn)
    event = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    starts, ends = [], []
    for i, host in enumerate(HOSTS):
        t0, t1, _ = upload_generated(
            catalog, event, minutes=2, lines_per_minute=200 * (i + 1), host=host, seed=i
        )
        starts.append(t0)
        ends.append(t1)
    assert_all_succeeded(run_window(min(starts), max(ends)))
    return arn


def managed_alarms(cw) -> dict[str, dict]:
    return {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="edgesense-test-")["MetricAlarms"]}


def test_the_ops_dag_gives_every_counted_host_its_alarms_and_puts_both_dashboards(ingested, aws):
    from edgesense_ops import dag_object

    assert_all_succeeded(dag_object.test())

    alarms = managed_alarms(aws.cw)
    assert set(alarms) == {
        "edgesense-test-pipeline-stopped", "edgesense-test-reject-ratio", "edgesense-test-ingest-lag",
        *(f"edgesense-test-{kind}-{h}" for h in HOSTS for kind in ("5xx-rate", "anomaly")),
    }  # fmt: skip
    assert {tuple(a["AlarmActions"]) for a in alarms.values()} == {(ingested,)}
    rate = alarms["edgesense-test-5xx-rate-api.example.abc"]
    assert {m["Id"] for m in rate["Metrics"]} == {"errors", "requests", "result"}

    dashboards = {
        d["DashboardName"]
        for d in aws.cw.list_dashboards(DashboardNamePrefix="edgesense-test-")["DashboardEntries"]
    }
    assert dashboards == {"edgesense-test-traffic", "edgesense-test-pipeline"}
    body = json.loads(aws.cw.get_dashboard(DashboardName="edgesense-test-traffic")["DashboardBody"])
    rate_widget = next(w for w in body["widgets"] if w["properties"]["title"].startswith("5XX rate"))
    drawn = [m[3] for m in rate_widget["properties"]["metrics"] if not isinstance(m[0], dict)]
    # Busiest first: api.example.abc sent twice the requests of www.example.abc.
    assert drawn == ["api.example.abc", "api.example.abc", "www.example.abc", "www.example.abc"]

    registry = json.loads(aws.s3.get_object(Bucket=STORE, Key=HOSTS_KEY)["Body"].read())
    assert set(registry["hosts"]) == set(HOSTS)


def test_a_second_run_writes_nothing_and_a_host_quiet_past_the_quiet_period_loses_its_alarms(ingested, aws):
    settings = Settings.from_env()
    hosts = refresh_hosts(settings)
    assert hosts == ["api.example.abc", "www.example.abc"]
    first = put_alarms(settings, hosts)
    assert len(first.created) == 7
    assert set(put_dashboards(settings, hosts).values()) == {"created"}
    # A user's alarm that shares the prefix, without the marker: never ours to touch.
    aws.cw.put_metric_alarm(AlarmName="edgesense-test-anomaly-mine", MetricName="x", Namespace="y",
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")  # fmt: skip

    again = put_alarms(settings, refresh_hosts(settings))
    assert (again.created, again.updated, again.deleted, len(again.unchanged)) == ([], [], [], 7)
    assert set(put_dashboards(settings, hosts).values()) == {"unchanged"}

    # A day later nothing more came in: within the quiet period the hosts stay ...
    later = datetime.now(UTC) + timedelta(hours=settings.host_quiet_hours - 1)
    assert refresh_hosts(settings, now=later) == hosts
    # ... past it they go, with their alarms; the pipeline's alarms and the user's stay.
    gone = put_alarms(settings, refresh_hosts(settings, now=later + timedelta(hours=2)))
    assert gone.deleted == sorted(f"edgesense-test-{k}-{h}" for h in HOSTS for k in ("5xx-rate", "anomaly"))
    assert set(managed_alarms(aws.cw)) == {
        "edgesense-test-pipeline-stopped", "edgesense-test-reject-ratio", "edgesense-test-ingest-lag",
        "edgesense-test-anomaly-mine",
    }  # fmt: skip


def test_a_changed_threshold_updates_only_the_alarms_it_governs(ingested, aws, monkeypatch):
    hosts = refresh_hosts(Settings.from_env())
    put_alarms(Settings.from_env(), hosts)
    monkeypatch.setenv("EDGESENSE_ALARM_ERROR_RATE_PERCENT", "2")

    changed = put_alarms(Settings.from_env(), hosts)
    assert changed.updated == [f"edgesense-test-5xx-rate-{h}" for h in sorted(HOSTS)]
    assert managed_alarms(aws.cw)["edgesense-test-5xx-rate-api.example.abc"]["Threshold"] == 2.0


def test_an_alarm_of_someone_else_under_a_wanted_name_is_never_overwritten(ingested, aws):
    settings = Settings.from_env()
    hosts = refresh_hosts(settings)
    mine = "edgesense-test-5xx-rate-www.example.abc"
    aws.cw.put_metric_alarm(AlarmName=mine, MetricName="x", Namespace="y", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip

    result = put_alarms(settings, hosts)
    assert result.taken == [mine]
    assert mine not in result.created
    assert managed_alarms(aws.cw)[mine]["MetricName"] == "x"
    assert put_alarms(settings, hosts).deleted == []

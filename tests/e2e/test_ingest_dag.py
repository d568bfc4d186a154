"""The ingest DAG end to end: real Airflow (``dag.test()``), a real moto_server process, real DuckDB.

Objects get their LastModified from moto at upload time, so each test uploads first and
then runs a manual window (``window_start``/``window_end`` params) around the uploads.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from botocore.exceptions import ClientError

from edgesense.generate import generate
from helpers import STORE, airflow_major, archive_recent

NS = "edgesense/test"
HOST = "www.example.abc"
STATUSES = (200, 301, 401, 404, 500, 503)
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures"

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGESENSE_RETRY_DELAY_SECONDS", "0")


def whole_seconds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The smallest whole-second window around [start, end): the same objects (LastModified has whole seconds)."""
    ceil = end.replace(microsecond=0) + (timedelta(seconds=1) if end.microsecond else timedelta(0))
    return start.replace(microsecond=0), ceil


def run_window(start: datetime, end: datetime, **conf):
    from edgesense_ingest import dag_object

    start, end = whole_seconds(start, end)
    # Every param is given: dag.test() in one process can carry a previous run's conf over.
    run_conf = {
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "prefix": None,
        "reprocess": False,
        **conf,
    }
    return dag_object.test(run_conf=run_conf)


def run_scheduled_minute(start: datetime):
    """The run of the interval [start, start + 1 min), as the scheduler makes it: its data
    interval is the minute that ends at its logical date."""
    from edgesense_ingest import dag_object

    when = {"logical_date" if airflow_major() >= 3 else "execution_date": start + timedelta(minutes=1)}
    return dag_object.test(**when, run_conf={"window_start": None, "window_end": None, "prefix": None,
                                             "reprocess": False})  # fmt: skip


def assert_all_succeeded(dr) -> None:
    assert dr.state == "success"
    assert set(states(dr).values()) == {"success"}, states(dr)


def states(dr) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def upload_generated(aws, event_start: datetime, **kw) -> tuple[datetime, datetime, int]:
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    total = 0
    for f in generate(start=event_start, **kw):
        aws.put_log(f.key, f.body)
        total += f.lines
    return t0, datetime.now(UTC) + timedelta(seconds=1), total


def total_requests(aws, start: datetime, end: datetime, ns: str = NS) -> float:
    return sum(
        aws.metric_sum(ns, "ResponseCountTotal", {"Host": HOST, "ResponseCode": str(s)}, start, end)
        for s in STATUSES
    )


def read_parquet(aws, table: str, tmp_path: Path) -> list[dict]:
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix=f"{table}/").get("Contents", [])]
    local = tmp_path / table
    for k in keys:
        target = local / k
        target.parent.mkdir(parents=True, exist_ok=True)
        aws.s3.download_file(STORE, k, str(target))
    if not keys:
        return []
    cur = duckdb.connect().execute(
        "SELECT * FROM read_parquet($p, hive_partitioning = true)", {"p": str(local / "**" / "*.parquet")}
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_a_window_of_logs_lands_in_cloudwatch_parquet_and_glue(catalog, tmp_path):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=4)
    t0, t1, total = upload_generated(aws, event_start, minutes=3, lines_per_minute=300, ds1_files=1)

    dr = run_window(t0, t1)

    assert dr.state == "success", states(dr)
    assert total_requests(aws, event_start, t1) == total
    # The family metrics partition the same requests by URL pattern (404 is also in 4XX).
    families = sum(
        aws.metric_sum(NS, name, {"Host": HOST, "UrlPatternId": p}, event_start, t1)
        for name in ("Response_2XX", "Response_3XX", "Response_4XX", "Response_5XX")
        for p in ("Product", "Category", "Productbrand", "Api", "Unmatched")
    )
    assert families == total
    archive_recent()  # edgesense_archive's task bodies: requests/ is the archive's
    rows = read_parquet(aws, "requests", tmp_path)
    assert len(rows) == total
    assert {r["url_pattern"] for r in rows} == {"Product", "Category", "Productbrand", "Api", "Unmatched"}
    assert {r["source_format"] for r in rows} == {"ds2_json", "ds1_raw"}
    mm = read_parquet(aws, "minute_metrics", tmp_path)
    assert sum(r["requests"] for r in mm) == total
    assert len({r["rules_version"] for r in mm}) == 1
    expected = {(f"{event_start:%Y-%m-%d}", f"{(event_start + timedelta(minutes=m)):%H}") for m in range(3)}
    for table in ("requests", "minute_metrics"):
        parts = aws.glue.get_partitions(DatabaseName="edgesense_test", TableName=table)["Partitions"]
        assert {tuple(p["Values"]) for p in parts} == expected
    lines = aws.metric_sum(
        f"{NS}/pipeline", "LinesProcessed", {}, t0 - timedelta(minutes=2), t1 + timedelta(minutes=2)
    )
    assert lines == total


def test_running_the_same_window_three_times_never_changes_the_sums(catalog):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=2, lines_per_minute=200)

    for _ in range(3):
        assert_all_succeeded(run_window(t0, t1))

    assert total_requests(aws, event_start, t1) == total
    plans = aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/plans/")["KeyCount"]
    assert plans == 1


def test_a_publish_that_fails_after_its_first_call_is_retried_without_double_counting(catalog, monkeypatch):
    """The failure is injected (CloudWatch itself cannot be made to fail this way on demand):
    the second call cannot connect, so it certainly did not reach CloudWatch and is retried."""
    from botocore.exceptions import EndpointConnectionError

    from edgesense.aws.publish import Publisher

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=2, lines_per_minute=200)
    real_put = Publisher._put
    calls = {"n": 0}

    def flaky_put(self, call):
        calls["n"] += 1
        if calls["n"] == 2:
            raise EndpointConnectionError(endpoint_url="https://monitoring.us-east-1.amazonaws.com")
        return real_put(self, call)

    monkeypatch.setattr(Publisher, "_put", flaky_put)
    dr = run_window(t0, t1)

    assert dr.state == "success"
    publish = next(ti for ti in dr.get_task_instances() if ti.task_id == "publish_metrics")
    assert publish.try_number == 2  # failed once, then the retry finished the plan
    assert total_requests(aws, event_start, t1) == total
    assert (
        aws.metric_sum(
            f"{NS}/pipeline", "LinesProcessed", {}, t0 - timedelta(minutes=2), t1 + timedelta(minutes=2)
        )
        == total
    )


def test_a_call_whose_response_was_lost_is_never_sent_again(catalog, monkeypatch):
    """The worst case: CloudWatch applied the call but the reply never came back (injected
    read timeout after the real call). The retry must not send it again."""
    from botocore.exceptions import ReadTimeoutError

    from edgesense.aws.publish import Publisher

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=2, lines_per_minute=200)
    real_put = Publisher._put
    calls = {"n": 0}

    def put_then_lose_reply(self, call):
        calls["n"] += 1
        real_put(self, call)
        if calls["n"] == 1:
            raise ReadTimeoutError(endpoint_url="https://monitoring.us-east-1.amazonaws.com")

    monkeypatch.setattr(Publisher, "_put", put_then_lose_reply)
    dr = run_window(t0, t1)

    assert dr.state == "success"
    assert total_requests(aws, event_start, t1) == total  # applied once, not twice
    ledger = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/ledger/")["Contents"]]
    assert sum(k.endswith(".intent") for k in ledger) == 2
    assert sum(k.endswith(".done") for k in ledger) == 1  # the first call stays "ambiguous"


def test_throttling_on_some_calls_is_backed_off_and_sums_stay_exact(catalog, monkeypatch):
    """Throttling is injected in front of the real client: moto never throttles."""
    from edgesense.aws.clients import AwsClients

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=2, lines_per_minute=200)
    original = AwsClients.cloudwatch.func
    throttled = {"n": 0}

    class ThrottlingClient:
        def __init__(self, real):
            self.real = real
            self.calls = 0

        def put_metric_data(self, **kw):
            self.calls += 1
            if self.calls % 2 == 1:
                throttled["n"] += 1
                raise ClientError(
                    {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricData"
                )
            return self.real.put_metric_data(**kw)

    monkeypatch.setattr(AwsClients, "cloudwatch", property(lambda self: ThrottlingClient(original(self))))
    dr = run_window(t0, t1)

    assert dr.state == "success"
    assert throttled["n"] >= 2
    assert total_requests(aws, event_start, t1) == total


def test_a_late_file_adds_to_its_own_event_minute(catalog, tmp_path):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    t0, t1, first = upload_generated(aws, event_start, minutes=1, lines_per_minute=100, seed=1)
    assert_all_succeeded(run_window(t0, t1))
    # Minutes later, a straggler for the same event minute arrives in a later interval.
    t2, t3, late = upload_generated(aws, event_start, minutes=1, lines_per_minute=40, seed=2)
    assert_all_succeeded(run_window(t2, t3))

    minute_end = event_start + timedelta(minutes=1) - timedelta(seconds=1)
    assert total_requests(aws, event_start, minute_end) == first + late
    mm = read_parquet(aws, "minute_metrics", tmp_path)
    assert {r["minute"] for r in mm} == {event_start.replace(tzinfo=None)}
    assert sum(r["requests"] for r in mm) == first + late
    assert len({r["batch_id"] for r in mm}) == 2


def test_a_scheduled_run_owns_the_objects_of_its_data_interval(catalog):
    """No window params: the run's own (pendulum) data interval decides, as under the scheduler."""

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    _, _, total = upload_generated(aws, event_start, minutes=1, lines_per_minute=100)
    uploaded = datetime.now(UTC)
    interval_start = uploaded.replace(second=0, microsecond=0)
    if uploaded.second >= 58:  # the uploads may straddle a minute boundary
        time.sleep(3)
        interval_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    wait = (interval_start + timedelta(minutes=1) - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, wait) + 0.5)  # the interval must be over (settle delay is 0 in tests)

    dr = run_scheduled_minute(interval_start)

    assert_all_succeeded(dr)
    assert dr.data_interval_start == interval_start
    assert dr.data_interval_end - dr.data_interval_start == timedelta(minutes=1)
    assert total_requests(aws, event_start, uploaded) == total


def test_an_interval_with_no_objects_succeeds_and_skips_the_rest(catalog):
    aws = catalog
    now = datetime.now(UTC)
    dr = run_window(now - timedelta(minutes=2), now - timedelta(minutes=1))

    assert dr.state == "success"
    st = states(dr)
    assert st["wait_for_batch"] == "success"
    assert st["aggregate_batch"] == st["publish_metrics"] == st["add_partitions"] == "skipped"
    assert aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/plans/")["KeyCount"] == 0


def test_bad_lines_and_a_corrupt_object_are_rejected_counted_and_kept_aside(catalog):
    aws = catalog
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    sample = (REFERENCE / "ds2_akamai_docs_sample.json").read_text().strip()
    # 20 days old: inside the accepted event-time spread (30 days), outside CloudWatch's 14.
    old = f"{(datetime.now(UTC) - timedelta(days=20)).timestamp():.0f}"
    good = [{**json.loads(sample), "reqTimeSec": old} for _ in range(100)]
    lines = [json.dumps(g) for g in good]
    lines += ["not json", '{"reqTimeSec":"x","statusCode":"200","reqHost":"h"}', '{"reqTimeSec":"1573840000"']
    body = ("\n".join(lines) + "\n\n").encode() + b"\xff\xfe not utf-8\n"
    aws.put_log("logs/mixed/ak-1-1-1-ds.gz", gzip.compress(body))
    # A truncated upload (its complete lines are kept) and an object that is not gzip at all.
    truncated = next(
        generate(start=datetime.now(UTC), minutes=1, lines_per_minute=3000, files_per_minute=1)
    ).body
    aws.put_log("logs/mixed/ak-2-2-2-ds.gz", truncated[: len(truncated) * 6 // 10])
    aws.put_log("logs/mixed/ak-3-3-3-ds.gz", b"\x1f\x8b" + os.urandom(2000))
    t1 = datetime.now(UTC) + timedelta(seconds=1)

    dr = run_window(t0, t1, prefix="logs/mixed/")

    assert_all_succeeded(dr)
    rejects = aws.s3.list_objects_v2(Bucket=STORE, Prefix="rejects/")["Contents"]
    sampled = [
        json.loads(x)
        for x in gzip.decompress(
            aws.s3.get_object(Bucket=STORE, Key=rejects[0]["Key"])["Body"].read()
        ).splitlines()
    ]
    reasons = {(s["object_key"], s["reject_reason"]) for s in sampled}
    assert reasons == {
        ("logs/mixed/ak-1-1-1-ds.gz", "not valid JSON (malformed or truncated)"),
        ("logs/mixed/ak-1-1-1-ds.gz", "non-numeric or out-of-range time"),
        ("logs/mixed/ak-1-1-1-ds.gz", "not UTF-8 text"),
        ("logs/mixed/ak-2-2-2-ds.gz", "incomplete line at the end of a corrupt gzip stream"),
    }
    quarantined = aws.s3.list_objects_v2(Bucket=STORE, Prefix="quarantine/")["Contents"]
    assert [q["Key"] for q in quarantined] == ["quarantine/logs/mixed/ak-2-2-2-ds.gz",
                                               "quarantine/logs/mixed/ak-3-3-3-ds.gz"]  # fmt: skip
    window = (t0 - timedelta(minutes=2), t1 + timedelta(minutes=2))
    assert aws.metric_sum(f"{NS}/pipeline", "LinesRejected", {}, *window) == 5
    assert aws.metric_sum(f"{NS}/pipeline", "FilesRejected", {}, *window) == 2
    salvaged = aws.metric_sum(f"{NS}/pipeline", "LinesProcessed", {}, *window) - 100
    assert 1000 < salvaged < 3000
    # The sample lines are 20 days old: outside CloudWatch's 14 days, so Parquet only.
    assert aws.metric_sum(f"{NS}/pipeline", "DatumsOutOfWindow", {}, *window) > 0


def test_a_batch_over_the_reject_threshold_fails_naming_the_file_and_reason(catalog, monkeypatch):
    aws = catalog
    monkeypatch.setenv("EDGESENSE_REJECT_THRESHOLD", "0.05")
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    aws.put_log("logs/bad/ak-9-9-9-ds.gz", gzip.compress(b"garbage\n" * 10))
    t1 = datetime.now(UTC) + timedelta(seconds=1)

    dr = run_window(t0, t1, prefix="logs/bad/")

    assert dr.state == "failed"
    agg = next(ti for ti in dr.get_task_instances() if ti.task_id == "aggregate_batch")
    assert agg.state == "failed"
    assert agg.try_number == 1  # bad input is not retried
    assert aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/plans/")["KeyCount"] == 0


def test_an_overlapping_window_only_takes_the_objects_no_other_batch_has(catalog):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, _, first = upload_generated(aws, event_start, minutes=1, lines_per_minute=100, seed=3)
    # S3 LastModified has whole seconds: start the second upload in a later second.
    boundary = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    time.sleep((boundary - datetime.now(UTC)).total_seconds() + 0.05)
    _, t1, second = upload_generated(aws, event_start, minutes=1, lines_per_minute=60, seed=4)
    assert_all_succeeded(run_window(t0, boundary))

    # A wider window (say, a backfill over the same minutes) covers both uploads.
    assert_all_succeeded(run_window(t0 - timedelta(minutes=1), t1))

    assert total_requests(aws, event_start, t1) == first + second
    manifests = aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/manifests/")["KeyCount"]
    assert manifests == 2


def test_the_original_metric_shape_keeps_namespace_and_all_three_dimensions(catalog, monkeypatch):
    aws = catalog
    monkeypatch.setenv("EDGESENSE_METRICS_SHAPE", "original")
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=1, lines_per_minute=100)

    assert_all_succeeded(run_window(t0, t1))

    ns = "edgesense-test/totals"
    got = sum(
        aws.metric_sum(ns, "ResponseCountTotal", {"ResponseCode": str(s), "Host": HOST, "UrlPatternId": "undefined"},
                       event_start, t1)
        for s in STATUSES
    )  # fmt: skip
    assert got == total
    metrics = aws.cw.list_metrics(Namespace=ns)["Metrics"]
    assert metrics
    assert all(
        {d["Name"] for d in m["Dimensions"]} == {"ResponseCode", "Host", "UrlPatternId"} for m in metrics
    )
    assert {m["MetricName"] for m in metrics} <= {"ResponseCountTotal", "Response_2XX", "Response_3XX",
                                                  "Response_4XX", "Response_404", "Response_5XX"}  # fmt: skip


def test_the_setup_dag_is_safe_to_run_twice(catalog):
    from edgesense_setup import dag_object

    aws = catalog
    assert dag_object.test().state == "success"
    assert aws.ddb.scan(TableName="es-rules", Select="COUNT")["Count"] == 5
    tables = {t["Name"] for t in aws.glue.get_tables(DatabaseName="edgesense_test")["TableList"]}
    assert tables == {"requests", "minute_metrics", "unmatched_paths"}


def test_reprocess_rebuilds_parquet_in_place_and_never_resends_to_cloudwatch(catalog, tmp_path):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=1, lines_per_minute=100)
    assert_all_succeeded(run_window(t0, t1))
    archive_recent()
    before = sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="requests/")["Contents"])
    mm_before = sorted(
        o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="minute_metrics/")["Contents"]
    )

    assert_all_succeeded(run_window(t0, t1, reprocess=True))
    assert archive_recent(reprocess=True)["rows"] == total

    assert (
        sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="minute_metrics/")["Contents"])
        == mm_before
    )
    after = sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="requests/")["Contents"])
    assert after == before
    assert len(read_parquet(aws, "requests", tmp_path)) == total
    assert total_requests(aws, event_start, t1) == total


def test_an_unreachable_rules_table_falls_back_to_the_last_snapshot(catalog, monkeypatch, tmp_path):
    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, _ = upload_generated(aws, event_start, minutes=1, lines_per_minute=50, seed=5)
    assert_all_succeeded(run_window(t0, t1))
    aws.ddb.delete_table(TableName="es-rules")  # DynamoDB now answers ResourceNotFoundException
    t2, t3, _ = upload_generated(aws, event_start, minutes=1, lines_per_minute=50, seed=6)

    dr = run_window(t2, t3)

    assert_all_succeeded(dr)
    mm = read_parquet(aws, "minute_metrics", tmp_path)
    assert len({r["rules_version"] for r in mm}) == 1
    assert {r["url_pattern"] for r in mm} >= {"Product", "Api"}
    window = (t2 - timedelta(minutes=2), t3 + timedelta(minutes=2))
    assert aws.metric_sum(f"{NS}/pipeline", "RulesSnapshotFallback", {}, *window) == 1


def test_the_cardinality_budget_rolls_the_tail_into_other_in_cloudwatch_only(catalog, monkeypatch, tmp_path):
    aws = catalog
    monkeypatch.setenv("EDGESENSE_MAX_PATTERNS_PER_HOST", "2")
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    ts = f"{minute.timestamp() + 5:.3f}"
    volumes = {"/json/a": 50, "/x_product_1": 30, "/y_index_c1.html": 15, "/productbrand_1.html": 5}
    lines = [json.dumps({"reqTimeSec": ts, "statusCode": "200", "reqHost": HOST, "reqPath": p})
             for p, n in volumes.items() for _ in range(n)]  # fmt: skip
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    aws.put_log("logs/budget/ak-1-1-1-ds.gz", gzip.compress("\n".join(lines).encode()))
    t1 = datetime.now(UTC) + timedelta(seconds=1)

    assert_all_succeeded(run_window(t0, t1, prefix="logs/budget/"))

    def family(pattern: str) -> float:
        return aws.metric_sum(NS, "Response_2XX", {"Host": HOST, "UrlPatternId": pattern}, minute, t1)

    assert (family("Api"), family("Product"), family("Other")) == (50, 30, 20)
    assert family("Category") == family("Productbrand") == 0
    mm = read_parquet(aws, "minute_metrics", tmp_path)
    assert {r["url_pattern"]: r["requests"] for r in mm} == {"Api": 50, "Product": 30, "Category": 15,
                                                            "Productbrand": 5}  # fmt: skip
    window = (t0 - timedelta(minutes=2), t1 + timedelta(minutes=2))
    assert aws.metric_sum(f"{NS}/pipeline", "PatternsOverBudget", {}, *window) == 2


def test_a_rule_changed_in_dynamodb_takes_effect_on_the_next_run(catalog):
    aws = catalog
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    line = json.dumps({"reqTimeSec": f"{minute.timestamp() + 1:.0f}", "statusCode": "200", "reqHost": HOST,
                       "reqPath": "/json/checkout/api.js"})  # fmt: skip
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    aws.put_log("logs/rc/ak-1-1-1-ds.gz", gzip.compress((line + "\n").encode() * 10))
    t1 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    assert_all_succeeded(run_window(t0, t1, prefix="logs/rc/"))
    aws.ddb.put_item(TableName="es-rules", Item={"Id": {"S": "Checkout"}, "Regex": {"S": "/checkout/"},
                                                 "Rank": {"N": "0"}})  # fmt: skip
    time.sleep(max(0.0, (t1 - datetime.now(UTC)).total_seconds()) + 0.1)
    aws.put_log("logs/rc/ak-2-2-2-ds.gz", gzip.compress((line + "\n").encode() * 7))
    t2 = datetime.now(UTC) + timedelta(seconds=1)

    assert_all_succeeded(run_window(t1, t2, prefix="logs/rc/"))

    dims = {"Host": HOST}
    assert aws.metric_sum(NS, "Response_2XX", {**dims, "UrlPatternId": "Api"}, minute, t2) == 10
    assert aws.metric_sum(NS, "Response_2XX", {**dims, "UrlPatternId": "Checkout"}, minute, t2) == 7


def test_relabelling_history_rewrites_minute_metrics_and_never_touches_cloudwatch(catalog, tmp_path):
    from edgesense_relabel import dag_object as relabel

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    t0, t1, total = upload_generated(aws, event_start, minutes=1, lines_per_minute=200)
    assert_all_succeeded(run_window(t0, t1))
    archive_recent()  # relabel reads requests/, the archive's
    # A later batch of the same day, not archived yet: relabel must leave its minute_metrics alone.
    u0, u1, late = upload_generated(aws, event_start, minutes=1, lines_per_minute=40, seed=99)
    assert_all_succeeded(run_window(u0, u1))
    before_api = aws.metric_sum(NS, "Response_2XX", {"Host": HOST, "UrlPatternId": "Api"}, event_start, u1)
    keys_before = sorted(
        o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="minute_metrics/")["Contents"]
    )
    aws.ddb.put_item(TableName="es-rules", Item={"Id": {"S": "Checkout"}, "Regex": {"S": "/checkout/"},
                                                 "Rank": {"N": "0"}})  # fmt: skip
    day = f"{event_start:%Y-%m-%d}"

    for _ in range(2):  # twice: the same files
        assert_all_succeeded(relabel.test(run_conf={"first_day": day, "last_day": day}))

    every = read_parquet(aws, "minute_metrics", tmp_path)
    [late_batch] = {r["batch_id"] for r in every} - {
        r["batch_id"] for r in read_parquet(aws, "requests", tmp_path / "r")
    }
    mm = [r for r in every if r["batch_id"] != late_batch]
    patterns = {r["url_pattern"] for r in mm}
    assert "Checkout" in patterns
    assert "Api" not in patterns  # every /json/ path in the generator is /json/checkout/api.js
    assert sum(r["requests"] for r in mm) == total
    assert len({r["rules_version"] for r in mm}) == 1
    assert sum(r["requests"] for r in every if r["batch_id"] == late_batch) == late  # as ingest wrote it
    keys_after = sorted(
        o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix="minute_metrics/")["Contents"]
    )
    assert keys_after == keys_before
    assert (
        aws.metric_sum(NS, "Response_2XX", {"Host": HOST, "UrlPatternId": "Api"}, event_start, u1)
        == before_api
    )
    assert (
        aws.metric_sum(NS, "Response_2XX", {"Host": HOST, "UrlPatternId": "Checkout"}, event_start, t1) == 0
    )


def test_the_same_input_as_one_shard_and_as_three_gives_identical_sums_and_minute_metrics(
    catalog, moto, monkeypatch, tmp_path
):
    """Shards are batches, each aggregated and published on its own (mapped tasks on Airflow 3);
    the partials add up exactly."""
    from localaws import create_resources

    from edgesense_setup import dag_object as setup_dag
    from helpers import INGEST, TABLE

    aws = catalog
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    files = list(generate(start=event_start, minutes=2, lines_per_minute=600, files_per_minute=3, seed=21))
    statuses = [{"Host": HOST, "ResponseCode": str(s)} for s in STATUSES]
    keys = ("minute", "host", "url_pattern", "status")

    def run_as(shard_mb: float, out: Path) -> tuple[int, dict, dict, dict]:
        monkeypatch.setenv("EDGESENSE_SHARD_MB", str(shard_mb))
        t0 = datetime.now(UTC) - timedelta(seconds=1)
        for f in files:
            aws.put_log(f.key, f.body)
        dr = run_window(t0, datetime.now(UTC) + timedelta(seconds=1))
        assert_all_succeeded(dr)
        tasks = sum(1 for ti in dr.get_task_instances() if ti.task_id == "aggregate_batch")
        plans = aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/plans/")["KeyCount"]
        minute_metrics: dict[tuple, dict] = {}
        for row in read_parquet(aws, "minute_metrics", out):
            acc = minute_metrics.setdefault(tuple(row[k] for k in keys), {})
            for col in (
                "requests",
                "bytes",
                "turnaround_ms_sum",
                "turnaround_count",
                "transfer_ms_sum",
                "cache_hits",
            ):
                acc[col] = acc.get(col, 0) + row[col]
        end = event_start + timedelta(minutes=2)
        return (
            (plans, tasks),
            aws.per_minute(NS, "ResponseCountTotal", statuses, event_start, end),
            aws.per_minute(NS, "TurnAroundTime", [{"Host": HOST}], event_start, end),
            minute_metrics,
        )

    one = run_as(1000, tmp_path / "one")
    moto.reset()  # a fresh account: the same objects are new again
    create_resources(moto.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE)
    assert setup_dag.test().state == "success"
    three = run_as(2 * max(len(f.body) for f in files) / 2**20, tmp_path / "three")

    # A batch (and its plan) per shard; a mapped task per shard on Airflow 3, one task on 2.11.
    mapped = airflow_major() >= 3
    assert one[0] == (1, 1)
    assert three[0] == (3, 3 if mapped else 1)
    assert one[1] == three[1]
    assert sum(one[1].values()) == sum(f.lines for f in files)
    assert one[2] == three[2]
    assert one[3] == three[3]

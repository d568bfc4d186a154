"""Workers killed mid-claim and mid-publish, and three runs of overlapping intervals at once.

Each worker here is a real process (``python`` or ``airflow dags test``) against the
session's moto_server. Killing one at an exact point needs a hook inside it: a wrapper
around botocore's request method that sends the process SIGKILL just before a chosen
call. Nothing else is simulated.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edgesense.aws.sources import Interval
from edgesense.config import Settings
from edgesense.tasks.aggregate import aggregate_batches
from edgesense.tasks.ingest import claim_batches, publish_batches, sync_rules
from helpers import STORE, TABLE
from tests.e2e.test_exactly_once import next_second
from tests.e2e.test_ingest_dag import HOST, NS, STATUSES, run_window, total_requests

pytestmark = pytest.mark.e2e

#: Runs in a child process: kill ourselves just before the Nth call of one AWS operation.
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import botocore.client

    operation, nth, key_part = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seen = {"n": 0}
    real = botocore.client.BaseClient._make_api_call

    def call(self, name, params):
        if name == operation and key_part in str(params.get("Key", "")):
            seen["n"] += 1
            if seen["n"] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(self, name, params)

    botocore.client.BaseClient._make_api_call = call
    exec(sys.stdin.read())
    """
)


def killed_at(operation: str, nth: int, key_part: str, script: str) -> None:
    """Run ``script`` in a child that is SIGKILLed before its ``nth`` ``operation`` call."""
    proc = subprocess.run([sys.executable, "-c", KILLER, operation, str(nth), key_part], input=script,
                          text=True, capture_output=True, timeout=300, env=os.environ.copy())  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


def finishes_within(seconds: float, fn, *args, **kwargs):
    """Run ``fn`` in a thread; fail if it has not returned in time (a liveness bound: the
    orphaned leases these tests are about made callers wait 300 s)."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} still waiting after {seconds:.0f} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def mixed(n: int, minute: datetime) -> bytes:
    """``n`` requests in one minute over every status and two URL patterns (Product, Api)."""
    rows = [json.dumps({"reqTimeSec": f"{minute.timestamp() + 2:.0f}", "statusCode": str(STATUSES[j % 6]),
                        "reqHost": HOST, "reqPath": "/json/x" if j % 2 else "/x_product_1"}) for j in range(n)]  # fmt: skip
    return gzip.compress(("\n".join(rows) + "\n").encode())


def lines_per_status(minutes: list[datetime]) -> bytes:
    rows = [json.dumps({"reqTimeSec": f"{m.timestamp() + 1:.0f}", "statusCode": str(s), "reqHost": HOST,
                        "reqPath": "/json/x", "bytes": "10", "turnAroundTimeMSec": "5"})
            for m in minutes for s in STATUSES]  # fmt: skip
    return gzip.compress(("\n".join(rows) + "\n").encode())


def test_a_claim_killed_midway_holds_up_no_other_claim_and_its_retry_resumes_it(catalog):
    """Before: the dead worker's global claim lease made every other claim wait its 5-minute TTL."""
    aws = catalog
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    a = aws.put_log("logs/kill/a/ak-1-1-1-ds.gz", lines_per_status([minute]))
    next_second()
    b = aws.put_log("logs/kill/b/ak-2-2-2-ds.gz", lines_per_status([minute]))
    ia, ib = Interval(a, a + timedelta(seconds=1)), Interval(b, b + timedelta(seconds=1))
    assert not ia.overlaps(ib)
    s = Settings.from_env()

    # Killed after its manifest is written (the first PutObject of the claim after the
    # manifest is the next state record), before the claim is complete.
    killed_at("PutObject", 2, "_edgesense/", f"""
from datetime import datetime
from edgesense.config import Settings
from edgesense.aws.sources import Interval
from edgesense.tasks.ingest import claim_batches
i = Interval(datetime.fromisoformat({ia.start.isoformat()!r}), datetime.fromisoformat({ia.end.isoformat()!r}))
claim_batches(Settings.from_env(), i, prefix="logs/kill/a/", now=i.end)
""")  # fmt: skip
    manifests = aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/manifests/")["KeyCount"]
    assert manifests == 1

    other = finishes_within(60, claim_batches, s, ib, prefix="logs/kill/b/", now=ib.end)
    retry = finishes_within(60, claim_batches, s, ia, prefix="logs/kill/a/", now=ia.end)

    assert other["new_objects"] == 1
    assert (retry["new_objects"], len(retry["batches"])) == (0, 1)  # the dead claim's batch, resumed
    rules = sync_rules(s)
    for claimed in (other, retry):
        aggregate_batches(s, claimed["batches"], rules["key"])
        publish_batches(s, claimed["batches"])
    assert total_requests(aws, minute, b + timedelta(minutes=1)) == 2 * len(STATUSES)


def test_a_publisher_killed_mid_call_leaves_one_ambiguous_call_and_its_retry_goes_on_at_once(catalog, capsys):
    """Before: the dead publisher's lease made the retry wait 304-311 s. The batch spans 240
    minutes so that its plan has several calls; the kill lands between the second call's
    intent marker and the call itself. Prints what one ambiguous call cost (README)."""
    aws = catalog
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = [now - timedelta(minutes=5 + i) for i in range(240)]
    lm = aws.put_log("logs/pub/ak-1-1-1-ds.gz", lines_per_status(minutes))
    s = Settings.from_env()
    interval = Interval(lm, lm + timedelta(seconds=1))
    [bid] = claim_batches(s, interval, prefix="logs/pub/", now=interval.end)["batches"]
    summary = aggregate_batches(s, [bid], sync_rules(s)["key"])[bid]
    assert summary["calls"] >= 4

    killed_at("PutMetricData", 2, "", f"""
from edgesense.config import Settings
from edgesense.tasks.ingest import publish_batches
publish_batches(Settings.from_env(), [{bid!r}])
""")  # fmt: skip
    again = finishes_within(60, publish_batches, s, [bid])[bid]

    assert (again["calls_ambiguous"], again["calls_sent"]) == (1, summary["calls"] - 2)
    assert len(again["ambiguous"]) == 1
    total = len(minutes) * len(STATUSES)
    counted = total_requests(aws, min(minutes), max(minutes) + timedelta(seconds=59))
    # Missing, never doubled: exactly the requests the ambiguous call carried, and no more.
    plan = json.loads(gzip.decompress(aws.s3.get_object(Bucket=STORE, Key=f"_edgesense/plans/{bid}.json.gz")
                                      ["Body"].read()))  # fmt: skip
    done = {k["Key"].rsplit("/", 1)[-1] for k in aws.s3.list_objects_v2(
        Bucket=STORE, Prefix=f"_edgesense/ledger/{bid}/")["Contents"]}  # fmt: skip
    [lost] = [i for i in range(len(plan["calls"])) if f"call-{i:06d}.{plan['plan_hash']}.done" not in done]
    carried = sum(
        d["Value"] for d in plan["calls"][lost]["datums"] if d["MetricName"] == "ResponseCountTotal"
    )
    assert 0 < carried < total
    assert total - counted == carried
    with capsys.disabled():
        print(f"\n    one ambiguous call of {summary['calls']}: {total - counted:.0f} of {total} requests "
              f"({(total - counted) / total:.1%}) missing; {again['ambiguous'][0]}")  # fmt: skip


# -- three runs at once ---------------------------------------------------------------------


def counted(aws, first: datetime, last: datetime | None = None) -> float:
    """ResponseCountTotal of the minutes ``first`` to ``last`` over every status, in one call."""
    statuses = [{"Host": HOST, "ResponseCode": str(c)} for c in STATUSES]
    per_minute = aws.per_minute(NS, "ResponseCountTotal", statuses, first - timedelta(minutes=5),
                                (last or first) + timedelta(minutes=5))  # fmt: skip
    return sum(v for t, v in per_minute.items() if first <= t <= (last or first))


FAMILIES = ("Response_2XX", "Response_3XX", "Response_4XX", "Response_5XX")


def plans(aws) -> Iterator[dict]:
    for obj in aws.s3.list_objects_v2(Bucket=STORE, Prefix="_edgesense/plans/").get("Contents", []):
        yield json.loads(gzip.decompress(aws.s3.get_object(Bucket=STORE, Key=obj["Key"])["Body"].read()))


def sent_calls(aws) -> Iterator[tuple[str, dict]]:
    """(batch id, call) for every plan call whose ledger has a done marker of that plan."""
    for plan in plans(aws):
        bid = plan["batch_id"]
        done = {k["Key"] for k in aws.s3.list_objects_v2(Bucket=STORE, Prefix=f"_edgesense/ledger/{bid}/")
                .get("Contents", []) if k["Key"].endswith(".done")}  # fmt: skip
        for i, call in enumerate(plan["calls"]):
            if f"_edgesense/ledger/{bid}/call-{i:06d}.{plan['plan_hash']}.done" in done:
                yield bid, call


def sent_by_pattern(aws) -> dict[str, float]:
    """Per URL pattern, the requests (status-family datums) of every sent call."""
    out: dict[str, float] = {}
    for _, call in sent_calls(aws):
        for d in call["datums"]:
            dims = {x["Name"]: x["Value"] for x in d.get("Dimensions", [])}
            if d["MetricName"] in FAMILIES and "UrlPatternId" in dims:
                out[dims["UrlPatternId"]] = out.get(dims["UrlPatternId"], 0) + d["Value"]
    return out


def labels_follow_rules(aws) -> set[bool]:
    """Per plan: is /json/x labelled by the rules it read (Checkout if they have it, else Api)?"""
    from edgesense.aws.rules_store import Snapshots

    out = set()
    for plan in plans(aws):
        rules = Snapshots(aws.s3, STORE).load(plan["rules_key"])
        label = "Checkout" if any(r.id == "Checkout" for r in rules.rules) else "Api"
        labels = {x["Value"] for c in plan["calls"] for d in c["datums"] for x in d.get("Dimensions", [])
                  if x["Name"] == "UrlPatternId"}  # fmt: skip
        out.add(label in labels and ({"Api", "Checkout"} - {label}).isdisjoint(labels))
    return out


def sent_requests(aws, minute: datetime) -> dict[str, float]:
    """Per batch, the ResponseCountTotal it sent for ``minute`` (its sent calls)."""
    out: dict[str, float] = {}
    stamp = minute.strftime("%Y-%m-%dT%H:%M:%SZ")
    for bid, call in sent_calls(aws):
        n = sum(d["Value"] for d in call["datums"]
                if d["MetricName"] == "ResponseCountTotal" and d["Timestamp"] == stamp)  # fmt: skip
        if n:
            out[bid] = out.get(bid, 0) + n
    return out


def airflow_homes(tmp_path: Path, n: int) -> list[dict[str, str]]:
    """An environment per concurrent ``airflow dags test``, each with its own copy of the
    migrated SQLite database (SQLite cannot take three writers)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    out = []
    for i in range(n):
        h = tmp_path / f"home{i}"
        h.mkdir()
        shutil.copy(home / "airflow.db", h / "airflow.db")
        out.append({**os.environ, "AIRFLOW_HOME": str(h),
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{h}/airflow.db",
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})  # fmt: skip
    return out


def dags_test(env: dict[str, str], logical: datetime, conf: dict, log: Path) -> subprocess.Popen:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.Popen([str(airflow), "dags", "test", "edgesense_ingest", logical.isoformat(), "-c",
                             json.dumps(conf)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip


def test_two_overlapping_windows_and_the_scheduled_minute_at_once_count_every_request_once(
    catalog, tmp_path, airflow_db
):
    """Three real ``airflow dags test`` processes start together: the scheduled minute
    [M, M+1) and two windows, [M-30 s, M+1) and [M+20 s, M+90 s), that overlap it and each
    other, over six objects that landed in minute M. One more object, counted minutes
    earlier by a run of its own, is delivered again in minute M (same key and bytes, as
    after a lost upload acknowledgement). A rule that re-labels ``/json/x`` (``Api`` before,
    ``Checkout`` after) is added in DynamoDB after the first run has read the rules and
    before the other two do, so the runs label the same path differently. Before, the
    re-delivery was counted again: none of the three intervals overlaps the batch that had
    counted it."""
    aws = catalog
    event = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    earlier = event - timedelta(minutes=1)  # the early object's requests: their own minute
    early_key = f"logs/{datetime.now(UTC):%Y/%m/%d/%H}/ak-9-9-9-ds.gz"
    began = datetime.now(UTC)
    early = aws.put_log(early_key, mixed(25, earlier))
    assert run_window(early, early + timedelta(seconds=1)).state == "success"
    assert counted(aws, earlier) == 25
    [setup_batch] = sent_requests(aws, earlier)
    expected = 0
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    if minute - timedelta(seconds=30) <= early:  # the first window must not reach back to it
        minute += timedelta(minutes=1)
    time.sleep((minute - datetime.now(UTC)).total_seconds() + 0.5)
    for i in range(6):  # landing from M+0.5 s to M+30.5 s
        aws.put_log(f"logs/{minute:%Y/%m/%d/%H}/ak-{i}-{i}-{i}-ds.gz", mixed(40 + 10 * i, event))
        expected += 40 + 10 * i
        time.sleep(max(0.0, (minute + timedelta(seconds=6.5 + 6 * i) - datetime.now(UTC)).total_seconds()))
    again = aws.s3.get_object(Bucket="es-ingest", Key=early_key)["Body"].read()
    redelivered = aws.put_log(early_key, again)
    assert minute <= redelivered < minute + timedelta(seconds=60)
    time.sleep(max(0.0, (minute + timedelta(seconds=91) - datetime.now(UTC)).total_seconds()))

    homes = airflow_homes(tmp_path, 3)

    def window(start: datetime, end: datetime) -> dict:
        return {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "prefix": None,
            "reprocess": False,
        }

    nulls = {"window_start": None, "window_end": None, "prefix": None, "reprocess": False}
    runs = [dags_test(homes[0], minute + timedelta(minutes=1), nulls, tmp_path / "scheduled.log")]
    # The first run reads the rules right after it starts; change them before the others do.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "rules version" not in (tmp_path / "scheduled.log").read_text():
        time.sleep(0.2)
    aws.ddb.put_item(TableName=TABLE, Item={"Id": {"S": "Checkout"}, "Regex": {"S": "^/json/x$"},
                                            "Rank": {"N": "0"}})  # fmt: skip
    w1 = window(minute - timedelta(seconds=30), minute + timedelta(minutes=1))
    w2 = window(minute + timedelta(seconds=20), minute + timedelta(seconds=90))
    runs.append(dags_test(homes[1], minute + timedelta(minutes=7), w1, tmp_path / "w1.log"))
    runs.append(dags_test(homes[2], minute + timedelta(minutes=8), w2, tmp_path / "w2.log"))
    for proc, name in zip(runs, ("scheduled", "w1", "w2"), strict=True):
        assert proc.wait(timeout=400) == 0, (tmp_path / f"{name}.log").read_text()[-4000:]

    logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("scheduled", "w1", "w2")}
    assert "(5 rules" in logs["scheduled"]  # it read the rules before the change ...
    assert "(6 rules" in logs["w1"]  # ... the others after it
    assert "(6 rules" in logs["w2"]
    # Exact in CloudWatch over both minutes (a re-count of the re-delivery would add 25)...
    assert counted(aws, earlier, event) == 25 + expected, logs
    # ... and per minute and batch in what was sent: the plans' calls that the ledger marks
    # done. (GetMetricData on moto has now and then put one minute's datapoints in the next
    # minute's bucket, so the per-minute split is read from the ledger, not from moto.)
    assert sent_requests(aws, earlier) == {setup_batch: 25}
    assert sum(sent_requests(aws, event).values()) == expected
    # Per pattern: CloudWatch holds exactly what the sent plans carry, each plan labelled by
    # the rules it read; /json/x is Api in some and Checkout in others, never both for one request.
    per_pattern = {p: sum(aws.metric_sum(NS, name, {"Host": HOST, "UrlPatternId": p}, earlier,
                                         event + timedelta(seconds=59)) for name in FAMILIES)
                   for p in ("Product", "Api", "Checkout", "Unmatched")}  # fmt: skip
    by_plan = sent_by_pattern(aws)
    assert {p: n for p, n in per_pattern.items() if n} == by_plan, logs
    json_x = 12 + expected // 2  # odd j: 12 of the early object's 25, half of each other file
    assert per_pattern["Product"] == 25 + expected - json_x
    assert per_pattern["Api"] + per_pattern["Checkout"] == json_x
    assert per_pattern["Api"] >= 12  # the early batch read the old rules
    assert labels_follow_rules(aws) == {True}
    # Health datums carry the time they were computed, so the setup run's 25 may share a
    # minute with the others: sum every run's since the test began.
    lines = aws.metric_sum(
        f"{NS}/pipeline", "LinesProcessed", {}, began, datetime.now(UTC) + timedelta(minutes=1)
    )
    assert lines == 25 + expected

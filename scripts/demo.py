"""``make demo``: edgesense end to end on an embedded AWS, through Airflow itself.

1. start a real moto_server on 127.0.0.1 (pid file, health check);
2. point Airflow's ``aws_default`` connection at it (endpoint_url and service_config.sts);
3. create the buckets and the DynamoDB rules table; run ``edgesense_setup`` (Glue + sample rules);
4. generate a few minutes of DataStream 2 logs (and one DS1 raw file) into the ingest bucket;
5. run ``edgesense_ingest`` with ``airflow dags test`` over a window holding those uploads, and
   ``edgesense_archive`` for the hour that window's batch belongs to;
6. read the metrics back from CloudWatch (GetMetricData), list Glue partitions and Parquet;
7. run ``edgesense_ops`` and read back its dashboards and alarms, the anomaly scores, and a
   reconciliation of CloudWatch against ``minute_metrics`` for the demo's minutes;
8. stop what it started. Exits 1 if CloudWatch does not hold exactly the generated lines, or
   the reconciliation finds a minute that differs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "scripts")]

from demo_ops import alert_topic, read_back  # noqa: E402
from localaws import MotoServer, aws_env, create_resources, metric_queries  # noqa: E402

from edgesense.generate import generate  # noqa: E402

STAGE = "demo"
INGEST, STORE, TABLE, DATABASE = (
    "edgesense-demo-ingest",
    "edgesense-demo-store",
    "edgesense-demo-rules",
    "edgesense_demo",
)
NAMESPACE = f"edgesense/{STAGE}"
#: The settings naming the stack's resources (also what `edgesense local env` exports).
NAMES = {
    "EDGESENSE_STAGE": STAGE,
    "EDGESENSE_INGEST_BUCKET": INGEST,
    "EDGESENSE_STORE_BUCKET": STORE,
    "EDGESENSE_RULES_TABLE": TABLE,
    "EDGESENSE_GLUE_DATABASE": DATABASE,
}
HOST = "www.example.abc"
STATUSES = (200, 301, 401, 404, 500, 503)
MINUTES, LINES_PER_MINUTE, FILES_PER_MINUTE = 3, 2000, 3


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def airflow_env(endpoint: str, home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(aws_env(endpoint))
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            # `airflow standalone` starts its components as `airflow ...` from PATH.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),
            "EDGESENSE_SQL_DIR": str(ROOT / "include" / "sql"),
            **NAMES,
            # The demo's window ends as the uploads finish; nothing is still in flight.
            "EDGESENSE_SETTLE_SECONDS": "0",
        }
    )
    return env


def airflow(env: dict[str, str], *args: str) -> None:
    exe = Path(sys.executable).with_name("airflow")
    started = time.monotonic()
    res = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-6000:] + res.stderr[-6000:])
        raise SystemExit(f"`airflow {' '.join(args)}` failed with exit code {res.returncode}")
    print(f"    airflow {' '.join(args[:3])} ... ok ({time.monotonic() - started:.1f}s)")


def metric_sums(
    cw, name: str, dims: dict[str, str], start: datetime, end: datetime, stat: str = "Sum"
) -> dict:
    resp = cw.get_metric_data(
        MetricDataQueries=metric_queries(NAMESPACE, name, [dims], stat=stat), StartTime=start, EndTime=end
    )
    r = resp["MetricDataResults"][0]
    return {t.astimezone(UTC).strftime("%H:%M"): v for t, v in zip(r["Timestamps"], r["Values"], strict=True)}


def main() -> int:
    import boto3

    home = ROOT / ".airflow-demo"
    shutil.rmtree(home, ignore_errors=True)
    say("starting moto_server (the embedded AWS)")
    server = MotoServer(
        port=int(os.environ.get("EDGESENSE_DEMO_PORT", "0")) or None, run_dir=ROOT / ".run"
    ).start()
    try:
        record = server.publish(NAMES).relative_to(ROOT)
        print(
            f'    {server.endpoint} (while it runs, eval "$(.venv/bin/edgesense local env)" reads {record})'
        )
        env = airflow_env(server.endpoint, home)
        os.environ.update(aws_env(server.endpoint))
        env["EDGESENSE_ALERT_TOPIC_ARN"] = alert_topic(server.endpoint, STAGE)
        say("preparing Airflow (SQLite metadata DB, pool for CloudWatch publishing)")
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "edgesense_cloudwatch", "4", "CloudWatch PutMetricData budget")

        say("creating buckets and the rules table; running edgesense_setup (Glue tables, sample rules)")
        for line in create_resources(
            server.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE
        ):
            print(f"    {line}")
        airflow(env, "dags", "test", "edgesense_setup")

        say(f"generating {MINUTES} minutes of DataStream 2 logs (+1 DS1 raw file) into s3://{INGEST}/")
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
        event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=MINUTES + 1)
        # The window starts in the previous hour, so its batch belongs to an archive interval
        # (one hour) that has already ended and can be archived at once.
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        window_start = hour - timedelta(hours=1)
        generated = 0
        batch = generate(start=event_start, minutes=MINUTES, lines_per_minute=LINES_PER_MINUTE,
                         files_per_minute=FILES_PER_MINUTE, ds1_files=1)  # fmt: skip
        for files, f in enumerate(batch, start=1):
            s3.put_object(Bucket=INGEST, Key=f.key, Body=f.body)
            generated += f.lines
            print(f"    [{files:2d}] s3://{INGEST}/{f.key} ({f.lines} lines, {f.format})")
        window_end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

        say(
            f"running edgesense_ingest for the upload window {window_start:%H:%M:%S}-{window_end:%H:%M:%S} UTC"
        )
        conf = {"window_start": window_start.isoformat(), "window_end": window_end.isoformat()}
        airflow(env, "dags", "test", "edgesense_ingest", "-c", json.dumps(conf))
        say(f"running edgesense_archive for {window_start:%H:%M}-{hour:%H:%M} UTC (requests/ Parquet)")
        airflow(env, "dags", "test", "edgesense_archive", hour.isoformat())
        record = f"_edgesense/archive/dt={window_start:%Y-%m-%d}/{window_start:%Y%m%dT%H%M%S}-{hour:%Y%m%dT%H%M%S}.json"
        archived = json.loads(s3.get_object(Bucket=STORE, Key=record)["Body"].read())["rows"]

        say(f"reading back from CloudWatch (namespace {NAMESPACE}, GetMetricData)")
        cw = boto3.client("cloudwatch", endpoint_url=server.endpoint, region_name="us-east-1")
        q_start, q_end = event_start - timedelta(minutes=1), window_end + timedelta(minutes=1)
        per_status = {s: metric_sums(cw, "ResponseCountTotal", {"Host": HOST, "ResponseCode": str(s)}, q_start, q_end)
                      for s in STATUSES}  # fmt: skip
        minutes = sorted({m for v in per_status.values() for m in v})
        bytes_sent = metric_sums(cw, "BytesSent", {"Host": HOST}, q_start, q_end)
        hits = metric_sums(cw, "CacheHits", {"Host": HOST}, q_start, q_end)
        tat = metric_sums(cw, "TurnAroundTime", {"Host": HOST}, q_start, q_end, stat="Average")
        header = f"    {'minute':<7}{'requests':>9}" + "".join(f"{s:>7}" for s in STATUSES)
        print(header + f"{'bytes':>12}{'hits':>7}{'TAT avg':>9}")
        total = 0.0
        for m in minutes:
            row = [per_status[s].get(m, 0) for s in STATUSES]
            total += sum(row)
            print(f"    {m:<7}{sum(row):>9.0f}" + "".join(f"{v:>7.0f}" for v in row)
                  + f"{bytes_sent.get(m, 0):>12.0f}{hits.get(m, 0):>7.0f}{tat.get(m, 0):>8.1f}ms")  # fmt: skip
        patterns = ("Product", "Category", "Productbrand", "Api", "Unmatched")
        print("    Response_2XX / 4XX / 404 / 5XX by UrlPatternId over the whole window:")
        for p in patterns:
            vals = [sum(metric_sums(cw, n, {"Host": HOST, "UrlPatternId": p}, q_start, q_end).values())
                    for n in ("Response_2XX", "Response_4XX", "Response_404", "Response_5XX")]  # fmt: skip
            if any(vals):
                print(f"      {p:<14}" + "".join(f"{v:>8.0f}" for v in vals))

        glue = boto3.client("glue", endpoint_url=server.endpoint, region_name="us-east-1")
        say(f"Glue partitions in {DATABASE}")
        for table in ("requests", "minute_metrics"):
            parts = glue.get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
            print(f"    {table}: " + ", ".join(f"dt={p['Values'][0]}/hour={p['Values'][1]}" for p in parts))
        say(f"Parquet in s3://{STORE}/")
        for obj in s3.list_objects_v2(Bucket=STORE, Prefix="requests/").get(
            "Contents", []
        ) + s3.list_objects_v2(Bucket=STORE, Prefix="minute_metrics/").get("Contents", []):
            print(f"    s3://{STORE}/{obj['Key']} ({obj['Size']:,} bytes)")

        say("running edgesense_ops (host list, dashboards, alarms)")
        airflow(env, "dags", "test", "edgesense_ops")
        ops = read_back(env, server.endpoint, event_start, window_end, say)

        print()
        print(f"lines generated: {generated}")
        print(f"requests in CloudWatch: {total:.0f}")
        print(f"requests archived to Parquet: {archived}")
        print(f"minutes x host reconciled: {ops['compared']:.0f}, mismatched: {ops['mismatched']:.0f}")
        if total != generated or archived != generated or ops["mismatched"]:
            print(
                "MISMATCH: CloudWatch or the archive does not hold exactly the generated requests, or the "
                "reconciliation found a minute that differs",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        say("stopping moto_server")
        server.stop()


if __name__ == "__main__":
    # SIGTERM (CI timeouts, `kill`) unwinds like Ctrl-C, so moto_server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise SystemExit(main())

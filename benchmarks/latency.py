"""``make bench-latency``: seconds from a log object landing in S3 to its metric being readable.

Everything is real and local: moto_server, and an Airflow scheduler (LocalExecutor) with the
api-server its task runners report to, running ``edgesense_ingest`` every minute as deployed
(no ``dags test``). A synthetic CDN uploads one DataStream 2 object about every ``--every``
seconds (jittered by ±50 %, so landings fall all over the minute) for ``--minutes`` minutes. Each object carries its own host name, so the moment its data is
readable is unambiguous: the poller asks GetMetricData for that host's ``BytesSent`` every
``--poll`` seconds and records the first time a value comes back.

Latency = first readable time - the object's LastModified. It is made of: the rest of the
arrival minute (a run owns one minute of arrivals), ``EDGESENSE_SETTLE_SECONDS``, the
scheduler's pickup, and the tasks. The report prints p50, p95 and max, and checks the goal
p95 <= 90 s.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "scripts")]

from airflow_services import scheduler_and_api_server, service_env  # noqa: E402
from demo import INGEST, STAGE, STORE, TABLE, airflow, airflow_env  # noqa: E402
from localaws import MotoServer, create_resources, free_port, metric_queries  # noqa: E402

from edgesense.generate import generate  # noqa: E402

NAMESPACE = f"edgesense/{STAGE}"
GOAL_P95 = 90.0


@dataclass
class Landed:
    host: str
    key: str
    lines: int
    landed: datetime
    readable: datetime | None = None

    @property
    def latency(self) -> float | None:
        return (self.readable - self.landed).total_seconds() if self.readable else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def upload(s3, n: int, lines: int) -> Landed:
    host = f"lat-{n:04d}.example.com"
    now = datetime.now(UTC)
    (f,) = generate(start=now, minutes=1, lines_per_minute=lines, files_per_minute=1, seed=n, host=host)
    s3.put_object(Bucket=INGEST, Key=f.key, Body=f.body)
    landed = s3.head_object(Bucket=INGEST, Key=f.key)["LastModified"]
    return Landed(host, f.key, f.lines, landed)


def poll_readable(cw, pending: list[Landed]) -> None:
    """One GetMetricData call for every object not yet readable (at most 500 per call)."""
    now = datetime.now(UTC)
    for chunk in (pending[i : i + 500] for i in range(0, len(pending), 500)):
        resp = cw.get_metric_data(
            MetricDataQueries=metric_queries(NAMESPACE, "BytesSent", [{"Host": o.host} for o in chunk]),
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=5),
        )
        for result in resp["MetricDataResults"]:
            if result["Values"]:
                chunk[int(result["Id"][1:])].readable = now


def watch(endpoint: str, procs: list[subprocess.Popen], work: Path, args: argparse.Namespace) -> list[Landed]:
    """Upload in a thread while polling CloudWatch, until every object is readable or the drain ends."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    objects: list[Landed] = []
    lock = threading.Lock()
    done = threading.Event()

    def uploader() -> None:
        t_end = time.monotonic() + args.minutes * 60
        rng = random.Random(7)  # jittered gaps: landings spread over the whole minute
        n = 0
        while time.monotonic() < t_end:
            o = upload(s3, n, args.lines)
            with lock:
                objects.append(o)
            n += 1
            time.sleep(args.every * rng.uniform(0.5, 1.5))
        done.set()

    threading.Thread(target=uploader, daemon=True).start()
    deadline: float | None = None
    last_report = 0.0
    while True:
        with lock:
            pending = [o for o in objects if o.readable is None]
        if pending:
            poll_readable(cw, pending)
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"an Airflow service exited; logs in {work}")
        if done.is_set():
            deadline = deadline or time.monotonic() + args.drain
            if all(o.readable for o in objects) or time.monotonic() > deadline:
                return objects
        if time.monotonic() - last_report > 60:
            seen = [o.latency for o in objects if o.latency is not None]
            print(f"    {len(objects)} objects uploaded, {len(seen)} readable"
                  + (f", latest {seen[-1]:.0f} s" if seen else ""), flush=True)  # fmt: skip
            last_report = time.monotonic()
        time.sleep(args.poll)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10, help="minutes of synthetic traffic (default 10)")
    ap.add_argument("--every", type=float, default=30, help="seconds between uploads (default 30)")
    ap.add_argument("--lines", type=int, default=2000, help="lines per object (default 2000)")
    ap.add_argument("--settle", type=int, default=15, help="EDGESENSE_SETTLE_SECONDS (default 15)")
    ap.add_argument("--poll", type=float, default=2, help="seconds between GetMetricData polls")
    ap.add_argument("--drain", type=float, default=300, help="max seconds to wait after the last upload")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="edgesense-latency-"))
    server = MotoServer(run_dir=work / "run").start()
    try:
        env = {
            **airflow_env(server.endpoint, work / "airflow"),
            **service_env(free_port()),
            "EDGESENSE_START_DATE": datetime.now(UTC).replace(second=0, microsecond=0).isoformat(),
            "EDGESENSE_SETTLE_SECONDS": str(args.settle),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        print(f"==> moto_server {server.endpoint}; Airflow home {work / 'airflow'}", flush=True)
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "edgesense_cloudwatch", "4", "CloudWatch PutMetricData budget")
        create_resources(server.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE)
        airflow(env, "dags", "test", "edgesense_setup")
        airflow(env, "dags", "reserialize")
        airflow(env, "dags", "unpause", "edgesense_ingest")
        with scheduler_and_api_server(env, work) as procs:
            print(f"==> scheduler + api-server started; settle {args.settle} s; uploading one object about "
                  f"every {args.every:g} s for {args.minutes:g} min", flush=True)  # fmt: skip
            objects = watch(server.endpoint, procs, work, args)
    finally:
        server.stop()

    latencies = [o.latency for o in objects if o.latency is not None]
    missing = [o.key for o in objects if o.latency is None]
    print(f"\n==> landing -> readable in CloudWatch (GetMetricData), {len(objects)} objects")
    if latencies:
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        print(
            f"    p50 {p50:6.1f} s   p95 {p95:6.1f} s   min {min(latencies):6.1f} s   max {max(latencies):6.1f} s"
        )
        verdict = "MET" if p95 <= GOAL_P95 and not missing else "SHORT"
        print(f"    goal p95 <= {GOAL_P95:.0f} s: {verdict}  (settle {args.settle} s, poll {args.poll:g} s)")
    if missing:
        print(f"    {len(missing)} objects never became readable within {args.drain:g} s; logs in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise SystemExit(main())

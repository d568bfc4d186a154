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
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "scripts")]

from demo import INGEST, STAGE, STORE, TABLE, airflow_env  # noqa: E402
from localaws import MotoServer, create_resources, free_port  # noqa: E402

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


def run_airflow(env: dict[str, str], *args: str) -> None:
    exe = Path(sys.executable).with_name("airflow")
    proc = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"airflow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def start_services(env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    exe = Path(sys.executable).with_name("airflow")
    procs = []
    for name, args in (
        ("api-server", ["api-server", "--port", env["AIRFLOW__API__PORT"]]),
        ("scheduler", ["scheduler"]),
    ):
        with (logs / f"{name}.log").open("a") as log:
            procs.append(
                subprocess.Popen(
                    [str(exe), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    return procs


def stop_services(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        with suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


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
        queries = [
            {
                "Id": f"q{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": "BytesSent",
                        "Dimensions": [{"Name": "Host", "Value": o.host}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for i, o in enumerate(chunk)
        ]
        resp = cw.get_metric_data(
            MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5)
        )
        for result in resp["MetricDataResults"]:
            if result["Values"]:
                chunk[int(result["Id"][1:])].readable = now


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10, help="minutes of synthetic traffic (default 10)")
    ap.add_argument("--every", type=float, default=30, help="seconds between uploads (default 30)")
    ap.add_argument("--lines", type=int, default=2000, help="lines per object (default 2000)")
    ap.add_argument("--settle", type=int, default=15, help="EDGESENSE_SETTLE_SECONDS (default 15)")
    ap.add_argument("--poll", type=float, default=2, help="seconds between GetMetricData polls")
    ap.add_argument("--drain", type=float, default=300, help="max seconds to wait after the last upload")
    args = ap.parse_args(argv)

    import boto3

    work = Path(tempfile.mkdtemp(prefix="edgesense-latency-"))
    server = MotoServer(run_dir=work / "run").start()
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        env = airflow_env(server.endpoint, work / "airflow")
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        env.update(
            {
                "EDGESENSE_START_DATE": start.isoformat(),
                "EDGESENSE_SETTLE_SECONDS": str(args.settle),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API_AUTH__JWT_SECRET": "edgesense-bench-only",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        print(f"==> moto_server {server.endpoint}; Airflow home {work / 'airflow'}", flush=True)
        run_airflow(env, "db", "migrate")
        run_airflow(env, "pools", "set", "edgesense_cloudwatch", "4", "CloudWatch PutMetricData budget")
        create_resources(server.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE)
        run_airflow(env, "dags", "test", "edgesense_setup")
        run_airflow(env, "dags", "reserialize")
        run_airflow(env, "dags", "unpause", "edgesense_ingest")
        procs = start_services(env, work)
        print(f"==> scheduler + api-server started; settle {args.settle} s; uploading one object every "
              f"{args.every:g} s for {args.minutes:g} min", flush=True)  # fmt: skip

        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
        cw = boto3.client("cloudwatch", endpoint_url=server.endpoint, region_name="us-east-1")
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
                if not [o for o in objects if o.readable is None] or time.monotonic() > deadline:
                    break
            if time.monotonic() - last_report > 60:
                seen = [o.latency for o in objects if o.latency is not None]
                print(f"    {len(objects)} objects uploaded, {len(seen)} readable"
                      + (f", latest {seen[-1]:.0f} s" if seen else ""), flush=True)  # fmt: skip
                last_report = time.monotonic()
            time.sleep(args.poll)
    finally:
        stop_services(procs)
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

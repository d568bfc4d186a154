"""``make airflow``: ``airflow standalone`` on the embedded AWS, for clicking through the UI.

Starts moto_server, creates the buckets, rules table, Glue catalog and sample rules, then
runs ``airflow standalone`` (scheduler, dag-processor, triggerer, api-server on :8080)
with the ingest DAG unpaused from the current minute. A background thread uploads a small
synthetic DataStream 2 file every 30 s so scheduled runs have something to count.
Ctrl-C stops Airflow, the uploader and moto_server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "scripts")]

from demo import INGEST, NAMES, STORE, TABLE, airflow, airflow_env, say  # noqa: E402
from localaws import MotoServer, aws_env, create_resources  # noqa: E402

from edgesense.generate import generate  # noqa: E402


def upload_forever(endpoint: str, stop: threading.Event) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    seed = 1
    while not stop.wait(30):
        now = datetime.now(UTC)
        for f in generate(start=now - timedelta(minutes=1), minutes=1, lines_per_minute=300,
                          files_per_minute=1, seed=seed):  # fmt: skip
            s3.put_object(Bucket=INGEST, Key=f.key, Body=f.body)
        seed += 1


def main() -> int:
    home = ROOT / ".airflow-local"
    server = MotoServer(
        port=int(os.environ.get("EDGESENSE_MOTO_PORT", "0")) or None, run_dir=ROOT / ".run"
    ).start()
    stop = threading.Event()
    try:
        env = airflow_env(server.endpoint, home)
        os.environ.update(aws_env(server.endpoint))  # for the uploader thread's boto3 client
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        env.update(
            {
                "EDGESENSE_START_DATE": start.isoformat(),
                "EDGESENSE_SETTLE_SECONDS": "20",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        server.publish(NAMES)
        say(f"moto_server on {server.endpoint}; Airflow home {home}")
        say(
            'in another shell: eval "$(.venv/bin/edgesense local env)" points edgesense and the aws CLI at it'
        )
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "edgesense_cloudwatch", "4", "CloudWatch PutMetricData budget")
        create_resources(server.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE)
        airflow(env, "dags", "test", "edgesense_setup")
        airflow(env, "dags", "unpause", "edgesense_ingest")  # the DAG ships paused on purpose
        threading.Thread(target=upload_forever, args=(server.endpoint, stop), daemon=True).start()
        say("airflow standalone: UI on http://localhost:8080 (login printed below); Ctrl-C to stop")
        exe = Path(sys.executable).with_name("airflow")
        # Its own process group: `airflow standalone` starts the scheduler, api-server and the
        # rest as children, and a SIGTERM to it alone leaves them running.
        proc = subprocess.Popen([str(exe), "standalone"], env=env, start_new_session=True)
        try:
            return proc.wait()
        except (KeyboardInterrupt, SystemExit):
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            return 0
    finally:
        stop.set()
        server.stop()


if __name__ == "__main__":
    # SIGTERM (CI timeouts, `kill`) unwinds like Ctrl-C, so moto_server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise SystemExit(main())

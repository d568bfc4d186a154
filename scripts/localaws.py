"""The embedded AWS: a real ``moto_server`` process on 127.0.0.1, started and stopped by us.

Used by ``make demo``, ``make airflow`` and the end-to-end tests. It writes a pid file,
waits for a health check, and exports the Airflow connection that points every
amazon-provider hook (and STS) at it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connection_json(endpoint: str) -> str:
    """``AIRFLOW_CONN_AWS_DEFAULT`` for moto; STS needs its own endpoint (it ignores the global one)."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {
                "region_name": REGION,
                "endpoint_url": endpoint,
                "service_config": {"sts": {"endpoint_url": endpoint}},
            },
        }
    )


def aws_env(endpoint: str) -> dict[str, str]:
    """Environment for Airflow and for plain boto3 (the CLI) to use the local AWS."""
    return {
        "AIRFLOW_CONN_AWS_DEFAULT": connection_json(endpoint),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


def metric_queries(
    namespace: str, name: str, dim_sets: list[dict[str, str]], *, stat: str = "Sum"
) -> list[dict]:
    """GetMetricData queries ``q0``, ``q1``, ... for one metric, one per dimension set, per minute."""
    return [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                },
                "Period": 60,
                "Stat": stat,
            },
        }
        for i, dims in enumerate(dim_sets)
    ]


class MotoServer:
    def __init__(self, port: int | None = None, run_dir: Path | str = ".run") -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.run_dir = Path(run_dir)
        self.pid_file = self.run_dir / f"moto-{self.port}.pid"
        self.log_file = self.run_dir / f"moto-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.record: Path | None = None

    def start(self, timeout: float = 30.0) -> MotoServer:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("moto_server")
        log = self.log_file.open("wb")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file.write_text(str(self.proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}; see {self.log_file}")
            if self.healthy():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} within {timeout}s")

    def publish(self, settings: dict[str, str]) -> Path:
        """Write ``.run/local-aws.json`` for ``edgesense local env``; removed again by :meth:`stop`."""
        from edgesense.local_env import LocalAws

        assert self.proc is not None, "start() first"
        self.record = LocalAws(self.endpoint, REGION, self.proc.pid, settings=settings).write(self.run_dir)
        return self.record

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.pid_file.unlink(missing_ok=True)
        if self.record is not None:
            self.record.unlink(missing_ok=True)


@contextlib.contextmanager
def running(port: int | None = None, run_dir: Path | str = ".run") -> Iterator[MotoServer]:
    server = MotoServer(port, run_dir).start()
    try:
        yield server
    finally:
        server.stop()


def create_resources(endpoint: str, *, ingest_bucket: str, store_bucket: str, rules_table: str) -> list[str]:
    """Buckets and the rules table (infrastructure that CloudFormation owns on AWS)."""
    import boto3

    kw = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}  # fmt: skip
    s3 = boto3.client("s3", **kw)
    done = []
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for b in (ingest_bucket, store_bucket):
        if b in existing:  # us-east-1 answers CreateBucket on an owned bucket with success
            done.append(f"bucket s3://{b} exists")
            continue
        s3.create_bucket(Bucket=b)
        done.append(f"bucket s3://{b}")
    ddb = boto3.client("dynamodb", **kw)
    try:
        ddb.create_table(
            TableName=rules_table,
            KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        done.append(f"DynamoDB table {rules_table}")
    except ddb.exceptions.ResourceInUseException:
        done.append(f"DynamoDB table {rules_table} exists")
    return done


def main(argv: list[str] | None = None) -> int:
    """``python scripts/localaws.py create-resources --endpoint URL``: used by docker-compose's init."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create-resources", help="buckets and rules table in an emulator (idempotent)")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--ingest-bucket", default=os.environ.get("EDGESENSE_INGEST_BUCKET", "edgesense-ingest"))
    c.add_argument("--store-bucket", default=os.environ.get("EDGESENSE_STORE_BUCKET", "edgesense-store"))
    c.add_argument("--rules-table", default=os.environ.get("EDGESENSE_RULES_TABLE", "edgesense-rules"))
    args = p.parse_args(argv)
    for line in create_resources(args.endpoint, ingest_bucket=args.ingest_bucket, store_bucket=args.store_bucket,
                                 rules_table=args.rules_table):  # fmt: skip
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A real Airflow 3 scheduler (LocalExecutor) and the api-server its task runners report to.

Shared by the 3.x backfill test and ``make bench-latency``. Both run as their own process
groups, so stopping them also stops the task processes the executor started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def service_env(port: int) -> dict[str, str]:
    """The settings a local scheduler and api-server need on top of an Airflow environment."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "edgesense-local-only",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    }


def signal_group(pgid: int, sig: int) -> None:
    """The whole process group: executor workers can outlive their parent."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@contextmanager
def scheduler_and_api_server(env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen]]:
    """Start both (output in ``logs``/<name>.log); stop their process groups on exit.

    ``env`` must include :func:`service_env` for a free port.
    """
    airflow = Path(sys.executable).with_name("airflow")
    procs: list[subprocess.Popen] = []
    try:
        for name, args in (("api-server", ["api-server", "--port", env["AIRFLOW__API__PORT"]]),
                           ("scheduler", ["scheduler"])):  # fmt: skip
            with (logs / f"{name}.log").open("a") as log:  # the child keeps its own descriptor
                procs.append(
                    subprocess.Popen(
                        [str(airflow), *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield procs
    finally:
        for p in procs:
            signal_group(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                signal_group(p.pid, signal.SIGKILL)
                p.wait()

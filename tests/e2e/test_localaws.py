"""The embedded-AWS helper used by make demo, make airflow and docker-compose's init."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = pytest.mark.e2e


def test_create_resources_is_idempotent_from_the_command_line(moto):
    moto.reset()
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "localaws.py"),
        "create-resources",
        "--endpoint",
        moto.endpoint,
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    second = subprocess.run(cmd, capture_output=True, text=True, check=True)

    assert first.stdout.splitlines() == ["bucket s3://edgesense-ingest", "bucket s3://edgesense-store",
                                         "DynamoDB table edgesense-rules"]  # fmt: skip
    assert all(line.endswith("exists") for line in second.stdout.splitlines())


def test_the_server_is_a_real_process_with_a_pid_file_and_health_check(moto):
    assert moto.proc is not None
    assert moto.proc.poll() is None
    assert moto.pid_file.read_text() == str(moto.proc.pid)
    assert moto.healthy()

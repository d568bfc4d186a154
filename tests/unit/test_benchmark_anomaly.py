"""``make bench-anomaly`` keeps working: a tiny run, as a subprocess, ends with the line the issue names.

Only the report's shape is checked; how good the detector is, is the benchmark's own report.
"""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import ROOT

LAST_LINE = re.compile(r"^recall \d\.\d+, precision \d\.\d+, false alarms per host-day \d+\.\d+$")


def test_a_tiny_anomaly_benchmark_reports_per_kind_and_ends_with_recall_precision_and_false_alarms():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "anomaly.py"), "--days", "2", "--hosts", "2", "--warmup-days", "3",
         "--seeds", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    for kind in ("error_burst", "traffic_drop", "latency_shift", "slow_ramp"):
        assert kind in run.stdout
    assert "host0.example.com" in run.stdout
    assert "host1.example.com" in run.stdout
    assert "recall by seed 13: " in run.stdout
    assert ", 14: " in run.stdout  # two seeds, pooled

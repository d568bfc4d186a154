"""The installed ``edgesense`` command, run as a user would (a subprocess, no AWS)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb

from helpers import ROOT

EXE = Path(sys.executable).with_name("edgesense")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_generate_then_aggregate_reproduces_every_generated_line(tmp_path):
    gen = run("generate", "--out", "logs", "--minutes", "2", "--lines-per-minute", "500", "--ds1-files", "1",
              cwd=tmp_path)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    generated = int(gen.stdout.split("lines generated: ")[1])
    files = sorted(str(p) for p in (tmp_path / "logs").rglob("*.gz"))
    assert len(files) == 5
    rules = tmp_path / "rules.csv"
    rules.write_text("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\nBroken,(?=x),9\n")

    out = run("aggregate", *files, "--rules", str(rules), "--output", "out.csv", "--report", "report.json",
              cwd=tmp_path)  # fmt: skip

    assert out.returncode == 0, out.stderr
    with (tmp_path / "out.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["minute", "host", "url_pattern", "status", "requests", "bytes"]
    assert sum(int(r["requests"]) for r in rows) == generated
    assert {r["url_pattern"] for r in rows} == {"Product", "Api", "Unmatched"}
    assert rows[0]["minute"].endswith(":00Z")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["lines_valid"] == generated
    assert report["lines_rejected"] == 0
    assert report["files_rejected"] == []
    assert report["rules_rejected"] == [
        {"rule_id": "Broken", "reason": report["rules_rejected"][0]["reason"]}
    ]
    assert "lookaround" in report["rules_rejected"][0]["reason"]
    assert "rule 'Broken'" in out.stderr


def test_aggregate_writes_parquet_and_names_bad_files_and_lines(tmp_path):
    sample = (ROOT / "tests" / "fixtures" / "ds2_akamai_docs_sample.json").read_text()
    (tmp_path / "a.log").write_text(sample + "not json\n")
    (tmp_path / "b.gz").write_bytes(b"\x1f\x8b" + b"broken" * 4)

    out = run("aggregate", "a.log", "b.gz", "--output", "out.parquet", "--report", "r.json", cwd=tmp_path)

    assert out.returncode == 0, out.stderr
    rows = duckdb.connect().execute("SELECT host, status, requests FROM read_parquet($p)",
                                    {"p": str(tmp_path / "out.parquet")}).fetchall()  # fmt: skip
    assert rows == [("test.hostname.net", 206, 1)]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["lines_rejected"] == 1
    assert [f["key"] for f in report["files_rejected"]] == ["b.gz"]
    assert "rejected file b.gz" in out.stderr
    assert "not valid JSON" in out.stderr


def test_aggregate_refuses_a_missing_file_or_an_unknown_output_type(tmp_path):
    assert run("aggregate", "nope.gz", "--output", "o.csv", cwd=tmp_path).returncode == 2
    (tmp_path / "x.log").write_text("")
    assert run("aggregate", "x.log", "--output", "o.txt", cwd=tmp_path).returncode == 2


def test_the_cli_starts_without_importing_airflow_or_aws():
    code = "import sys, edgesense.cli; edgesense.cli.build_parser(); print('airflow' in sys.modules, 'boto3' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert res.stdout.strip() == "False False"

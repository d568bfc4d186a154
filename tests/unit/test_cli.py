"""The installed ``edgesense`` command, run as a user would (a subprocess, no AWS)."""

from __future__ import annotations

import csv
import json
import os
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

    out = run("aggregate", "a.log", "b.gz", "--output", "out.parquet", "--report", "r.json",
              "--max-reject-ratio", "1", cwd=tmp_path)  # fmt: skip

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


def test_rules_dry_run_shows_what_each_pattern_gains_or_loses_on_local_files(tmp_path):
    run("generate", "--out", "logs", "--minutes", "1", "--lines-per-minute", "1000", cwd=tmp_path)
    files = sorted(str(p) for p in (tmp_path / "logs").rglob("*.gz"))
    (tmp_path / "cur.csv").write_text("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\n")
    (tmp_path / "new.csv").write_text("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nCheckout,/checkout/,1\n")

    out = subprocess.run([str(EXE), "rules", "dry-run", *files, "--current", "cur.csv", "--rules", "new.csv"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip

    assert out.returncode == 0, out.stderr
    table = {
        line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()[3:8] if line.startswith("  ")
    }
    api_before = int(table["Api"][0].replace(",", ""))
    assert api_before > 0
    assert table["Api"][1:] == ["0", f"{-api_before:+,}"]
    assert table["Checkout"] == ["0", f"{api_before:,}", f"{api_before:+,}"]
    assert "top unmatched paths before:" in out.stdout
    assert "/test_index_c123456.html" in out.stdout


def test_rules_cost_counts_series_per_metric_and_prices_them(tmp_path):
    run("generate", "--out", "logs", "--minutes", "1", "--lines-per-minute", "1000", cwd=tmp_path)
    files = sorted(str(p) for p in (tmp_path / "logs").rglob("*.gz"))
    (tmp_path / "r.csv").write_text("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\n")

    out = subprocess.run([str(EXE), "rules", "cost", *files, "--rules", "r.csv", "--price", "0.5"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip

    assert out.returncode == 0, out.stderr
    counts = {p[0]: int(p[1]) for p in (line.split() for line in out.stdout.splitlines()[1:]) if len(p) == 2}
    assert counts["ResponseCountTotal"] == 6  # one host x six statuses
    assert counts["Response_2XX"] == 3  # Product, Api, Unmatched
    assert counts["BytesSent"] == 1
    total = int(out.stdout.split("total")[1].split()[0])
    assert f"${total * 0.5:,.2f} per month" in out.stdout


def test_rules_validate_takes_the_csv_as_an_argument_or_with_rules(tmp_path):
    (tmp_path / "r.csv").write_text("Id,Regex,Rank\nA,a,1\nB,(?=b),2\n")
    for args in (["r.csv"], ["--rules", "r.csv"]):
        out = subprocess.run([str(EXE), "rules", "validate", *args], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        assert out.returncode == 1
        assert out.stdout.startswith("r.csv: 1 valid rule(s) (1 enabled), 1 rejected")
        assert "rule 'B': lookaround" in out.stdout


def test_archive_writes_every_generated_line_as_hive_partitioned_parquet_and_never_overwrites(tmp_path):
    gen = run("generate", "--out", "logs", "--minutes", "2", "--lines-per-minute", "300", "--ds1-files", "1",
              "--start", "2026-11-30T09:59:00+00:00", cwd=tmp_path)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    generated = int(gen.stdout.split("lines generated: ")[1])
    files = sorted(str(p) for p in (tmp_path / "logs").rglob("*.gz"))
    rules = tmp_path / "rules.csv"
    rules.write_text("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\n")

    out = run("archive", *files, "--rules", str(rules), "--output", "requests", cwd=tmp_path)

    assert out.returncode == 0, out.stderr
    written = sorted(
        p.relative_to(tmp_path / "requests").as_posix() for p in (tmp_path / "requests").rglob("*")
    )
    assert "dt=2026-11-30/hour=09/part-local-0.parquet" in written
    assert "dt=2026-11-30/hour=10/part-local-0.parquet" in written
    got = duckdb.execute(
        "SELECT count(*), count(DISTINCT source_key), list(DISTINCT url_pattern ORDER BY url_pattern) "
        "FROM read_parquet($p, hive_partitioning = true)",
        {"p": str(tmp_path / "requests" / "**" / "*.parquet")},
    ).fetchone()
    assert got == (generated, len(files), ["Api", "Product", "Unmatched"])
    assert f"-> {generated} request(s) in 2 Parquet file(s), 2 partition(s)" in out.stderr

    again = run("archive", *files, "--output", "requests", cwd=tmp_path)
    assert again.returncode == 2
    assert (
        again.stderr.strip()
        == "error: --output requests is not an empty folder; give a new one (nothing is overwritten)"
    )


def test_a_bad_edgesense_variable_is_one_line_and_exit_2_when_the_cli_reads_its_defaults(tmp_path):
    """`rules export` without --table reads EDGESENSE_RULES_TABLE through Settings, which checks them all."""
    env = {**os.environ, "EDGESENSE_REJECT_THRESHOLD": "5"}
    res = subprocess.run([str(EXE), "rules", "export"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=env)  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "EDGESENSE_REJECT_THRESHOLD must be between 0 and 1" in res.stderr
    assert "Traceback" not in res.stderr

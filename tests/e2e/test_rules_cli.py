"""``edgesense rules ...`` against the rules table in a real moto_server, run as a user would."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TABLE, archive_recent

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).with_name("edgesense")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDGESENSE_RULES_TABLE": TABLE}
    return subprocess.run(
        [str(EXE), "rules", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_import_reports_changes_and_export_round_trips_the_csv(aws, tmp_path):
    original = "Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\n"
    (tmp_path / "v1.csv").write_text(original)
    first = cli("import", "v1.csv", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "added 2, changed 0, unchanged 0, removed 0, rejected 0" in first.stdout

    v2 = ("Id,Regex,Rank,Host,Enabled,Description\nProduct,(.*)_product_(.*),3,,,\n"
          "Api,/json/v2/(.*),5,shop.example.com,false,new API\nBroken,(?<=x),1,,,\n")  # fmt: skip
    (tmp_path / "v2.csv").write_text(v2)
    second = cli("import", "v2.csv", cwd=tmp_path)
    assert "added 0, changed 1, unchanged 1, removed 0, rejected 1" in second.stdout
    assert "  ~ Api" in second.stdout
    assert "rule 'Broken': lookaround" in second.stdout

    exported = cli("export", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows == [
        {"Id": "Product", "Regex": "(.*)_product_(.*)", "Rank": "3", "Host": "", "Enabled": "", "Description": ""},
        {"Id": "Api", "Regex": "/json/v2/(.*)", "Rank": "5", "Host": "shop.example.com", "Enabled": "false",
         "Description": "new API"},
    ]  # fmt: skip
    (tmp_path / "back.csv").write_text(exported.stdout)
    again = cli("import", "back.csv", cwd=tmp_path)
    assert "added 0, changed 0, unchanged 2" in again.stdout


def test_an_original_format_table_exports_in_the_original_format(aws, tmp_path):
    (tmp_path / "r.csv").write_text("Id,Regex,Rank\nApi,/json/(.*),5\n")
    cli("import", "r.csv", cwd=tmp_path)
    assert cli("export", cwd=tmp_path).stdout == "Id,Regex,Rank\nApi,/json/(.*),5\n"


def test_import_prune_removes_rules_missing_from_the_csv(aws, tmp_path):
    (tmp_path / "a.csv").write_text("Id,Regex,Rank\nA,a,1\nB,b,2\n")
    (tmp_path / "b.csv").write_text("Id,Regex,Rank\nA,a,1\n")
    cli("import", "a.csv", cwd=tmp_path)
    dry = cli("import", "b.csv", "--prune", "--dry-run", cwd=tmp_path)
    assert "removed 1" in dry.stdout
    assert "A,a,1\nB,b,2" in cli("export", cwd=tmp_path).stdout
    cli("import", "b.csv", "--prune", cwd=tmp_path)
    assert cli("export", cwd=tmp_path).stdout == "Id,Regex,Rank\nA,a,1\n"


def test_more_than_a_megabyte_of_rules_is_read_across_scan_pages(aws, tmp_path):
    """DynamoDB pages Scan results at 1 MB; moto emulates it. 2,000 rules of ~600 bytes."""
    lines = ["Id,Regex,Rank"] + [f"R{i:04d},/section-{i}/{'x' * 560}.*,{i}" for i in range(2000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    assert cli("import", "big.csv", cwd=tmp_path).returncode == 0
    assert aws.ddb.scan(TableName=TABLE, Limit=5000)["LastEvaluatedKey"]  # really more than one page

    validated = cli("validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout
    assert "2000 valid rule(s)" in validated.stdout
    assert len(cli("export", cwd=tmp_path).stdout.splitlines()) == 2001


def test_validate_names_every_problem_and_test_explains_the_winner(aws, tmp_path):
    (tmp_path / "r.csv").write_text(
        "Id,Regex,Rank\nBrand,productbrand_,1\nProduct,_product_,3\nBad,(a)\\1,2\nX,,4\n"
    )
    out = cli("validate", "r.csv", cwd=tmp_path)
    assert out.returncode == 1
    assert "rule 'Bad': backreferences are not supported by RE2" in out.stdout
    assert "rule 'X': empty regex" in out.stdout

    cli("import", "r.csv", cwd=tmp_path)
    tested = cli("test", "/test_productbrand_product_1.html", cwd=tmp_path)
    assert "winner: Brand" in tested.stdout
    assert "also matches: Product" in tested.stdout
    none = cli("test", "/nothing/here", "--rules", "r.csv", cwd=tmp_path)
    assert "winner: Unmatched (no rule matches)" in none.stdout


def test_the_unmatched_report_lists_the_paths_no_rule_named(aws, airflow_db, tmp_path, monkeypatch):
    import gzip
    import json
    from datetime import UTC, datetime, timedelta

    from edgesense_ingest import dag_object
    from edgesense_setup import dag_object as setup

    monkeypatch.setenv("EDGESENSE_RETRY_DELAY_SECONDS", "0")
    assert setup.test().state == "success"
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    paths = {"/search/shoes": 30, "/search/hats": 12, "/json/x": 50, "/about": 3}
    lines = [json.dumps({"reqTimeSec": f"{minute.timestamp() + 1:.0f}", "statusCode": "200",
                         "reqHost": "www.example.abc", "reqPath": p}) for p, n in paths.items() for _ in range(n)]  # fmt: skip
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    aws.put_log("logs/u/ak-1-1-1-ds.gz", gzip.compress("\n".join(lines).encode()))
    t1 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    conf = {
        "window_start": t0.isoformat(),
        "window_end": t1.isoformat(),
        "prefix": "logs/u/",
        "reprocess": False,
    }
    assert dag_object.test(run_conf=conf).state == "success"

    out = cli("unmatched", "--date", f"{minute:%Y-%m-%d}", "--bucket", "es-store", cwd=tmp_path)

    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    assert rows == [["30", "www.example.abc", "/search/shoes"], ["12", "www.example.abc", "/search/hats"],
                    ["3", "www.example.abc", "/about"]]  # fmt: skip
    parts = aws.glue.get_partitions(DatabaseName="edgesense_test", TableName="unmatched_paths")["Partitions"]
    assert [p["Values"] for p in parts] == [[f"{minute:%Y-%m-%d}", f"{minute:%H}"]]

    # dry-run over the day's requests Parquet (written by the archive): the table's rules against a new CSV.
    archive_recent()
    (tmp_path / "new.csv").write_text("Id,Regex,Rank\nSearch,^/search/,1\nApi,/json/(.*),5\n")
    dry = cli(
        "dry-run", "--date", f"{minute:%Y-%m-%d}", "--bucket", "es-store", "--rules", "new.csv", cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stderr
    assert "dry-run over 95 request(s) from s3://es-store/requests/" in dry.stdout
    assert "  Search                           0        42       +42" in dry.stdout
    assert "  Unmatched                       45         3       -42" in dry.stdout


def test_export_of_a_table_that_does_not_exist_is_one_line_and_exit_2(aws, tmp_path):
    res = subprocess.run([str(EXE), "rules", "export", "--table", "no-such-table"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("error: rules table no-such-table does not exist at http://127.0.0.1:")
    assert "check --table or EDGESENSE_RULES_TABLE" in res.stderr

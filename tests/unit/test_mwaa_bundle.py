"""The MWAA bundle, unpacked the way MWAA does it, parses every DAG from there.

There is no Docker here, so this stands in for MWAA's local runner: an empty folder, the
dags folder and the unpacked plugins.zip first on sys.path, and nothing from the checkout.
Each CI leg parses the bundle for its own Airflow: 3.3.1 on the Airflow 3 venv, 2.11.2 on
the Airflow 2.11 one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from helpers import ROOT, airflow_major

sys.path.insert(0, str(ROOT / "scripts"))
from mwaa_bundle import MWAA_VERSIONS, build

PARSE = r"""
import json, os, sys
dags, plugins = sys.argv[1], sys.argv[2]
sys.path[:0] = [dags, plugins]
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models import DagBag
bag = DagBag(dag_folder=dags)
import edgesense, edgesense.sql
print(json.dumps({"dags": sorted(bag.dags), "errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "package": edgesense.__file__, "sql": str(edgesense.sql.sql_dir())}))
"""


def test_the_unpacked_bundle_parses_every_dag_from_mwaa_paths_only(tmp_path):
    out = build("3.3.1" if airflow_major() >= 3 else "2.11.2", tmp_path / "dist" / "mwaa")
    root = tmp_path / "usr-local-airflow"
    (root / "dags").mkdir(parents=True)
    for f in (out / "dags").iterdir():
        (root / "dags" / f.name).write_bytes(f.read_bytes())
    with zipfile.ZipFile(out / "plugins.zip") as z:
        z.extractall(root / "plugins")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGESENSE_", "PYTHONPATH"))}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")

    res = subprocess.run([sys.executable, "-c", PARSE, str(root / "dags"), str(root / "plugins")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip

    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["dags"] == [
        "edgesense_archive",
        "edgesense_ingest",
        "edgesense_ops",
        "edgesense_reconcile",
        "edgesense_relabel",
        "edgesense_setup",
    ]
    assert report["package"].startswith(str(root / "plugins"))
    assert report["sql"] == str(root / "plugins" / "edgesense" / "sql")


@pytest.mark.parametrize("version", MWAA_VERSIONS)
def test_the_requirements_start_with_the_constraint_line_for_that_airflow_and_python_312(tmp_path, version):
    out = build(version, tmp_path / "mwaa")
    lines = (out / "requirements.txt").read_text().splitlines()
    assert lines[0] == (
        f'--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-3.12.txt"'
    )
    assert "apache-airflow-providers-amazon>=9.22.0" in lines
    assert any(line.startswith("duckdb") for line in lines)
    assert not any(line.startswith("apache-airflow==") for line in lines)


def test_the_bundle_ships_every_sql_file_and_a_startup_script(tmp_path):
    out = build("3.3.1", tmp_path / "mwaa")
    with zipfile.ZipFile(out / "plugins.zip") as z:
        names = set(z.namelist())
    for f in (ROOT / "include" / "sql").rglob("*.sql"):
        assert f"edgesense/sql/{f.relative_to(ROOT / 'include' / 'sql').as_posix()}" in names
    assert "edgesense/__init__.py" in names
    assert not any(n.startswith(("plugins/", "/")) or ".." in n for n in names)
    startup = (out / "startup.sh").read_text()
    assert startup.startswith("#!/bin/sh")
    assert "EDGESENSE_INGEST_BUCKET" in startup
    assert os.access(out / "startup.sh", os.X_OK)


def test_an_unknown_mwaa_version_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="MWAA_AIRFLOW must be one of"):
        build("9.9.9", tmp_path / "x")

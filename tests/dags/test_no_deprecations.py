"""edgesense imports nothing deprecated: every warning raised from our own modules, when the
package and every DAG file are loaded, is an error. (The standard provider's own
``determine_kwargs`` warning is upstream; see the README's troubleshooting.)"""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT

CODE = """
import importlib, importlib.util, pathlib, pkgutil, sys, warnings
warnings.filterwarnings("error", module=r"^(edgesense|dag_)")
import edgesense
for m in pkgutil.walk_packages(edgesense.__path__, "edgesense."):
    if not m.name.startswith("edgesense.cli"):  # the CLI is checked without Airflow below
        importlib.import_module(m.name)
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location("dag_" + path.stem, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
import edgesense.cli
edgesense.cli.build_parser()
print("ok")
"""


def test_no_module_or_dag_of_ours_raises_a_warning_when_loaded():
    res = subprocess.run([sys.executable, "-c", CODE, str(ROOT / "dags")], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("ok")

"""``make mwaa-bundle``: the files an Amazon MWAA environment needs, in ``dist/mwaa/``.

* ``dags/``: the DAG files (synced by MWAA from ``DagS3Path``);
* ``plugins.zip``: the ``edgesense`` package with the SQL inside it (``edgesense/sql/``),
  unpacked by MWAA to ``/usr/local/airflow/plugins``, which is on ``sys.path``;
* ``requirements.txt``: the ``--constraint`` line for the Airflow version and Python 3.12
  first, then the DAGs' runtime dependencies;
* ``startup.sh``: exports the ``EDGESENSE_*`` settings on every MWAA component.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MWAA_VERSIONS = ("2.11.2", "3.2.1", "3.3.1")
PYTHON = "3.12"

STARTUP = """#!/bin/sh
# edgesense settings for every MWAA component (scheduler, workers, web server).
# Fill in the values from the CloudFormation stack outputs; see the README's
# "Deploy to MWAA" section. aws_default is MWAA's own connection (the execution role).
export EDGESENSE_STAGE="{stage}"
export EDGESENSE_INGEST_BUCKET="<IngestBucketName output>"
export EDGESENSE_STORE_BUCKET="<StoreBucketName output>"
export EDGESENSE_RULES_TABLE="<RulesTableName output>"
export EDGESENSE_GLUE_DATABASE="<GlueDatabaseName output>"
# Every task failure is published here (DAG, task, run, try, error, log URL):
export EDGESENSE_ALERT_TOPIC_ARN="<AlarmTopicArn output>"
export EDGESENSE_KEY_LAYOUT="logs/{{%Y}}/{{%m}}/{{%d}}/{{%H}}/"
# The first interval to ingest (the ingest DAG catches up from here):
export EDGESENSE_START_DATE="<YYYY-MM-DDTHH:MM:00+00:00>"
"""


def build(airflow: str, out: Path, stage: str = "prod") -> Path:
    if airflow not in MWAA_VERSIONS:
        raise SystemExit(f"MWAA_AIRFLOW must be one of {', '.join(MWAA_VERSIONS)}, not {airflow!r}")
    if out.exists():
        shutil.rmtree(out)
    (out / "dags").mkdir(parents=True)
    for f in sorted((ROOT / "dags").glob("*.py")):
        shutil.copy2(f, out / "dags" / f.name)

    with zipfile.ZipFile(out / "plugins.zip", "w", zipfile.ZIP_DEFLATED) as z:
        pkg = ROOT / "plugins" / "edgesense"
        for f in sorted(pkg.rglob("*.py")):
            z.write(f, f.relative_to(ROOT / "plugins").as_posix())
        for f in sorted((ROOT / "include" / "sql").rglob("*")):
            if f.is_file():
                z.write(f, ("edgesense/sql" / f.relative_to(ROOT / "include" / "sql")).as_posix())

    runtime = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    constraint = (
        f"https://raw.githubusercontent.com/apache/airflow/constraints-{airflow}/constraints-{PYTHON}.txt"
    )
    (out / "requirements.txt").write_text(
        f'--constraint "{constraint}"\n# edgesense runtime dependencies (MWAA keeps its own Airflow pins)\n'
        + "\n".join(runtime)
        + "\n"
    )
    (out / "startup.sh").write_text(STARTUP.format(stage=stage))
    (out / "startup.sh").chmod(0o755)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--airflow", required=True, help=f"MWAA Airflow version: {', '.join(MWAA_VERSIONS)}")
    p.add_argument("--out", default=str(ROOT / "dist" / "mwaa"))
    p.add_argument("--stage", default="prod")
    args = p.parse_args(argv)
    out = build(args.airflow, Path(args.out), args.stage)
    for f in sorted(out.rglob("*")):
        if f.is_file():
            print(f"{f.relative_to(out.parent)}  ({f.stat().st_size:,} bytes)")
    print(
        f"upload {out}/ to the MWAA source bucket: dags/, plugins.zip, requirements.txt, startup.sh",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

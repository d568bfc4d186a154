"""Helpers shared by the test packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Field order of Akamai's documented sample line (log-formats reference, sample A and C).
DOCS_SAMPLE_FIELDS: tuple[str, ...] = (
    "version", "streamId", "cp", "reqId", "reqTimeSec", "bytes", "cliIP", "statusCode", "proto",
    "reqHost", "reqMethod", "reqPath", "reqPort", "rspContentLen", "rspContentType", "UA",
    "tlsOverheadTimeMSec", "tlsVersion", "objSize", "uncompressedSize", "overheadBytes", "totalBytes",
    "queryStr", "breadcrumbs", "accLang", "cookie", "range", "referer", "xForwardedFor", "maxAgeSec",
    "reqEndTimeMSec", "errorCode", "turnAroundTimeMSec", "transferTimeMSec", "dnsLookupTimeMSec",
    "lastByte", "edgeIP", "country", "state", "city", "serverCountry", "billingRegion", "cacheStatus",
)  # fmt: skip


def airflow_major() -> int:
    """2 or 3: which Airflow this venv runs (read from package metadata, importing nothing)."""
    from importlib.metadata import version

    return int(version("apache-airflow").split(".", 1)[0])


_db_ready = False


def migrate_airflow_db() -> None:
    """``airflow db migrate`` once per session, with the real CLI."""
    global _db_ready
    if not _db_ready:
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run(
            [str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
        )
        _db_ready = True


# Names of the resources the end-to-end tests create in moto.
INGEST, STORE, TABLE = "es-ingest", "es-store", "es-rules"


def load_cfn(text: str) -> dict:
    """A CloudFormation template, short tags included: ``!Sub x`` -> ``{"Fn::Sub": x}``."""
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix in ("Ref", "Condition"):
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    CfnLoader.add_multi_constructor("!", construct)
    return yaml.load(text, Loader=CfnLoader)


def archive_recent(*, reprocess: bool = False, hours_back: int = 2) -> dict:
    """Run the archive's two task bodies (write requests, add Glue partitions) over recent hours.

    What ``edgesense_archive`` does for an interval, for tests whose batches were just
    claimed and whose hourly interval has not ended yet.
    """
    from datetime import UTC, datetime, timedelta

    from edgesense.config import Settings
    from edgesense.interval import Interval
    from edgesense.tasks.archive import archive_interval
    from edgesense.tasks.common import add_partitions_for

    settings = Settings.from_env()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    summary = archive_interval(settings, Interval(hour - timedelta(hours=hours_back), hour + timedelta(hours=1)),
                               reprocess=reprocess)  # fmt: skip
    add_partitions_for(settings, "requests", summary.get("partitions") or [])
    return summary

"""Where the embedded AWS of ``make airflow`` / ``make demo`` is: a record under ``.run/``.

Its port is random, so the stack writes this record when it starts and removes it when it
stops; ``edgesense local env`` turns it into ``export`` lines for the CLI and the ``aws``
CLI. Core: no AWS, no Airflow.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECORD = "local-aws.json"


@dataclass(frozen=True)
class LocalAws:
    """The endpoint, dummy credentials and resource names of a running embedded AWS."""

    endpoint: str
    region: str
    #: moto_server's process: the record is stale once it is gone.
    pid: int
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    #: EDGESENSE_* settings naming its buckets, table, Glue database and stage.
    settings: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """What boto3, the ``aws`` CLI and ``edgesense`` read to reach it."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **self.settings,
        }

    def write(self, run_dir: Path) -> Path:
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / RECORD
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> LocalAws:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def alive(self) -> bool:
        """Whether moto_server still runs (a crash leaves the record behind)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def find_record(start: Path) -> Path | None:
    """``.run/local-aws.json`` in ``start`` or the nearest folder above it that has one."""
    for folder in (start, *start.parents):
        if (candidate := folder / ".run" / RECORD).is_file():
            return candidate
    return None

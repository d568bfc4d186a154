"""One DuckDB session per batch: explicit threads, memory and spill folder, and the SQL runner.

Every path (metrics, line-by-line, archive, relabel) runs its SQL through a
:class:`Session`, which loads ``include/sql/duckdb/macros.sql`` first, so all of them
share one definition of what each field means.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from edgesense import sql

_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class Session:
    """A DuckDB connection with bounded resources and a private spill folder."""

    def __init__(
        self, *, threads: int = 2, memory_limit: str = "1GB", temp_dir: str | Path | None = None
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="edgesense-duckdb-", dir=temp_dir)
        self.con = duckdb.connect(
            config={
                "threads": threads,
                "memory_limit": memory_limit,
                "temp_directory": self._tmp.name,
                # Workers may be offline (MWAA private networking): never fetch extensions.
                "autoinstall_known_extensions": False,
                "preserve_insertion_order": False,
            }
        )
        self.run("macros.sql")

    @property
    def scratch(self) -> Path:
        """A folder that lives as long as the session (intermediate files)."""
        return Path(self._tmp.name)

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, name: str, params: dict[str, Any] | None = None, **slots: Any) -> duckdb.DuckDBPyConnection:
        """Run ``include/sql/duckdb/<name>``; return the last statement's cursor."""
        last = self.con
        for stmt in sql.statements(f"duckdb/{name}", **slots):
            last = self.con.execute(stmt, used(stmt, params))
        return last

    def rows(self, name: str, params: dict[str, Any] | None = None, **slots: Any) -> list[dict[str, Any]]:
        cur = self.run(name, params, **slots)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def engine_detects_truncated_gzip() -> bool:
    """DuckDB 2 raises on a truncated gzip stream; 1.4 (MWAA 2.11's pin) reads up to the cut."""
    return int(duckdb.__version__.split(".", 1)[0]) >= 2


def used(stmt: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only the parameters a statement names (DuckDB rejects unused named parameters)."""
    if not params:
        return None
    names = set(_PLACEHOLDER.findall(stmt))  # one pass: statements with many rules are long
    out = {k: v for k, v in params.items() if k in names}
    return out or None

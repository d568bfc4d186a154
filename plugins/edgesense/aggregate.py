"""The DuckDB core: parse a batch of local log files, name URL patterns, aggregate.

One :class:`Aggregator` handles one batch. It scans every file once, reduces to distinct
paths before applying the rules (each regex compiled once, as a bound constant), and
leaves three tables behind: ``requests`` (one row per valid line), ``minute_metrics``
and the rejected lines in ``stage``. Nothing here knows about Airflow or AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from edgesense import sql
from edgesense.config import Settings
from edgesense.duck import Session
from edgesense.formats import CorruptObject, detect
from edgesense.loading import LineLoader
from edgesense.rules import RuleSet

log = logging.getLogger(__name__)

#: The line path's transform once the lines are read, in order (each file names the
#: tables it reads and writes): rejects of the reader, one parse per format, typing and
#: checks into ``stage``.
PARSE_STAGES = (
    "line/add_cut_line_rejects.sql",
    "line/parse_ds2_json.sql",
    "line/parse_ds1_raw.sql",
    "line/parse_ds2_structured.sql",
    "line/normalize.sql",
)
#: Then, over ``paths_to_name``: patterns, decoded text, the requests view and the tables.
LABEL_STAGES = (
    "match_patterns.sql",
    "line/decode_text.sql",
    "line/build_requests.sql",
    "line/minute_metrics.sql",
    "line/unmatched_paths.sql",
)


@dataclass(frozen=True)
class SourceFile:
    """A local copy of one object; ``key`` is what users see in errors (S3 key or path).

    ``arrived`` (its S3 LastModified) anchors the accepted event-time spread; without it
    (local files) any event time from 1970 on is accepted.
    """

    path: Path
    key: str
    arrived: datetime | None = None


@dataclass
class BatchResult:
    lines_valid: int = 0
    lines_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    files_processed: int = 0
    files_rejected: list[dict[str, str]] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    rules_version: str = ""
    rules_rejected: list[dict[str, str]] = field(default_factory=list)

    @property
    def lines_total(self) -> int:
        return self.lines_valid + self.lines_rejected

    @property
    def reject_ratio(self) -> float:
        return self.lines_rejected / self.lines_total if self.lines_total else 0.0

    def as_report(self) -> dict[str, Any]:
        return {
            "lines_valid": self.lines_valid,
            "lines_rejected": self.lines_rejected,
            "reject_reasons": self.reject_reasons,
            "files_processed": self.files_processed,
            "files_rejected": self.files_rejected,
            "formats": self.formats,
            "rules_version": self.rules_version,
            "rules_rejected": self.rules_rejected,
        }


@dataclass(frozen=True)
class ReadOptions:
    """How lines are read, judged and named: the same on every path (metrics, line, archive)."""

    #: The field order of DS2 STRUCTURED (space-separated) logs; empty: such files are rejected.
    structured_fields: tuple[str, ...] = ()
    unmatched: str = "Unmatched"
    #: Unmatched paths kept per hour and batch in ``unmatched_paths``.
    unmatched_top: int = 1000
    #: The accepted event-time spread around an object's arrival (S3 LastModified).
    max_event_age: timedelta = timedelta(days=30)
    max_event_ahead: timedelta = timedelta(days=1)

    @property
    def bounds(self) -> dict[str, int]:
        """The accepted spread in microseconds, as the SQL binds it."""
        return {"max_age_us": _micros(self.max_event_age), "max_ahead_us": _micros(self.max_event_ahead)}

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadOptions:
        return cls(structured_fields=tuple(settings.structured_field_list), unmatched=settings.effective_unmatched,
                   unmatched_top=settings.unmatched_top, max_event_age=timedelta(days=settings.max_event_age_days),
                   max_event_ahead=timedelta(hours=settings.max_event_ahead_hours))  # fmt: skip


class Aggregator:
    """Parse and aggregate one batch with explicit DuckDB resources (or in a given session)."""

    def __init__(
        self, options: ReadOptions | None = None, *, threads: int = 2, memory_limit: str = "1GB",
        temp_dir: str | Path | None = None, session: Session | None = None,
    ) -> None:  # fmt: skip
        self._own = session is None
        self.session = session or Session(threads=threads, memory_limit=memory_limit, temp_dir=temp_dir)
        self.con = self.session.con
        self.options = options or ReadOptions()

    def close(self) -> None:
        if self._own:
            self.session.close()

    def __enter__(self) -> Aggregator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, name: str, params: dict[str, Any] | None = None, **slots: Any) -> duckdb.DuckDBPyConnection:
        return self.session.run(name, params, **slots)

    def _rows(self, name: str, params: dict[str, Any] | None = None, **slots: Any) -> list[dict[str, Any]]:
        return self.session.rows(name, params, **slots)

    # -- loading ---------------------------------------------------------------------------

    def process(self, files: list[SourceFile], rules: RuleSet, *, batch_id: str = "local") -> BatchResult:
        """Scan ``files``, apply ``rules`` and build the batch's tables."""
        result = self.load(files, rules)
        self.run("line/paths_from_stage.sql")
        return self.finish(rules, result, batch_id=batch_id)

    def load(self, files: list[SourceFile], rules: RuleSet) -> BatchResult:
        """Read, parse and check every line of ``files`` into ``stage``."""
        result = BatchResult(rules_version=rules.version)
        result.rules_rejected = [{"rule_id": r.rule_id, "reason": r.reason} for r in rules.rejected]
        loader = LineLoader(self.session)
        self.run("line/create_objects.sql")
        self.run("line/create_raw_lines.sql")
        self.run("line/create_parsed.sql")

        groups: dict[bool, list[SourceFile]] = {True: [], False: []}
        for f in files:
            try:
                sniffed = detect(f.path, self.options.structured_fields)
            except CorruptObject as exc:
                result.files_rejected.append({"key": f.key, "reason": str(exc)})
                continue
            if sniffed.format == "ds2_structured" and not self.options.structured_fields:
                result.files_rejected.append({"key": f.key, "reason": "structured log but no field order"})
                continue
            self.run(
                "line/objects_insert.sql",
                {
                    "local_file": str(f.path),
                    "key": f.key,
                    "format": sniffed.format,
                    "plus": sniffed.plus_is_space,
                    "arrived": f.arrived,
                },
            )
            groups[sniffed.compressed].append(f)

        for compressed, members in groups.items():
            good = loader.read_group(members, compressed, result)
            for f in members:
                if f not in good:
                    self.run("line/objects_drop.sql", {"local_file": str(f.path)})
        result.formats = {r["format"]: r["n"] for r in self._rows("line/objects_summary.sql")}
        result.files_processed = sum(result.formats.values())

        if loader.scanned:  # reject_errors exists only once a store_rejects scan has run
            self.run("line/add_encoding_rejects.sql")
        params = {"fields": list(self.options.structured_fields) or [""], **self.options.bounds}
        for stage in PARSE_STAGES:
            self.run(stage, params)
        return result

    def finish(self, rules: RuleSet, result: BatchResult, *, batch_id: str) -> BatchResult:
        """Name the paths of ``paths_to_name`` and build requests, minute_metrics and unmatched_paths."""
        params = {"unmatched": self.options.unmatched, "top": self.options.unmatched_top, "batch_id": batch_id,
                  "rules_version": rules.version, **rules.params()}  # fmt: skip
        for stage in LABEL_STAGES:
            self.run(stage, params, rule_count=len(rules.active))

        reasons = self._rows("line/reject_summary.sql")
        result.reject_reasons = {r["reject_reason"]: r["n"] for r in reasons}
        result.lines_rejected = sum(result.reject_reasons.values())
        result.lines_valid = self._rows("line/count_requests.sql")[0]["n"]
        return result

    # -- results ---------------------------------------------------------------------------

    def minute_metrics(self) -> list[dict[str, Any]]:
        return self._rows("select_minute_metrics.sql")

    def latency_distribution(self) -> list[dict[str, Any]]:
        return self._rows("line/latency_distribution.sql")

    def output_rows(self) -> list[dict[str, Any]]:
        return self._rows("cli/aggregate_output.sql")

    def reject_sample(self, limit: int) -> list[dict[str, Any]]:
        return self._rows("line/reject_sample.sql", {"limit": limit})

    def rejects_by_object(self, limit: int = 10) -> list[dict[str, Any]]:
        return self._rows("line/reject_by_object.sql", {"limit": limit})

    def write_parquet(
        self,
        out_dir: Path,
        batch_id: str,
        tables: tuple[str, ...] = ("requests", "minute_metrics", "unmatched_paths"),
    ) -> dict[str, list[Path]]:
        """Write ``requests/``, ``minute_metrics/`` and ``unmatched_paths/``, Hive-partitioned by dt and hour.

        File names carry the batch id, so writing the same batch again replaces its files
        instead of adding copies next to them.
        """
        written: dict[str, list[Path]] = {}
        for table in tables:
            target = out_dir / table
            rel = self.con.table(sql.check_identifier(table))
            if table == "requests":
                rel = rel.project("* EXCLUDE (sum_part)")  # bookkeeping of minute_metrics.sql
            if rel.aggregate("count(*)").fetchall()[0][0] == 0:
                written[table] = []
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            rel.to_parquet(
                str(target),
                partition_by=["dt", "hour"],
                filename_pattern=f"part-{batch_id}-{{i}}",
                overwrite=True,
                compression="zstd",
            )
            written[table] = sorted(target.rglob("*.parquet"))
        return written


def _micros(d: timedelta) -> int:
    return int(d.total_seconds() * 1_000_000)

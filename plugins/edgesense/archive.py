"""The archive: every valid request of many batches to ``requests`` Parquet, sized for Athena.

Runs on its own schedule (hourly by default), apart from the metrics path, so the metrics
never wait for the wide write. Each batch's requests are named with that batch's own
rules. Files whose every line is a valid request are read once with a wide
``read_json`` and written straight out (``archive/write_requests.sql``); the others go
through the line path of :class:`~edgesense.aggregate.Aggregator`, exactly as the metrics
path sent them there, so the archive holds the same requests the metrics counted.
Nothing here knows about Airflow or AWS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgesense.aggregate import Aggregator, ReadOptions, SourceFile
from edgesense.duck import Session
from edgesense.metrics_path import SCANNED_FORMATS, Scanner
from edgesense.rules import RuleSet

log = logging.getLogger(__name__)

#: Rows per Parquet row group (DuckDB's default; write_requests.sql flushes each partition
#: at this size, which bounds memory by the open partitions, not by the input).
ROW_GROUP_ROWS = 122_880


@dataclass(frozen=True)
class ArchiveBatch:
    """One batch's local files and the rules its metrics were counted with."""

    batch_id: str
    rules: RuleSet
    files: list[SourceFile]


@dataclass
class ArchiveResult:
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    batches: int = 0
    objects: int = 0
    line_path_objects: int = 0
    rejected_objects: list[dict[str, str]] = field(default_factory=list)


class Archiver:
    """Write the ``requests`` of a set of batches in one pass."""

    def __init__(
        self, options: ReadOptions | None = None, *, threads: int = 2, memory_limit: str = "1GB",
        temp_dir: str | Path | None = None, row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:  # fmt: skip
        self.session = Session(threads=threads, memory_limit=memory_limit, temp_dir=temp_dir)
        self.threads = threads
        self.options = options or ReadOptions()
        self.row_group_rows = row_group_rows

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Archiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(
        self, batches: list[ArchiveBatch], out_dir: Path, run_id: str,
        progress: Callable[[str], None] | None = None,
    ) -> ArchiveResult:  # fmt: skip
        """Write ``out_dir/dt=…/hour=…/part-<run_id>-<n>.parquet``; return what was written."""
        result = ArchiveResult(batches=len(batches))
        line = Aggregator(self.options, session=self.session)
        line.process([], RuleSet(()))  # the line path's empty tables, for archive_line_rows' shape
        self.session.run("archive/create_archive.sql")
        scanner = Scanner(self.session, self.options.structured_fields, self.threads)
        clean: list[str] = []
        for group in _by_rules(batches):
            rules = group[0].rules
            scanned, line_files = self._scan_group(scanner, group, rules)
            clean += scanned
            for b in group:
                result.objects += len(b.files)
                if line_files[b.batch_id]:
                    result.line_path_objects += len(line_files[b.batch_id])
                    lr = line.process(line_files[b.batch_id], b.rules, batch_id=b.batch_id)
                    result.rejected_objects += lr.files_rejected
                    self.session.run("archive/keep_line_rows.sql")
            if progress:
                progress(f"{len(group)} batch(es) with rules {rules.version} read")
        formats = {link: scanner.sniffed[link].format for link in clean}
        ds2 = [x for x in clean if formats[x] == "ds2_json"]
        ds1 = [x for x in clean if formats[x] == "ds1_raw"]
        out_dir.mkdir(parents=True, exist_ok=True)
        self.session.run(
            "archive/write_requests.sql",
            {"ds2_files": ds2 or [scanner.empty], "ds1_files": ds1 or [scanner.empty], "out": str(out_dir),
             "row_group_size": self.row_group_rows, "pattern": f"part-{run_id}-{{i}}"},
        )  # fmt: skip
        result.files = sorted(out_dir.rglob("*.parquet"))
        if result.files:
            result.rows = int(
                self.session.con.execute(
                    "SELECT count(*) FROM read_parquet($f)", {"f": [str(f) for f in result.files]}
                ).fetchall()[0][0]
            )
        return result

    def _scan_group(self, scanner: Scanner, group: list[ArchiveBatch], rules: RuleSet):
        """Scan one rules version's batches and name their paths: clean links, and line-path files per batch."""
        owner = {id(f): b for b in group for f in b.files}
        links, line_files = scanner.prepare([f for b in group for f in b.files])
        by_batch: dict[str, list[SourceFile]] = {b.batch_id: [] for b in group}
        for f in line_files:
            by_batch[owner[id(f)].batch_id].append(f)
        failed, dirty = scanner.scan(links, self.options.bounds)
        clean = []
        for link, f in links.items():
            b = owner[id(f)]
            if link in failed or link in dirty:
                by_batch[b.batch_id].append(f)
                continue
            clean.append(link)
            sniffed = scanner.sniffed[link]
            self.session.run(
                "archive/archive_objects_insert.sql",
                {"local_file": link, "key": f.key, "format": sniffed.format, "plus": sniffed.plus_is_space,
                 "batch_id": b.batch_id, "rules_version": rules.version},
            )  # fmt: skip
        self.session.run("ingest/paths_from_scan.sql")
        self.session.run("match_patterns.sql", {"unmatched": self.options.unmatched, **rules.params()},
                         rule_count=len(rules.active))  # fmt: skip
        self.session.run("archive/keep_patterns.sql", {"rules_version": rules.version})
        return clean, by_batch


def _by_rules(batches: list[ArchiveBatch]) -> list[list[ArchiveBatch]]:
    """Batches grouped by rules version: each group's paths are named once."""
    out: dict[str, list[ArchiveBatch]] = {}
    for b in batches:
        out.setdefault(b.rules.version, []).append(b)
    return list(out.values())


__all__ = ["SCANNED_FORMATS", "ArchiveBatch", "ArchiveResult", "Archiver"]

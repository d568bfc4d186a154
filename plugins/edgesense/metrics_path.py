"""The metrics path: one narrow scan per batch, reduced at once to partial sums.

What CloudWatch waits for. The JSON objects of a batch are read once with ``read_json``
of only the fields the metrics need, grouped straight to (minute, host, path, status)
sums, the latency distribution and per-file line counts (``ingest/scan.sql``). Only
files with a line that is not a valid request, or whose scan fails, go through the line
path of :class:`~edgesense.aggregate.Aggregator`, so reject reasons, samples and
quarantine are exactly the line path's, and a clean file never pays for them. The rules
name each distinct (host, path) of both paths once. No table of requests is built: the
archive (:mod:`edgesense.archive`) writes those, on its own schedule.

Nothing here knows about Airflow or AWS.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from edgesense import sql
from edgesense.aggregate import Aggregator, BatchResult, ReadOptions, SourceFile
from edgesense.duck import Session, engine_detects_truncated_gzip
from edgesense.formats import CorruptObject, Sniffed, detect, gzip_problem
from edgesense.rules import RuleSet

log = logging.getLogger(__name__)

#: Formats the narrow scan reads; the others (DS2 structured) take the line path.
SCANNED_FORMATS = ("ds2_json", "ds1_raw")
#: What a strict read of a file raises for its content (never for the SQL): the file then
#: takes the line path, which names each bad line.
SCAN_ERRORS = (duckdb.IOException, duckdb.InvalidInputException)


class MetricsAggregator:
    """Aggregate one batch for CloudWatch and ``minute_metrics``; same results as the line path."""

    def __init__(
        self, options: ReadOptions | None = None, *, threads: int = 2, memory_limit: str = "1GB",
        temp_dir: str | Path | None = None,
    ) -> None:  # fmt: skip
        self.session = Session(threads=threads, memory_limit=memory_limit, temp_dir=temp_dir)
        self.con = self.session.con
        self.threads = threads
        self.options = options or ReadOptions()
        self.line = Aggregator(self.options, session=self.session)
        self.stats: dict[str, Any] = {}

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MetricsAggregator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def process(self, files: list[SourceFile], rules: RuleSet, *, batch_id: str = "local") -> BatchResult:
        """Scan ``files``, send the ones that need it through the line path, name patterns, reduce."""
        scanner = Scanner(self.session, self.options.structured_fields, self.threads)
        links, line_files = scanner.prepare(files)
        failed, dirty = scanner.scan(links, self.options.bounds)
        clean = [link for link in links if link not in dirty and link not in failed]
        line_files += [f for link, f in links.items() if link in dirty or link in failed]
        self.stats = {"scanned": len(clean), "line_path": len(line_files), "scan_failed": len(failed)}
        if line_files:
            log.info("%d of %d file(s) go through the line path (%d with a line that is not a valid request, "
                     "%d whose scan failed)", len(line_files), len(files), len(dirty), len(failed))  # fmt: skip

        result = self.line.load(line_files, rules)
        self.session.run("ingest/paths_from_scan.sql")
        self.line.finish(rules, result, batch_id=batch_id)
        self.session.run(
            "ingest/combine.sql", {"unmatched": self.options.unmatched, "top": self.options.unmatched_top}
        )
        result.lines_valid += int(
            self.con.execute("SELECT coalesce(sum(requests), 0) FROM scan_groups").fetchall()[0][0]
        )
        for link in clean:
            fmt = scanner.sniffed[link].format
            result.formats[fmt] = result.formats.get(fmt, 0) + 1
        result.formats = dict(sorted(result.formats.items()))
        result.files_processed += len(clean)
        return result

    # -- results (the same as the line path's) ---------------------------------------------

    def minute_metrics(self) -> list[dict[str, Any]]:
        return self.session.rows("select_minute_metrics.sql")

    def latency_distribution(self) -> list[dict[str, Any]]:
        return self.session.rows("ingest/latency_distribution.sql")

    def write_output(self, out: Path) -> int:
        """The CLI's output (``.csv`` or ``.parquet``), straight from DuckDB; returns its row count."""
        out.parent.mkdir(parents=True, exist_ok=True)
        rel = self.con.sql(sql.load("duckdb/cli/aggregate_output.sql"))
        if out.suffix == ".csv":
            rel.to_csv(str(out), header=True)
        else:
            rel.to_parquet(str(out))
        return int(rel.shape[0])

    def reject_sample(self, limit: int) -> list[dict[str, Any]]:
        return self.line.reject_sample(limit)

    def rejects_by_object(self, limit: int = 10) -> list[dict[str, Any]]:
        return self.line.rejects_by_object(limit)

    def write_parquet(self, out_dir: Path, batch_id: str) -> dict[str, list[Path]]:
        """``minute_metrics/`` and ``unmatched_paths/``; ``requests/`` is the archive's."""
        return self.line.write_parquet(out_dir, batch_id, tables=("minute_metrics", "unmatched_paths"))


class Scanner:
    """Sniffs, names and scans files for the narrow pass; finds the ones the line path must take."""

    def __init__(self, session: Session, structured_fields: tuple[str, ...], threads: int) -> None:
        self.session, self.structured_fields, self.threads = session, structured_fields, threads
        self.sniffed: dict[str, Sniffed] = {}
        self.empty = str(session.scratch / "empty.json")
        Path(self.empty).touch()
        session.run("ingest/create_scan_objects.sql")

    def prepare(self, files: list[SourceFile]) -> tuple[dict[str, SourceFile], list[SourceFile]]:
        """The files the scan reads, by the name it reads them under; and the rest, for the line path."""
        links: dict[str, SourceFile] = {}
        line_files: list[SourceFile] = []
        scanned: list[tuple[SourceFile, Sniffed]] = []
        for f in files:
            try:
                sniffed = detect(f.path, self.structured_fields)
            except CorruptObject:
                line_files.append(f)  # the line path rejects it, with its reason
                continue
            (scanned.append((f, sniffed)) if sniffed.format in SCANNED_FORMATS else line_files.append(f))
        if scanned and not engine_detects_truncated_gzip():
            # This DuckDB reads a truncated gzip stream silently: check the streams here.
            with ThreadPoolExecutor(max_workers=max(1, self.threads)) as pool:
                problems = list(
                    pool.map(lambda fs: gzip_problem(fs[0].path) if fs[1].compressed else None, scanned)
                )
            line_files += [f for (f, _), p in zip(scanned, problems, strict=True) if p]
            scanned = [fs for fs, p in zip(scanned, problems, strict=True) if not p]
        for f, sniffed in scanned:
            # DuckDB decides compression by the name: name each file by what it holds.
            link = (
                self.session.scratch / f"scan-{len(self.sniffed)}.json{'.gz' if sniffed.compressed else ''}"
            )
            os.symlink(f.path.resolve(), link)
            links[str(link)] = f
            self.sniffed[str(link)] = sniffed
            self.session.run(
                "ingest/scan_objects_insert.sql", {"local_file": str(link), "arrived": f.arrived}
            )
        return links, line_files

    def scan(self, links: dict[str, SourceFile], bounds: dict[str, int]) -> tuple[set[str], set[str]]:
        """Scan the files; return the ones whose scan failed and the ones with a line that is not valid.

        One pass over all of them. Only if that pass finds a group that is not all valid
        (or event times near the accepted spread) is it repeated with the files kept apart,
        to name them; if it fails, each file is scanned alone to find the damaged ones.
        """
        self.session.run("ingest/create_scan.sql")
        self.session.run("ingest/create_line_path_files.sql")
        failed: set[str] = set()
        by_file = False
        if links:
            try:
                self.scan_into(list(links), by_file=False)
            except SCAN_ERRORS as exc:  # a malformed line, or a truncated gzip stream (DuckDB 2)
                log.warning("scan of %d file(s) failed (%s); scanning each to isolate the damaged ones",
                            len(links), str(exc).split("\n", 1)[0])  # fmt: skip
                self.session.run("ingest/create_scan.sql")
                by_file = True
                for link in links:
                    try:
                        self.scan_into([link], by_file=True)
                    except SCAN_ERRORS:
                        failed.add(link)
            self.session.run("ingest/scan_valid.sql")
            if not by_file and self.session.rows("ingest/suspicious.sql", bounds)[0]["suspicious"]:
                self.session.run("ingest/create_scan.sql")
                self.scan_into(list(links), by_file=True)
                self.session.run("ingest/scan_valid.sql")
                by_file = True
        else:
            self.session.run("ingest/scan_valid.sql")
        dirty = (
            {r["local_file"] for r in self.session.rows("ingest/dirty_files.sql", bounds)}
            if by_file
            else set()
        )
        for link in sorted(failed | dirty):
            self.session.run("ingest/line_path_files_insert.sql", {"local_file": link})
        return failed, dirty & set(links)

    def scan_into(self, links: list[str], *, by_file: bool) -> None:
        by_format = {fmt: [x for x in links if self.sniffed[x].format == fmt] for fmt in SCANNED_FORMATS}
        self.session.run(
            "ingest/scan.sql",
            {"ds2_files": by_format["ds2_json"] or [self.empty], "ds1_files": by_format["ds1_raw"] or [self.empty],
             "by_file": by_file},
        )  # fmt: skip

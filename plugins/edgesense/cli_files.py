"""The verbs on local files: ``edgesense aggregate`` (the metrics path) and ``edgesense archive``.

Import no Airflow and no AWS, so they start in well under a second, on a laptop.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


class Progress:
    """One self-overwriting status line on a terminal; plain lines otherwise."""

    def __init__(self, total: int, label: str, stream=sys.stderr) -> None:
        self.total, self.label, self.stream = total, label, stream
        self.tty = stream.isatty()
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if self.tty and (now - self._last > 0.1 or self.done == self.total):
            pct = 100 * self.done / self.total if self.total else 100
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} ({pct:3.0f}%) {note[:60]:<60}")
            self.stream.flush()
            self._last = now
        elif not self.tty and (self.done == self.total or self.done % max(1, self.total // 10) == 0):
            self.stream.write(f"{self.label}: {self.done}/{self.total}\n")

    def close(self) -> float:
        if self.tty:
            self.stream.write("\n")
        return time.monotonic() - self.start


def cmd_aggregate(args: argparse.Namespace) -> int:
    from edgesense.aggregate import SourceFile
    from edgesense.metrics_path import MetricsAggregator

    files, rules = _inputs(args)
    if files is None:
        return 2
    out = Path(args.output)
    if out.suffix not in (".csv", ".parquet"):
        print("error: --output must end in .csv or .parquet", file=sys.stderr)
        return 2
    started = time.monotonic()
    with MetricsAggregator(
        threads=args.threads,
        memory_limit=args.memory_limit,
        structured_fields=_fields(args),
        unmatched=args.unmatched,
    ) as agg:
        _show_duckdb_progress(agg.con)
        result = agg.process([SourceFile(f, str(f)) for f in files], rules)
        rows = _write_rows(agg, out)
    elapsed = time.monotonic() - started
    report = result.as_report()
    report["output_rows"] = rows
    report["seconds"] = round(elapsed, 3)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    rate = result.lines_total / elapsed if elapsed else 0
    print(
        f"{len(files)} file(s), {result.lines_valid} valid line(s), {result.lines_rejected} rejected, "
        f"{len(result.files_rejected)} file(s) rejected -> {rows} row(s) in {out} "
        f"({elapsed:.2f}s, {rate:,.0f} lines/s; rules {rules.version}, {len(rules.rejected)} rejected)",
        file=sys.stderr,
    )
    for bad in result.files_rejected:
        print(f"rejected file {bad['key']}: {bad['reason']}", file=sys.stderr)
    for reason, n in result.reject_reasons.items():
        print(f"rejected lines: {n} x {reason}", file=sys.stderr)
    return 0


def _write_rows(agg, out: Path) -> int:
    """Write the output straight from DuckDB (no rows through Python); return how many."""
    from edgesense import sql

    out.parent.mkdir(parents=True, exist_ok=True)
    rel = agg.con.sql(sql.load("duckdb/cli/aggregate_output.sql"))
    if out.suffix == ".csv":
        rel.to_csv(str(out), header=True)
    else:
        rel.to_parquet(str(out))
    return int(rel.shape[0])


def _inputs(args: argparse.Namespace):
    """The files and rules of a local verb; (None, None) after saying what is wrong."""
    from edgesense.rules import RuleSet, read_csv_rules

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"error: not a file: {', '.join(missing)}", file=sys.stderr)
        return None, None
    rules = read_csv_rules(Path(args.rules).read_text(encoding="utf-8")) if args.rules else RuleSet(())
    for r in rules.rejected:
        print(f"warning: {r}", file=sys.stderr)
    return files, rules


def _fields(args: argparse.Namespace) -> list[str] | None:
    return [f.strip() for f in args.structured_fields.split(",")] if args.structured_fields else None


def cmd_archive(args: argparse.Namespace) -> int:
    from edgesense.aggregate import SourceFile
    from edgesense.archive import ArchiveBatch, Archiver

    files, rules = _inputs(args)
    if files is None:
        return 2
    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.rglob("*.parquet"))):
        print(
            f"error: {out} is not an empty folder; give a new one (nothing is overwritten)", file=sys.stderr
        )
        return 2
    progress = Progress(2, "archive")
    with Archiver(threads=args.threads, memory_limit=args.memory_limit, structured_fields=_fields(args),
                  unmatched=args.unmatched) as arch:  # fmt: skip
        _show_duckdb_progress(arch.session.con)
        result = arch.write([ArchiveBatch("local", rules, [SourceFile(f, str(f)) for f in files])], out, "local",
                            progress=lambda note: progress.step(note=note))  # fmt: skip
        progress.step(note="written")
    elapsed = progress.close()
    partitions = sorted({f.parent.relative_to(out).as_posix() for f in result.files})
    print(
        f"{len(files)} file(s) -> {result.rows} request(s) in {len(result.files)} Parquet file(s), "
        f"{len(partitions)} partition(s) under {out} ({elapsed:.2f}s, {result.rows / elapsed if elapsed else 0:,.0f} "
        f"rows/s; {result.line_path_objects} file(s) read line by line; rules {rules.version})",
        file=sys.stderr,
    )
    for bad in result.rejected_objects:
        print(f"rejected file {bad['key']}: {bad['reason']}", file=sys.stderr)
    return 0


def _show_duckdb_progress(con) -> None:
    """DuckDB's own progress bar for long queries, on a terminal only."""
    if sys.stderr.isatty():
        con.execute("SET enable_progress_bar = true")

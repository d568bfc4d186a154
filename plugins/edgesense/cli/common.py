"""What the subcommands share: settings, inputs, and progress on the terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from edgesense.config import Settings

if TYPE_CHECKING:
    from edgesense.aggregate import ReadOptions
    from edgesense.rules import RuleSet

TABLE_HELP = "DynamoDB rules table (default: $EDGESENSE_RULES_TABLE or edgesense-rules)"
BUCKET_HELP = "store bucket (default: $EDGESENSE_STORE_BUCKET or edgesense-store)"


def settings() -> Settings:
    """The same settings the DAGs read (``EDGESENSE_*``), for the table and bucket defaults."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc} (EDGESENSE_* variables give the defaults of --table and --bucket; fix the "
              "variable or pass the option)", file=sys.stderr)  # fmt: skip
        raise SystemExit(2) from None


def add_local_options(p: argparse.ArgumentParser) -> None:
    """The options of the verbs on local files (aggregate, archive)."""
    p.add_argument("files", nargs="+", help="log files: DS2 JSON, DS1 raw or DS2 structured, gzip or plain")
    p.add_argument("--rules", help="rules CSV with columns Id,Regex,Rank (default: no rules)")
    p.add_argument("--unmatched", default="Unmatched", help="pattern id for unmatched paths")
    p.add_argument("--structured-fields", help="DS2 STRUCTURED field order, comma-separated")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--memory-limit", default="1GB", help="DuckDB memory limit; beyond it DuckDB spills to disk"
    )


def inputs(args: argparse.Namespace) -> tuple[list[Path], RuleSet] | None:
    """The files and rules of a local verb; None after saying what is wrong."""
    from edgesense.rules import RuleSet, read_csv_rules

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"error: not a file: {', '.join(missing)}", file=sys.stderr)
        return None
    rules = read_csv_rules(Path(args.rules).read_text(encoding="utf-8")) if args.rules else RuleSet(())
    for r in rules.rejected:
        print(f"warning: {r}", file=sys.stderr)
    return files, rules


def read_options(args: argparse.Namespace) -> ReadOptions:
    from edgesense.aggregate import ReadOptions

    fields = tuple(f.strip() for f in args.structured_fields.split(",")) if args.structured_fields else ()
    return ReadOptions(structured_fields=fields, unmatched=args.unmatched)


@contextmanager
def progress(label: str, total: int) -> Iterator:
    """A rich progress bar on standard error; call ``advance(n, note)`` as work is done.

    On a terminal it redraws in place; elsewhere (logs, CI) it prints its final state once.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[note]}"), console=Console(stderr=True))  # fmt: skip
    task = bar.add_task(label, total=total, note="")
    with bar:
        yield lambda n=1, note="": bar.update(task, advance=n, note=note[:60])


def show_duckdb_progress(con) -> None:
    """DuckDB's own progress bar for long queries, on a terminal only."""
    if sys.stderr.isatty():
        con.execute("SET enable_progress_bar = true")

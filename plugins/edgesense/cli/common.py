"""What the subcommands share: settings, inputs, and progress on the terminal."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from edgesense.cli.errors import UsageError
from edgesense.config import Settings

if TYPE_CHECKING:
    from edgesense.aggregate import ReadOptions
    from edgesense.aws.clients import AwsClients
    from edgesense.rules import RuleSet

TABLE_HELP = "DynamoDB rules table (default: $EDGESENSE_RULES_TABLE or edgesense-rules)"
BUCKET_HELP = "store bucket (default: $EDGESENSE_STORE_BUCKET or edgesense-store)"


def settings() -> Settings:
    """The same settings the DAGs read (``EDGESENSE_*``), for the table and bucket defaults."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise UsageError(
            f"{exc} (EDGESENSE_* variables give the CLI's defaults; fix the variable or pass the option)"
        ) from exc


@cache
def aws() -> AwsClients:
    """One set of clients per command, from boto3's default chain (``AWS_ENDPOINT_URL`` honoured)."""
    from edgesense.aws.clients import AwsClients

    return AwsClients.default_chain()


def int_range(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``lo`` to ``hi``, or a worded error."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {lo} to {hi:,}")
        return value

    return parse


def ratio(raw: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give a ratio from 0 to 1 (0.05 is 5 %)")
    return value


_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE)


def memory_size(raw: str) -> str:
    """An argparse type: a DuckDB memory size such as 512MB or 2GiB."""
    if not _SIZE.fullmatch(raw):
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a size: give a number and a unit, e.g. 512MB or 2GB"
        )
    return raw.strip()


def day(raw: str) -> str:
    """An argparse type: a UTC day, YYYY-MM-DD."""
    try:
        datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a day: give YYYY-MM-DD, e.g. 2026-12-01") from None
    return raw


def utc_time(raw: str) -> datetime:
    """An argparse type: an ISO 8601 time; one without a zone is UTC."""
    from edgesense.interval import as_utc

    try:
        return as_utc(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not an ISO 8601 time: give e.g. 2026-12-01T07:00:00Z (no zone means UTC)"
        ) from None


def add_local_options(p: argparse.ArgumentParser) -> None:
    """The options of the verbs on local files (aggregate, archive)."""
    p.add_argument(
        "files", nargs="+", metavar="FILE_OR_DIR",
        help="log files (DS2 JSON, DS1 raw or DS2 structured, gzip or plain), or folders to read every file of",
    )  # fmt: skip
    p.add_argument("--rules", help="rules CSV with columns Id,Regex,Rank (default: no rules)")
    p.add_argument(
        "--unmatched", default="Unmatched", help="pattern id for unmatched paths (default: Unmatched)"
    )
    p.add_argument("--structured-fields", help="DS2 STRUCTURED field order, comma-separated")
    p.add_argument("--threads", type=int_range(1, 256), default=2, help="DuckDB threads (default: 2)")
    p.add_argument(
        "--memory-limit", type=memory_size, default="1GB",
        help="DuckDB memory limit, e.g. 512MB; beyond it DuckDB spills to disk (default: 1GB)",
    )  # fmt: skip


def input_files(names: Iterable[str]) -> list[Path]:
    """The files named, and every file under the folders named (hidden ones skipped), each once."""
    files: dict[Path, Path] = {}
    for name in names:
        p = Path(name)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f.relative_to(p)))
            if not found:
                raise UsageError(f"folder {name} holds no files")
            files.update((f.resolve(), f) for f in found)
        elif p.is_file():
            files.setdefault(p.resolve(), p)
        else:
            raise UsageError(f"no such file or folder: {name}")
    return list(files.values())


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def rules_csv(path: str) -> RuleSet:
    """A rules CSV, or a worded error if it is missing, empty or lacks a column."""
    from edgesense.rules import read_csv_rules

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"rules file {path} does not exist: give a CSV with columns Id,Regex,Rank")
    text = p.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise UsageError(f"rules file {path} is empty: it needs a header Id,Regex,Rank and one rule per line")
    try:
        return read_csv_rules(text)
    except ValueError as exc:
        raise UsageError(f"rules file {path}: {exc}") from exc


def inputs(args: argparse.Namespace) -> tuple[list[Path], RuleSet]:
    """The files and rules of a local verb, or a worded error."""
    from edgesense.rules import RuleSet

    files = input_files(args.files)
    rules = rules_csv(args.rules) if args.rules else RuleSet(())
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

    console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
    bar = Progress(TextColumn("{task.description}"), MofNCompleteColumn(), BarColumn(bar_width=30),
                   TimeElapsedColumn(), TextColumn("{task.fields[note]}"), console=console)  # fmt: skip
    task = bar.add_task(label, total=total, note="")
    with bar:
        yield lambda n=1, note="": bar.update(task, advance=n, note=note[:60])


def show_duckdb_progress(con) -> None:
    """DuckDB's own progress bar for long queries, on a terminal only."""
    if sys.stderr.isatty():
        con.execute("SET enable_progress_bar = true")

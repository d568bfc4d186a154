"""``edgesense rules dry-run|cost``: rule sets evaluated on local log files or a day of ``requests``."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edgesense.cli.common import BUCKET_HELP, TABLE_HELP, day, input_files, int_range, settings
from edgesense.cli.errors import UsageError, explain
from edgesense.cli.rules import download_day, load_rules, print_rejections, table_of

if TYPE_CHECKING:
    from edgesense.relabel import History
    from edgesense.rules import RuleSet


def add_parsers(rsub: argparse._SubParsersAction) -> None:
    rd = rsub.add_parser(
        "dry-run", help="counts per pattern with the current and a new rule set, and the difference"
    )
    rd.add_argument("files", nargs="*", help="local log files or folders (or use --date)")
    rd.add_argument("--rules", required=True, help="the new rules CSV")
    rd.add_argument("--current", help="current rules CSV (default: the table)")
    rd.set_defaults(func=cmd_dry_run)
    rc = rsub.add_parser("cost", help="CloudWatch series the rules produce, and their monthly cost")
    rc.add_argument("files", nargs="*", help="local log files or folders (or use --date)")
    rc.add_argument("--rules", help="rules CSV instead of the table")
    rc.add_argument(
        "--price", type=float, default=0.30, help="USD per series per month (default: 0.30, the first tier)"
    )
    rc.add_argument("--shape", choices=("default", "original"), default="default",
                    help="metric dimensions: edgesense's or the original's (default: default)")  # fmt: skip
    rc.add_argument(
        "--budget", type=int, default=0, help="max UrlPatternId values per host (default: 0, no budget)"
    )
    rc.set_defaults(func=cmd_cost)
    for sp in (rd, rc):
        sp.add_argument(
            "--date", type=day, help="UTC day of requests Parquet to use, YYYY-MM-DD (default: today)"
        )
        sp.add_argument("--bucket", help=BUCKET_HELP)
        sp.add_argument("--table", help=TABLE_HELP)
        sp.add_argument(
            "--unmatched", default="Unmatched", help="pattern id for unmatched paths (default: Unmatched)"
        )
        sp.add_argument(
            "--top", type=int_range(1, 10_000), default=10, help="unmatched paths to show (default: 10)"
        )


@contextmanager
def _history(args: argparse.Namespace) -> Iterator[tuple[History, str]]:
    """(the requests to evaluate, where they came from), or a worded error."""
    from edgesense.relabel import History

    with tempfile.TemporaryDirectory(prefix="edgesense-rules-") as tmp:
        if args.files:
            files = input_files(args.files)
            history, source = History.from_logs(files, unmatched=args.unmatched), f"{len(files)} file(s)"
        else:
            day = args.date or datetime.now(UTC).strftime("%Y-%m-%d")
            bucket = args.bucket or settings().store_bucket
            files = download_day(bucket, "requests", day, Path(tmp))
            if not files:
                raise UsageError(
                    f"no requests Parquet under s3://{bucket}/requests/dt={day}/: give --date of a day that "
                    "edgesense_archive has written, or local log files"
                )
            history, source = (
                History.from_parquet(files, unmatched=args.unmatched),
                f"s3://{bucket}/requests/dt={day}/",
            )
        with history:
            yield history, source


def table_or_hint(args: argparse.Namespace, csv: str | None, option: str) -> RuleSet:
    """The rules of a CSV, else of the table; without AWS, say that a CSV needs none."""
    from botocore.exceptions import BotoCoreError

    if csv:
        return load_rules(csv, None)
    try:
        return load_rules(None, table_of(args))
    except BotoCoreError as exc:
        message, _ = explain(exc)
        raise UsageError(f"{message}; the rules came from the table: give {option} to need no AWS") from exc


def cmd_cost(args: argparse.Namespace) -> int:
    from edgesense.budget import series_count
    from edgesense.metrics import PIPELINE_METRICS

    with _history(args) as (history, source):
        rules = table_or_hint(args, args.rules, "--rules CSV")
        per_metric = series_count(history.label(rules).counts(), shape=args.shape, budget=args.budget)
    total = sum(per_metric.values()) + len(PIPELINE_METRICS)
    print(f"CloudWatch series for {source} with rules {rules.version} ({len(rules.active)} enabled):")
    for name, n in per_metric.items():
        print(f"  {name:<20}{n:>8}")
    print(f"  {'pipeline metrics':<20}{len(PIPELINE_METRICS):>8}")
    print(f"  {'total':<20}{total:>8}  ~ ${total * args.price:,.2f} per month at ${args.price}/series")
    return 0


def cmd_dry_run(args: argparse.Namespace) -> int:
    from edgesense.rule_changes import dry_run

    with _history(args) as (history, source):
        current = table_or_hint(args, args.current, "--current CSV")
        result = dry_run(history, current, load_rules(args.rules, None), top=args.top)
    print(f"dry-run over {result.requests:,} request(s) from {source}:")
    print(f"  current rules {current.version} ({len(current.active)} enabled) -> new rules {result.new.version} "
          f"({len(result.new.active)} enabled)")  # fmt: skip
    print(f"  {'pattern':<24}{'before':>10}{'after':>10}{'change':>10}")
    for pattern, before, after in result.changes():
        print(f"  {pattern:<24}{before:>10,}{after:>10,}{after - before:>+10,}")
    for label, top in (("before", result.top_before), ("after", result.top_after)):
        print(f"  top unmatched paths {label}:")
        for host, path, n in top:
            print(f"    {n:>8,}  {host}  {path}")
    print_rejections(result.new)
    return 0

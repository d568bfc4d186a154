"""``edgesense rules import|export|validate|test|unmatched``: the rules table and what it matches.

The table and the store bucket are reached with boto3's default chain
(:meth:`AwsClients.default_chain`; ``AWS_ENDPOINT_URL`` points it at a local moto_server).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from edgesense.cli.common import BUCKET_HELP, TABLE_HELP, aws, day, int_range, rules_csv, settings
from edgesense.cli.errors import UsageError

if TYPE_CHECKING:
    from edgesense.rules import RuleSet


def add_parsers(rsub: argparse._SubParsersAction) -> None:
    ri = rsub.add_parser("import", help="write a rules CSV into the table and report what changed")
    ri.add_argument("csv")
    ri.add_argument("--prune", action="store_true", help="also delete rules that are not in the CSV")
    ri.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    ri.set_defaults(func=cmd_import)
    re_ = rsub.add_parser("export", help="the table as the original's CSV")
    re_.add_argument("--output", help="file (default: standard output)")
    re_.set_defaults(func=cmd_export)
    rv = rsub.add_parser("validate", help="every problem of a rules CSV or the table, each named")
    rv.add_argument("csv", nargs="?", help="rules CSV (default: the table)")
    rv.add_argument("--rules", help="rules CSV (same as the positional argument)")
    rv.set_defaults(func=cmd_validate)
    rt = rsub.add_parser("test", help="which rule wins for a path, and which others also match")
    rt.add_argument("path")
    rt.add_argument("--host", help="the request's host, for rules with a Host (default: none)")
    rt.add_argument(
        "--unmatched", default="Unmatched", help="pattern id when no rule matches (default: Unmatched)"
    )
    rt.add_argument("--rules", help="rules CSV instead of the table")
    rt.set_defaults(func=cmd_test)
    ru = rsub.add_parser(
        "unmatched", help="the top unmatched paths of a day, to know which rule to write next"
    )
    ru.add_argument("--date", required=True, type=day, help="UTC day, YYYY-MM-DD")
    ru.add_argument("--top", type=int_range(1, 100_000), default=50, help="how many paths (default: 50)")
    ru.add_argument("--bucket", help=BUCKET_HELP)
    ru.set_defaults(func=cmd_unmatched)
    for sp in (ri, re_, rv, rt, ru):
        sp.add_argument("--table", help=TABLE_HELP)
    rs = rsub.add_parser("sample", help="the original edgesense's five sample rules, as a CSV to start from")
    rs.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from edgesense.rules import csv_text, sample_rule_set

    sys.stdout.write(csv_text(sample_rule_set().rules))
    return 0


def table_of(args: argparse.Namespace) -> str:
    return args.table or settings().rules_table


def rules_store(table: str):
    from edgesense.aws.rules_store import RulesStore

    return RulesStore(aws().dynamodb, table)


def scan_table(table: str) -> list[dict]:
    """Every item of the rules table; a table that does not exist is said by name."""
    from botocore.exceptions import ClientError

    from edgesense.aws.s3 import error_code

    try:
        return rules_store(table).scan()
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        raise UsageError(
            f"rules table {table} does not exist at {aws().dynamodb.meta.endpoint_url} "
            f"({aws().dynamodb.meta.region_name}): check --table or EDGESENSE_RULES_TABLE"
        ) from exc


def load_rules(csv_path: str | None, table: str | None) -> RuleSet:
    """A rules CSV if given, else the table's rules."""
    from edgesense.rules import validate_items

    if csv_path:
        return rules_csv(csv_path)
    if not table:
        raise ValueError("give a rules CSV or --table")
    return validate_items(scan_table(table))


def print_rejections(rules: RuleSet, out: TextIO = sys.stdout) -> None:
    for r in rules.rejected:
        print(f"  ! {r}", file=out)


def cmd_import(args: argparse.Namespace) -> int:
    from edgesense.rule_changes import diff_rules

    table = table_of(args)
    store = rules_store(table)
    diff = diff_rules(scan_table(table), load_rules(args.csv, None), prune=args.prune)
    if not args.dry_run:
        store.write(diff.writes, diff.removed)
    print(f"{'would import' if args.dry_run else 'imported'} {args.csv} into {table}:")
    print("\n".join(diff.lines()))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from edgesense.rules import csv_text

    table = table_of(args)
    rules = load_rules(None, table)
    text = csv_text(rules.rules)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported {len(rules.rules)} rule(s) from {table} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    print_rejections(rules, sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    csv_path = args.csv or args.rules
    table = None if csv_path else table_of(args)
    rules = load_rules(csv_path, table)
    print(f"{csv_path or f'table {table}'}: {len(rules.rules)} valid rule(s) ({len(rules.active)} enabled), "
          f"{len(rules.rejected)} rejected; version {rules.version}")  # fmt: skip
    print_rejections(rules)
    return 1 if rules.rejected else 0


def cmd_test(args: argparse.Namespace) -> int:
    from edgesense.rule_changes import which_rules_match

    rules = load_rules(args.rules, None if args.rules else table_of(args))
    winner, hits = which_rules_match(rules, args.path, args.host or "", unmatched=args.unmatched)
    print(f"path {args.path!r}" + (f" on host {args.host!r}" if args.host else ""))
    print(f"  winner: {winner or args.unmatched} "
          + ("(first match by Rank, then Id)" if winner else "(no rule matches)"))  # fmt: skip
    for other in hits[1:]:
        print(f"  also matches: {other}")
    return 0


def download_day(bucket: str, table: str, day: str, into: Path) -> list[Path]:
    """A day of one of edgesense's Parquet tables from the store bucket (only keys of its own shape)."""
    from edgesense.aws.s3 import download_keys
    from edgesense.tables import output_key_shape

    return download_keys(aws().s3, bucket, f"{table}/dt={day}/", output_key_shape(table), into)


def cmd_unmatched(args: argparse.Namespace) -> int:
    from edgesense.relabel import top_unmatched_of_day

    bucket = args.bucket or settings().store_bucket
    with tempfile.TemporaryDirectory(prefix="edgesense-unmatched-") as tmp:
        rows = top_unmatched_of_day(download_day(bucket, "unmatched_paths", args.date, Path(tmp)), args.top)
    print(
        f"top {len(rows)} unmatched path(s) on {args.date} (s3://{bucket}/unmatched_paths/dt={args.date}/):"
    )
    for host, path, n in rows:
        print(f"  {n:>10,}  {host}  {path}")
    return 0

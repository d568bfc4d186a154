"""``edgesense``: the pipeline's parsing, rules and aggregation on local files, and a log generator.

Imports no Airflow: ``edgesense aggregate`` runs the same SQL as the ingest DAG in well
under a second of start-up, on a laptop, with no AWS.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edgesense import __version__
from edgesense.cli_files import Progress, cmd_aggregate, cmd_archive


def cmd_generate(args: argparse.Namespace) -> int:
    from edgesense.generate import generate

    start = (
        datetime.fromisoformat(args.start).astimezone(UTC)
        if args.start
        else datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=args.minutes)
    )
    if bool(args.out) == bool(args.bucket):
        print("error: give exactly one of --out DIR or --bucket NAME", file=sys.stderr)
        return 2
    client = None
    if args.bucket:
        import boto3  # the default chain; AWS_ENDPOINT_URL points it at a local moto_server

        client = boto3.client("s3")
    total_files = args.minutes * args.files_per_minute + args.ds1_files
    progress = Progress(total_files, "generate")
    lines = 0
    for f in generate(
        start=start,
        minutes=args.minutes,
        lines_per_minute=args.lines_per_minute,
        files_per_minute=args.files_per_minute,
        layout=args.layout,
        ds1_files=args.ds1_files,
        seed=args.seed,
    ):
        if client is not None:
            client.put_object(Bucket=args.bucket, Key=f.key, Body=f.body)
        else:
            target = Path(args.out) / f.key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.body)
        lines += f.lines
        progress.step(note=f.key)
    elapsed = progress.close()
    where = f"s3://{args.bucket}/" if args.bucket else f"{args.out}/"
    print(f"generated {total_files} file(s), {lines} line(s) into {where} in {elapsed:.1f}s", file=sys.stderr)
    print(f"lines generated: {lines}")
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from edgesense import rules_tool as rt

    table = args.table or _default_table()
    if args.rules_command == "import":
        report = rt.import_rules(args.csv, table, prune=args.prune, dry_run=args.dry_run)
        print(f"{'would import' if args.dry_run else 'imported'} {args.csv} into {table}:")
        print("\n".join(report.lines()))
        return 0
    if args.rules_command == "export":
        rules = rt.load_rules(None, table)
        text = rt.csv_text(rules.rules)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"exported {len(rules.rules)} rule(s) from {table} to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        rt.print_rejections(rules, sys.stderr)
        return 0
    if args.rules_command == "unmatched":
        import os
        import tempfile

        bucket = args.bucket or os.environ.get("EDGESENSE_STORE_BUCKET", "edgesense-store")
        with tempfile.TemporaryDirectory(prefix="edgesense-unmatched-") as tmp:
            rows = rt.unmatched_report(bucket, args.date, args.top, tmp)
        print(
            f"top {len(rows)} unmatched path(s) on {args.date} (s3://{bucket}/unmatched_paths/dt={args.date}/):"
        )
        for host, path, n in rows:
            print(f"  {n:>10,}  {host}  {path}")
        return 0
    if args.rules_command in ("dry-run", "cost"):
        return _rules_on_history(args, rt, table)
    csv_path = (args.csv if args.rules_command == "validate" else None) or args.rules
    rules = rt.load_rules(csv_path, None if csv_path else table)
    if args.rules_command == "validate":
        source = csv_path or f"table {table}"
        print(f"{source}: {len(rules.rules)} valid rule(s) ({len(rules.active)} enabled), "
              f"{len(rules.rejected)} rejected; version {rules.version}")  # fmt: skip
        rt.print_rejections(rules)
        return 1 if rules.rejected else 0
    if args.rules_command == "test":
        winner, hits = rt.which_rules_match(rules, args.path, args.host or "")
        print(f"path {args.path!r}" + (f" on host {args.host!r}" if args.host else ""))
        print(
            f"  winner: {winner or args.unmatched} "
            + ("(first match by Rank, then Id)" if winner else "(no rule matches)")
        )
        for other in hits[1:]:
            print(f"  also matches: {other}")
        return 0
    raise AssertionError(args.rules_command)


def _rules_on_history(args: argparse.Namespace, rt, table: str) -> int:
    """dry-run and cost: evaluate rule sets against local log files or a day of requests Parquet."""
    import os
    import tempfile
    from pathlib import Path

    from edgesense.relabel import History

    unmatched = args.unmatched
    with tempfile.TemporaryDirectory(prefix="edgesense-rules-") as tmp:
        if args.files:
            history = History.from_logs([Path(f) for f in args.files], unmatched=unmatched)
            source = f"{len(args.files)} file(s)"
        else:
            day = args.date or datetime.now(UTC).strftime("%Y-%m-%d")
            bucket = args.bucket or os.environ.get("EDGESENSE_STORE_BUCKET", "edgesense-store")
            files = rt.download_day(bucket, "requests", day, tmp)
            if not files:
                print(f"error: no requests Parquet under s3://{bucket}/requests/dt={day}/", file=sys.stderr)
                return 2
            history = History.from_parquet(files, unmatched=unmatched)
            source = f"s3://{bucket}/requests/dt={day}/"
        try:
            if args.rules_command == "cost":
                rules = rt.load_rules(args.rules, None if args.rules else table)
                per_metric = rt.series_count(
                    history.label(rules).counts(), shape=args.shape, budget=args.budget
                )
                total = sum(per_metric.values()) + len(_pipeline_metrics())
                print(
                    f"CloudWatch series for {source} with rules {rules.version} ({len(rules.active)} enabled):"
                )
                for name, n in per_metric.items():
                    print(f"  {name:<20}{n:>8}")
                print(f"  {'pipeline metrics':<20}{len(_pipeline_metrics()):>8}")
                print(
                    f"  {'total':<20}{total:>8}  ~ ${total * args.price:,.2f} per month at ${args.price}/series"
                )
                return 0
            current = rt.load_rules(args.current, None if args.current else table)
            new = rt.load_rules(args.rules, None)
            before, top_before = _by_pattern(history.label(current).counts()), history.top_unmatched(args.top)
            after, top_after = _by_pattern(history.label(new).counts()), history.top_unmatched(args.top)
            print(f"dry-run over {sum(before.values()):,} request(s) from {source}:")
            print(f"  current rules {current.version} ({len(current.active)} enabled) -> new rules {new.version} "
                  f"({len(new.active)} enabled)")  # fmt: skip
            print(f"  {'pattern':<24}{'before':>10}{'after':>10}{'change':>10}")
            for p in sorted(
                set(before) | set(after), key=lambda p: (-abs(after.get(p, 0) - before.get(p, 0)), p)
            ):
                b, a = before.get(p, 0), after.get(p, 0)
                print(f"  {p:<24}{b:>10,}{a:>10,}{a - b:>+10,}")
            for label, top in (("before", top_before), ("after", top_after)):
                print(f"  top unmatched paths {label}:")
                for host, path, n in top:
                    print(f"    {n:>8,}  {host}  {path}")
            rt.print_rejections(new)
            return 0
        finally:
            history.close()


def _by_pattern(counts) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, pattern, _, n in counts:
        out[pattern] = out.get(pattern, 0) + n
    return out


def _pipeline_metrics() -> dict[str, str]:
    from edgesense.metrics import PIPELINE_METRICS

    return PIPELINE_METRICS


def _default_table() -> str:
    import os

    return os.environ.get("EDGESENSE_RULES_TABLE", "edgesense-rules")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesense", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"edgesense {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("aggregate", help="parse and aggregate local log files (no AWS)")
    a.add_argument("files", nargs="+", help="log files: DS2 JSON, DS1 raw or DS2 structured, gzip or plain")
    a.add_argument("--rules", help="rules CSV with columns Id,Regex,Rank (default: no rules)")
    a.add_argument("--output", required=True, help="out.csv or out.parquet")
    a.add_argument("--report", help="write a JSON report of lines, rejects and rules")
    a.set_defaults(func=cmd_aggregate)

    ar = sub.add_parser("archive", help="write the requests Parquet of local log files (no AWS)")
    ar.add_argument("files", nargs="+", help="log files: DS2 JSON, DS1 raw or DS2 structured, gzip or plain")
    ar.add_argument("--rules", help="rules CSV with columns Id,Regex,Rank (default: no rules)")
    ar.add_argument("--output", required=True, help="folder: DIR/dt=YYYY-MM-DD/hour=HH/part-*.parquet")
    for sp in (a, ar):
        sp.add_argument("--unmatched", default="Unmatched", help="pattern id for unmatched paths")
        sp.add_argument("--structured-fields", help="DS2 STRUCTURED field order, comma-separated")
        sp.add_argument("--threads", type=int, default=2)
        sp.add_argument(
            "--memory-limit", default="1GB", help="DuckDB memory limit; beyond it DuckDB spills to disk"
        )
    ar.set_defaults(func=cmd_archive)

    g = sub.add_parser("generate", help="write synthetic DataStream logs to a folder or bucket")
    g.add_argument("--out", help="local folder")
    g.add_argument("--bucket", help="S3 bucket (boto3 default credentials; AWS_ENDPOINT_URL honoured)")
    g.add_argument("--minutes", type=int, default=3)
    g.add_argument("--lines-per-minute", type=int, default=1000)
    g.add_argument("--files-per-minute", type=int, default=2)
    g.add_argument("--ds1-files", type=int, default=0, help="also write this many DS1 raw files")
    g.add_argument("--layout", default="logs/{%Y}/{%m}/{%d}/{%H}/")
    g.add_argument("--start", help="first event minute, ISO 8601 (default: minutes ago)")
    g.add_argument("--seed", type=int, default=7)
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("rules", help="import, export, validate and test URL-pattern rules")
    rsub = r.add_subparsers(dest="rules_command", required=True)
    table_help = "DynamoDB rules table (default: $EDGESENSE_RULES_TABLE or edgesense-rules)"
    ri = rsub.add_parser("import", help="write a rules CSV into the table and report what changed")
    ri.add_argument("csv")
    ri.add_argument("--table", help=table_help)
    ri.add_argument("--prune", action="store_true", help="also delete rules that are not in the CSV")
    ri.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    re_ = rsub.add_parser("export", help="the table as the original's CSV")
    re_.add_argument("--table", help=table_help)
    re_.add_argument("--output", help="file (default: standard output)")
    rv = rsub.add_parser("validate", help="every problem of a rules CSV or the table, each named")
    rv.add_argument("csv", nargs="?", help="rules CSV (default: the table)")
    rv.add_argument("--rules", help="rules CSV (same as the positional argument)")
    rv.add_argument("--table", help=table_help)
    rt_ = rsub.add_parser("test", help="which rule wins for a path, and which others also match")
    rt_.add_argument("path")
    rt_.add_argument("--host")
    rt_.add_argument("--table", help=table_help)
    rt_.add_argument("--unmatched", default="Unmatched")
    ru = rsub.add_parser(
        "unmatched", help="the top unmatched paths of a day, to know which rule to write next"
    )
    ru.add_argument("--date", required=True, help="UTC day, YYYY-MM-DD")
    ru.add_argument("--top", type=int, default=50)
    ru.add_argument("--bucket", help="store bucket (default: $EDGESENSE_STORE_BUCKET or edgesense-store)")
    ru.add_argument("--table", help=table_help)
    rd = rsub.add_parser(
        "dry-run", help="counts per pattern with the current and a new rule set, and the difference"
    )
    rd.add_argument("files", nargs="*", help="local log files (or use --date)")
    rd.add_argument("--rules", required=True, help="the new rules CSV")
    rd.add_argument("--current", help="current rules CSV (default: the table)")
    rc = rsub.add_parser("cost", help="CloudWatch series the rules produce, and their monthly cost")
    rc.add_argument("files", nargs="*", help="local log files (or use --date)")
    rc.add_argument("--rules", help="rules CSV instead of the table")
    rc.add_argument("--price", type=float, default=0.30, help="USD per series per month (first tier)")
    rc.add_argument("--shape", choices=("default", "original"), default="default")
    rc.add_argument("--budget", type=int, default=0, help="max UrlPatternId values per host (0 = none)")
    for sp in (rd, rc):
        sp.add_argument("--date", help="UTC day of requests Parquet to use (default: today)")
        sp.add_argument("--bucket", help="store bucket (default: $EDGESENSE_STORE_BUCKET or edgesense-store)")
        sp.add_argument("--table", help=table_help)
        sp.add_argument("--unmatched", default="Unmatched")
        sp.add_argument("--top", type=int, default=10)
        sp.set_defaults(func=cmd_rules)
    for sp in (ri, re_, rv, rt_, ru):
        sp.set_defaults(func=cmd_rules, rules=None)
    rt_.add_argument("--rules", help="rules CSV instead of the table")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())

"""``edgesense aggregate FILES``: the metrics path on local files (no AWS)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from edgesense.cli.common import (
    add_local_options,
    inputs,
    ratio,
    read_options,
    settings,
    show_duckdb_progress,
)
from edgesense.cli.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("aggregate", help="parse and aggregate local log files (no AWS)")
    add_local_options(p)
    p.add_argument("--output", required=True, help="out.csv or out.parquet")
    p.add_argument("--report", help="write a JSON report of lines, rejects and rules")
    p.add_argument(
        "--max-reject-ratio", type=ratio,
        help="exit 1 (output still written) when a larger share of lines is rejected (default: the DAG's "
        "threshold, $EDGESENSE_REJECT_THRESHOLD or 0.05)",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgesense.aggregate import SourceFile
    from edgesense.metrics_path import MetricsAggregator

    out = Path(args.output)
    if out.suffix not in (".csv", ".parquet"):
        raise UsageError(f"--output {out} must end in .csv or .parquet")
    limit = settings().reject_threshold if args.max_reject_ratio is None else args.max_reject_ratio
    files, rules = inputs(args)
    started = time.monotonic()
    with MetricsAggregator(read_options(args), threads=args.threads, memory_limit=args.memory_limit) as agg:
        show_duckdb_progress(agg.con)
        result = agg.process([SourceFile(f, str(f)) for f in files], rules)
        rows = agg.write_output(out)
    elapsed = time.monotonic() - started
    report = result.as_report() | {"output_rows": rows, "seconds": round(elapsed, 3)}
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
    if result.reject_ratio > limit:
        print(f"error: {result.reject_ratio:.1%} of {result.lines_total:,} line(s) rejected, more than "
              f"--max-reject-ratio {limit:g}; the DAG would fail this batch", file=sys.stderr)  # fmt: skip
        return 1
    return 0

"""``edgesense archive FILES``: the requests Parquet of local files, Hive-partitioned by dt/hour (no AWS)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edgesense.cli.common import add_local_options, inputs, progress, read_options, show_duckdb_progress
from edgesense.cli.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("archive", help="write the requests Parquet of local log files (no AWS)")
    add_local_options(p)
    p.add_argument("--output", required=True, help="folder: DIR/dt=YYYY-MM-DD/hour=HH/part-*.parquet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgesense.aggregate import SourceFile
    from edgesense.archive import ArchiveBatch, Archiver

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.rglob("*.parquet"))):
        raise UsageError(f"--output {out} is not an empty folder; give a new one (nothing is overwritten)")
    files, rules = inputs(args)
    started = time.monotonic()
    with (
        progress("archive", 2) as advance,
        Archiver(read_options(args), threads=args.threads, memory_limit=args.memory_limit) as arch,
    ):
        show_duckdb_progress(arch.session.con)
        result = arch.write([ArchiveBatch("local", rules, [SourceFile(f, str(f)) for f in files])], out, "local",
                            progress=lambda note: advance(note=note))  # fmt: skip
        advance(note="written")
    elapsed = time.monotonic() - started
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

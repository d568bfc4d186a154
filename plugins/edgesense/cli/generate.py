"""``edgesense generate``: synthetic DataStream logs into a folder or a bucket."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edgesense.cli.common import progress


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgesense.generate import generate

    start = (
        datetime.fromisoformat(args.start).astimezone(UTC)
        if args.start
        else datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=args.minutes)
    )
    if bool(args.out) == bool(args.bucket):
        print("error: give exactly one of --out DIR or --bucket NAME", file=sys.stderr)
        return 2
    s3 = None
    if args.bucket:
        from edgesense.aws.clients import AwsClients

        s3 = AwsClients.default_chain().s3
    total_files = args.minutes * args.files_per_minute + args.ds1_files
    lines, started = 0, time.monotonic()
    with progress("generate", total_files) as advance:
        for f in generate(start=start, minutes=args.minutes, lines_per_minute=args.lines_per_minute,
                          files_per_minute=args.files_per_minute, layout=args.layout, ds1_files=args.ds1_files,
                          seed=args.seed):  # fmt: skip
            if s3 is not None:
                s3.put_object(Bucket=args.bucket, Key=f.key, Body=f.body)
            else:
                target = Path(args.out) / f.key
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f.body)
            lines += f.lines
            advance(note=f.key)
    where = f"s3://{args.bucket}/" if args.bucket else f"{args.out}/"
    print(f"generated {total_files} file(s), {lines} line(s) into {where} in {time.monotonic() - started:.1f}s",
          file=sys.stderr)  # fmt: skip
    print(f"lines generated: {lines}")
    return 0

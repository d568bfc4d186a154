"""``edgesense generate``: synthetic DataStream logs into a folder or a bucket, in bounded memory."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edgesense.cli.common import aws, int_range, progress, settings, utc_time
from edgesense.cli.errors import UsageError

#: A local folder is the root of the logs: the DAG's default layout without ``logs/``.
FOLDER_LAYOUT = "{%Y}/{%m}/{%d}/{%H}/"
MAX_LINES_PER_MINUTE = 10_000_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(
        "generate", help="write synthetic DataStream logs to a folder or bucket",
        description="Synthetic DataStream 2 JSON logs (and DS1 raw files), named and laid out like real "
        "uploads; about 8 percent of paths match none of the sample rules. Give exactly one of --out or "
        "--bucket.",
    )  # fmt: skip
    g.add_argument("--out", metavar="DIR", help=f"local folder; files go to DIR/{_pct(FOLDER_LAYOUT)}")
    g.add_argument("--bucket", help="S3 bucket; files go to the DAG's key layout (AWS default credentials, "
                   "AWS_ENDPOINT_URL honoured)")  # fmt: skip
    g.add_argument("--minutes", type=int_range(1, 7 * 1440), default=3,
                   help="event minutes to cover, 1 to 10,080 (default: 3)")  # fmt: skip
    g.add_argument("--lines-per-minute", type=int_range(1, MAX_LINES_PER_MINUTE), default=1000,
                   help=f"requests per minute, 1 to {MAX_LINES_PER_MINUTE:,} (default: 1000)")  # fmt: skip
    g.add_argument("--files-per-minute", type=int_range(1, 1000), default=2,
                   help="DS2 files per minute, 1 to 1,000 (default: 2)")  # fmt: skip
    g.add_argument("--ds1-files", type=int_range(0, 10_000), default=0,
                   help="also write this many DS1 raw files (default: 0)")  # fmt: skip
    g.add_argument("--layout", help=f"key layout (default: {_pct(FOLDER_LAYOUT)} with --out, "
                   "$EDGESENSE_KEY_LAYOUT or logs/{%%Y}/{%%m}/{%%d}/{%%H}/ with --bucket)")  # fmt: skip
    g.add_argument("--start", type=utc_time, help="first event minute, ISO 8601, UTC if it has no zone "
                   "(default: --minutes before now)")  # fmt: skip
    g.add_argument("--seed", type=int, default=7, help="the same seed gives the same lines (default: 7)")
    g.set_defaults(func=run)


def check_bucket(s3, bucket: str) -> None:
    """No credentials, no endpoint or no bucket: said now, before anything is generated."""
    from botocore.exceptions import ClientError

    from edgesense.aws.s3 import error_code, is_not_found

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:  # HeadBucket has no error body: only the HTTP status
        if is_not_found(exc):
            raise UsageError(
                f"bucket {bucket} does not exist (or is not in this account): check --bucket"
            ) from exc
        if error_code(exc) in ("403", "AccessDenied"):
            raise UsageError(
                f"access to bucket {bucket} is denied: check which AWS credentials are in use"
            ) from exc
        raise


def _pct(text: str) -> str:
    return text.replace("%", "%%")  # argparse %-formats help strings


def run(args: argparse.Namespace) -> int:
    from edgesense.generate import generate

    if bool(args.out) == bool(args.bucket):
        raise UsageError("give exactly one of --out DIR or --bucket NAME")
    if args.files_per_minute > args.lines_per_minute:
        raise UsageError(
            f"--files-per-minute {args.files_per_minute} is more than --lines-per-minute {args.lines_per_minute}: "
            "every file needs at least one line"
        )
    start = args.start or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=args.minutes)
    layout = args.layout or (settings().key_layout if args.bucket else FOLDER_LAYOUT)
    s3 = aws().s3 if args.bucket else None
    if s3 is not None:
        check_bucket(s3, args.bucket)
    if layout.startswith("/") or ".." in Path(layout).parts:
        raise UsageError(
            f"--layout {layout!r} must be a relative key layout without '..', e.g. {FOLDER_LAYOUT}"
        )
    files = generate(start=start, minutes=args.minutes, lines_per_minute=args.lines_per_minute,
                     files_per_minute=args.files_per_minute, layout=layout, ds1_files=args.ds1_files,
                     seed=args.seed)  # fmt: skip
    n_files = args.minutes * args.files_per_minute + args.ds1_files
    total = args.minutes * args.lines_per_minute + args.ds1_files * (
        args.lines_per_minute // args.files_per_minute
    )
    started = time.monotonic()
    with progress("generate", total) as advance, tempfile.TemporaryDirectory(prefix="edgesense-gen-") as tmp:
        for f in files:
            lines = lambda n, key=f.key: advance(n, key)  # noqa: E731
            if s3 is None:
                target = Path(args.out) / f.key
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    f.write(out, lines)
            else:
                # Through a local file: upload_file sends big ones in parts, never whole in memory.
                local = Path(tmp) / "object.gz"
                with local.open("wb") as out:
                    f.write(out, lines)
                s3.upload_file(str(local), args.bucket, f.key)
    where = f"s3://{args.bucket}/" if args.bucket else f"{args.out}/"
    print(f"generated {n_files} file(s), {total:,} line(s) into {where} in {time.monotonic() - started:.1f}s",
          file=sys.stderr)  # fmt: skip
    print(f"lines generated: {total}")
    return 0

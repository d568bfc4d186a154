"""``edgesense local env``: reach the embedded AWS that ``make airflow`` (or ``make demo``) started."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from edgesense.cli.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("local", help="the embedded AWS of `make airflow`: its endpoint and names")
    lsub = p.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    e = lsub.add_parser(
        "env", help='print export lines for it: eval "$(edgesense local env)"',
        description="Print `export` lines with the endpoint, dummy credentials, region and resource names "
        "of the running embedded AWS, read from .run/local-aws.json (in this folder or above), so that "
        "edgesense and the aws CLI reach it.",
    )  # fmt: skip
    e.add_argument("--record", type=Path, help="the record file (default: .run/local-aws.json here or above)")
    e.set_defaults(func=cmd_env)


def cmd_env(args: argparse.Namespace) -> int:
    from edgesense.local_env import LocalAws, find_record

    if args.record is not None and not args.record.is_file():
        raise UsageError(
            f"--record {args.record} does not exist: give the .run/local-aws.json of a running stack"
        )
    path = args.record or find_record(Path.cwd())
    if path is None:
        raise UsageError(
            "no embedded AWS is running here (no .run/local-aws.json in this folder or above): start one with "
            "`make airflow` from the repository, then run this again"
        )
    try:
        stack = LocalAws.read(path)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a record of the embedded AWS ({exc}): delete it and restart the stack"
        ) from exc
    if not stack.alive():
        raise UsageError(
            f"the embedded AWS recorded in {path} has stopped (pid {stack.pid}): start it again with `make airflow`"
        )
    for name, value in stack.env().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0

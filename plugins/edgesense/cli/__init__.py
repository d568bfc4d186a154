"""``edgesense``: the pipeline's parsing, rules and aggregation on local files, and a log generator.

Imports no Airflow: ``edgesense aggregate`` runs the same SQL as the ingest DAG in well
under a second of start-up, on a laptop, with no AWS. Each subcommand is a module of
this package whose ``add_parser`` registers it with its function (``set_defaults(func=…)``);
heavy imports wait until a command runs, so ``edgesense --help`` stays fast.
"""

from __future__ import annotations

import argparse

from edgesense import __version__
from edgesense.cli import aggregate, archive, generate, rules, rules_history

COMMANDS = (aggregate, archive, generate)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesense", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"edgesense {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    r = sub.add_parser("rules", help="import, export, validate and test URL-pattern rules")
    rsub = r.add_subparsers(dest="rules_command", required=True)
    rules.add_parsers(rsub)
    rules_history.add_parsers(rsub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)

"""``edgesense``: the pipeline's parsing, rules and aggregation on local files, and a log generator.

Imports no Airflow: ``edgesense aggregate`` runs the same SQL as the ingest DAG in well
under a second of start-up, on a laptop, with no AWS. Each subcommand is a module of
this package whose ``add_parser`` registers it with its function (``set_defaults(func=…)``);
heavy imports wait until a command runs, so ``edgesense --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from edgesense import __version__
from edgesense.cli import aggregate, archive, generate, local, rules, rules_history
from edgesense.cli.errors import explain

COMMANDS = (aggregate, archive, generate, local)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="edgesense", description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("--version", action="version", version=f"edgesense {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (any position)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    r = sub.add_parser("rules", help="import, export, validate and test URL-pattern rules")
    rsub = r.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rules.add_parsers(rsub)
    rules_history.add_parsers(rsub)
    _debug_everywhere(p)
    return p


def _debug_everywhere(p: argparse.ArgumentParser) -> None:
    """``--debug`` after the subcommand too; SUPPRESS keeps a subparser from resetting it to False."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.add_argument(
                    "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                )
                _debug_everywhere(child)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; any error is one line on standard error (the traceback with ``--debug``)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message, code = explain(exc)
        print(f"error: {message}", file=sys.stderr)
        return code

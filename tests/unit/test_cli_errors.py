"""Every CLI mistake answered in one line with exit 2, run as a user would (subprocesses).

No AWS here: the cases that need none fail before any call; the AWS ones (no region, no
credentials) fail in botocore before anything is sent. The table that does not exist is in
``tests/e2e/test_rules_cli.py``, against moto_server.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

EXE = Path(sys.executable).with_name("edgesense")
SAMPLE = (ROOT / "tests" / "fixtures" / "ds2_akamai_docs_sample.json").read_text()
#: No AWS at all: no region, no credentials, no config files, no instance metadata.
NO_AWS = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
    "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}  # fmt: skip


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env or NO_AWS)  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.log").write_text(SAMPLE)
    (tmp_path / "new.csv").write_text("Id,Regex,Rank\nApi,/json/(.*),5\n")
    (tmp_path / "nocol.csv").write_text("Id,Regex\nApi,/json/(.*)\n")
    (tmp_path / "empty.csv").write_text("")
    return tmp_path


CASES = {
    "dry-run without AWS": (("rules", "dry-run", "a.log", "--rules", "new.csv"), "no AWS region is set"),
    "dry-run without AWS says a CSV needs none": (("rules", "dry-run", "a.log", "--rules", "new.csv"),
                                                  "give --current CSV to need no AWS"),
    "a layout that leaves the folder": (("generate", "--out", "g", "--layout", "/tmp/elsewhere/"),
                                        "must be a relative key layout"),
    "a day that is not a day": (("rules", "unmatched", "--date", "yesterday"), "'yesterday' is not a day"),
    "a record that does not exist": (("local", "env", "--record", "nope.json"), "--record nope.json does not exist"),
    "a record that is not one": (("local", "env", "--record", "new.csv"), "is not a record of the embedded AWS"),
    "generate to a bucket without credentials": (
        ("generate", "--bucket", "b", "--minutes", "1", "--lines-per-minute", "10"), "no AWS credentials"),
    "a rules CSV without a column": (("aggregate", "a.log", "--rules", "nocol.csv", "--output", "o.csv"),
                                     "lacks column(s) Rank"),
    "an empty rules CSV": (("aggregate", "a.log", "--rules", "empty.csv", "--output", "o.csv"), "is empty"),
    "a missing rules file": (("aggregate", "a.log", "--rules", "gone.csv", "--output", "o.csv"), "does not exist"),
    "no threads": (("aggregate", "a.log", "--threads", "0", "--output", "o.csv"), "0 is out of range"),
    "a memory limit that is not a size": (("aggregate", "a.log", "--memory-limit", "lots", "--output", "o.csv"),
                                          "'lots' is not a size"),
    "no files per minute": (("generate", "--out", "g", "--files-per-minute", "0"), "0 is out of range"),
    "a start that is not a time": (("generate", "--out", "g", "--start", "yesterday"), "not an ISO 8601 time"),
    "negative minutes": (("generate", "--out", "g", "--minutes", "-1"), "-1 is out of range"),
    "too many lines per minute": (("generate", "--out", "g", "--lines-per-minute", "999999999999"),
                                  "out of range: give 1 to 10,000,000"),
    "more files than lines": (("generate", "--out", "g", "--lines-per-minute", "2", "--files-per-minute", "3"),
                              "every file needs at least one line"),
    "a missing input": (("aggregate", "nope.gz", "--output", "o.csv"), "no such file or folder: nope.gz"),
    "no embedded AWS running": (("local", "env"), "no embedded AWS is running"),
}  # fmt: skip


@pytest.mark.parametrize(("args", "says"), CASES.values(), ids=CASES.keys())
def test_a_mistake_is_one_line_that_says_what_to_do_and_exits_2(folder, args, says):
    res = run(*args, cwd=folder)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ")
    assert res.stderr.count("\n") == 1, res.stderr
    assert says in res.stderr
    assert not (folder / "g").exists()  # nothing was generated before the refusal


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_before_or_after_the_subcommand(folder, where):
    args = ("rules", "dry-run", "a.log", "--rules", "new.csv")
    res = run(*(("--debug", *args) if where == "before" else (*args, "--debug")), cwd=folder)
    assert res.returncode == 1
    assert "Traceback" in res.stderr
    assert "NoRegionError" in res.stderr


def test_aggregate_exits_1_past_the_dags_reject_threshold_and_still_writes_its_output(folder):
    (folder / "bad.log").write_text(SAMPLE + "not json\n")  # 1 of 2 lines rejected
    default = run("aggregate", "bad.log", "--output", "o.csv", cwd=folder)
    assert default.returncode == 1
    assert "50.0% of 2 line(s) rejected, more than --max-reject-ratio 0.05" in default.stderr
    assert (folder / "o.csv").read_text().count("\n") == 2  # header and the valid line
    assert (
        run("aggregate", "bad.log", "--output", "o.csv", "--max-reject-ratio", "0.5", cwd=folder).returncode
        == 0
    )
    lenient = {**NO_AWS, "EDGESENSE_REJECT_THRESHOLD": "0.6"}  # the DAG's setting is the default
    assert run("aggregate", "bad.log", "--output", "o.csv", cwd=folder, env=lenient).returncode == 0


def test_folders_are_read_recursively_and_a_file_named_twice_is_read_once(folder):
    (folder / "logs" / "2026" / "11").mkdir(parents=True)
    (folder / "logs" / "2026" / "11" / "b.log").write_text(SAMPLE)
    (folder / "logs" / ".hidden").write_text("not a log\n")
    res = run("aggregate", "logs", "a.log", "./a.log", "--output", "o.csv", "--report", "r.json", cwd=folder)
    assert res.returncode == 0, res.stderr
    report = json.loads((folder / "r.json").read_text())
    assert (report["lines_valid"], report["lines_rejected"]) == (2, 0)
    assert res.stderr.startswith("2 file(s)")


def test_generate_streams_in_bounded_memory_with_progress_and_a_summary(tmp_path):
    """300,000 lines (~190 MB of JSON) in one file: the old generator held it all in memory."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code, str(EXE), "generate", "--out", "g", "--minutes", "1",
                          "--lines-per-minute", "300000", "--files-per-minute", "1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "generated 1 file(s), 300,000 line(s) into g/" in res.stderr
    assert "300000/300000" in res.stderr  # the progress bar's final state, off a terminal
    peak_mb = int(res.stdout.splitlines()[-1]) / 1024
    assert peak_mb < 120, peak_mb
    [written] = (tmp_path / "g").rglob("*.gz")
    assert written.relative_to(tmp_path / "g").parts[0].isdigit()  # g/YYYY/…, not g/logs/YYYY/…


def test_every_option_of_every_command_has_help_and_says_its_default():
    from edgesense.cli import build_parser

    def walk(p: argparse.ArgumentParser, name: str):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(sub, f"{name} {sub_name}")
            elif action.option_strings and action.help is not argparse.SUPPRESS:
                yield name, action

    missing = []
    for name, action in walk(build_parser(), "edgesense"):
        if action.dest in ("help", "version"):
            continue
        has_default = action.default not in (None, False, argparse.SUPPRESS)
        if not action.help or (has_default and "default" not in action.help):
            missing.append(f"{name} {action.option_strings[0]}")
    assert not missing, missing

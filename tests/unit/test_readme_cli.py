"""The README's Local CLI section, pasted into a plain bash (no globstar) as a reader would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import ROOT


def commands(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```console\n(.*?)```", body, flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_every_command_of_the_local_cli_section_runs_as_written(tmp_path: Path):
    lines = commands("Local CLI")
    assert len(lines) >= 5
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)  # this leg's venv
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "generated 9 file(s), 112,500 line(s) into logs/" in res.stderr
    assert (tmp_path / "out.csv").read_text().startswith("minute,host,url_pattern,status,requests,bytes\n")
    assert list((tmp_path / "requests").glob("dt=*/hour=*/part-local-0.parquet"))


def test_generated_logs_have_a_realistic_share_of_paths_no_sample_rule_matches(tmp_path: Path):
    import csv

    exe = Path(sys.executable).with_name("edgesense")
    subprocess.run([str(exe), "generate", "--out", "logs", "--minutes", "2", "--lines-per-minute", "5000"],
                   cwd=tmp_path, check=True, capture_output=True)  # fmt: skip
    (tmp_path / "rules.csv").write_text(subprocess.run([str(exe), "rules", "sample"], capture_output=True,
                                                       text=True, check=True).stdout)  # fmt: skip
    subprocess.run([str(exe), "aggregate", "logs", "--rules", "rules.csv", "--output", "out.csv"], cwd=tmp_path,
                   check=True, capture_output=True)  # fmt: skip
    with (tmp_path / "out.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    share = sum(int(r["requests"]) for r in rows if r["url_pattern"] == "Unmatched") / 10_000
    assert 0.05 < share < 0.12, share

"""``edgesense rules ...``: import, export, validate and test URL-pattern rules.

The rules table is reached with boto3's default credential chain (``AWS_ENDPOINT_URL``
is honoured, so the same commands work against the local moto_server). Nothing here
imports Airflow.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from edgesense.rules import Rule, RuleSet, read_csv_rules, validate_items

CSV_COLUMNS = ("Id", "Regex", "Rank")
OPTIONAL_COLUMNS = ("Host", "Enabled", "Description")


def _store(table: str):
    import boto3

    from edgesense.aws.rules_store import RulesStore

    return RulesStore(boto3.resource("dynamodb").meta.client, table)


def load_rules(csv_path: str | None, table: str | None) -> RuleSet:
    if csv_path:
        with open(csv_path, encoding="utf-8", newline="") as fh:
            return read_csv_rules(fh.read())
    if not table:
        raise ValueError("give a rules CSV or --table")
    return validate_items(_store(table).scan())


def to_csv(rules: Iterable[Rule], out: TextIO) -> int:
    """The original's CSV (``Id,Regex,Rank``), plus optional columns only if a rule uses them."""
    rules = list(rules)
    extra = [c for c in OPTIONAL_COLUMNS if any(c in r.to_item() for r in rules)]
    w = csv.DictWriter(out, fieldnames=[*CSV_COLUMNS, *extra], lineterminator="\n")
    w.writeheader()
    for r in rules:
        item = r.to_item()
        w.writerow({k: ("false" if v is False else v) for k, v in item.items()})
    return len(rules)


@dataclass
class ImportReport:
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    rejected: list[str]

    def lines(self) -> list[str]:
        out = [
            f"added {len(self.added)}, changed {len(self.changed)}, unchanged {len(self.unchanged)}, "
            f"removed {len(self.removed)}, rejected {len(self.rejected)}"
        ]
        out += [f"  + {i}" for i in self.added] + [f"  ~ {i}" for i in self.changed]
        out += [f"  - {i}" for i in self.removed] + [f"  ! {r}" for r in self.rejected]
        return out


def import_rules(csv_path: str, table: str, *, prune: bool = False, dry_run: bool = False) -> ImportReport:
    """Write the CSV's valid rules (batched, 25 per BatchWriteItem); report what changed."""
    new = load_rules(csv_path, None)
    store = _store(table)
    current = {r.id: r.to_item() for r in validate_items(store.scan()).rules}
    report = ImportReport([], [], [], [], [str(r) for r in new.rejected])
    writes = []
    for r in new.rules:
        item = r.to_item()
        if r.id not in current:
            report.added.append(r.id)
        elif current[r.id] != item:
            report.changed.append(r.id)
        else:
            report.unchanged.append(r.id)
            continue
        writes.append(item)
    wanted = {r.id for r in new.rules} | {r.rule_id for r in new.rejected}
    report.removed = sorted(set(current) - wanted) if prune else []
    if not dry_run:
        store.write(writes, report.removed)
    return report


def which_rules_match(rules: RuleSet, path: str, host: str = "") -> tuple[str | None, list[str]]:
    """(winning rule id, every enabled rule that matches) for a path, as the pipeline decides it."""
    import duckdb

    from edgesense import sql

    con = duckdb.connect()
    stmt = sql.load("duckdb/cli/rule_hit.sql")
    hits = []
    for r in rules.active:
        params = {"path": path, "host": host.lower(), "regex": r.regex, "hostexact": r.host_exact,
                  "hostre": r.host_regex}  # fmt: skip
        if con.execute(stmt, params).fetchall()[0][0]:
            hits.append(r.id)
    return (hits[0] if hits else None), hits


def print_rejections(rules: RuleSet, out: TextIO = sys.stdout) -> None:
    for r in rules.rejected:
        print(f"  ! {r}", file=out)


def csv_text(rules: Iterable[Rule]) -> str:
    buf = io.StringIO()
    to_csv(rules, buf)
    return buf.getvalue()


def download_day(bucket: str, table: str, day: str, work_dir: str) -> list[Any]:
    """A day of one of edgesense's Parquet tables from the store bucket (boto3 default credentials)."""
    from pathlib import Path

    import boto3

    from edgesense.aws.catalog import output_key_shape
    from edgesense.aws.s3 import download_keys

    return download_keys(
        boto3.client("s3"), bucket, f"{table}/dt={day}/", output_key_shape(table), Path(work_dir)
    )


def unmatched_report(bucket: str, day: str, top: int, work_dir: str) -> list[tuple[str, str, int]]:
    """The day's top unmatched (host, path, requests) from ``unmatched_paths/`` in the store bucket."""
    import duckdb

    from edgesense import sql

    files = [str(f) for f in download_day(bucket, "unmatched_paths", day, work_dir)]
    if not files:
        return []
    return (
        duckdb.connect()
        .execute(sql.load("duckdb/cli/unmatched_report.sql"), {"files": files, "top": top})
        .fetchall()
    )


def series_count(
    counts: Iterable[tuple[str, str, int, int]], *, shape: str = "default", budget: int = 0
) -> dict[str, int]:
    """CloudWatch series (each a billed custom metric) these counts would produce, per metric."""
    from collections import defaultdict

    from edgesense.budget import OTHER
    from edgesense.metrics import FAMILIES

    rows = list(counts)
    if budget > 0:
        volume: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for host, pattern, _, n in rows:
            volume[host][pattern] += n
        keep = {
            h: {p for p, _ in sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))[:budget]}
            for h, v in volume.items()
        }
        rows = [(h, p if p in keep[h] else OTHER, s, n) for h, p, s, n in rows]
    series: dict[str, set] = defaultdict(set)
    for host, pattern, status, _ in rows:
        series["ResponseCountTotal"].add((host, status))
        for name, _, lo, hi in FAMILIES:
            if lo <= status <= hi:
                series[name].add((host, pattern))
        if shape != "original":
            for name in ("BytesSent", "CacheHits", "TurnAroundTime"):
                series[name].add(host)
    return {name: len(v) for name, v in sorted(series.items())}

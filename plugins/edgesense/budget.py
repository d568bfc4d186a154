"""The cardinality budget: at most N UrlPatternId values per host go to CloudWatch.

Every UrlPatternId × Host × metric is a billed custom metric, so a rule that fans out
(or a flood of new patterns) can cost real money. Patterns are ranked per host by
request volume over a recent window; those past the budget are published as ``Other``.
Parquet and Athena always keep the true pattern. Pure logic: no AWS here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from edgesense.metrics import FAMILIES, METRICS, ROLLUPS

OTHER = "Other"
HOUR_FMT = "%Y-%m-%dT%H"
#: Family metric name -> its status range.
FAMILY_RANGES = {name: (lo, hi) for name, _, lo, hi in FAMILIES}

Volumes = dict[str, dict[str, dict[str, int]]]  # hour -> host -> pattern -> requests


def add_batch(
    volumes: Volumes, minute_rows: Iterable[Mapping[str, Any]], now: datetime, window: timedelta
) -> Volumes:
    """Fold a batch's requests per (event hour, host, pattern) in, and drop hours past the window."""
    out: Volumes = {h: {host: dict(p) for host, p in hosts.items()} for h, hosts in volumes.items()}
    for r in minute_rows:
        hour = r["minute"].strftime(HOUR_FMT)
        bucket = out.setdefault(hour, {}).setdefault(r["host"], {})
        bucket[r["url_pattern"]] = bucket.get(r["url_pattern"], 0) + int(r["requests"])
    oldest = (now - window).strftime(HOUR_FMT)
    return {h: v for h, v in out.items() if h >= oldest}


def allowed_patterns(volumes: Volumes, budget: int) -> dict[str, set[str]]:
    """Per host, the ``budget`` patterns with most requests in the window (ties by name)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for hosts in volumes.values():
        for host, patterns in hosts.items():
            for pattern, n in patterns.items():
                totals[host][pattern] += n
    return {host: top_patterns(counts, budget) for host, counts in totals.items()}


def top_patterns(requests_by_pattern: Mapping[str, int], budget: int) -> set[str]:
    """The ``budget`` patterns with most requests (ties by name): the ranking of the budget."""
    ranked = sorted(requests_by_pattern.items(), key=lambda kv: (-kv[1], kv[0]))
    return {p for p, _ in ranked[:budget]}


def apply(
    minute_rows: list[dict[str, Any]], allowed: Mapping[str, set[str]], budget: int
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Rows for CloudWatch with over-budget patterns renamed ``Other``, and what was renamed."""
    if budget <= 0:
        return minute_rows, []
    rolled: set[tuple[str, str]] = set()
    out = []
    for r in minute_rows:
        keep = allowed.get(r["host"])
        if keep is not None and r["url_pattern"] not in keep:
            rolled.add((r["host"], r["url_pattern"]))
            r = {**r, "url_pattern": OTHER}
        out.append(r)
    return out, sorted(rolled)


def series_count(
    counts: Iterable[tuple[str, str, int, int]], *, shape: str = "default", budget: int = 0
) -> dict[str, int]:
    """CloudWatch series (each a billed custom metric) that (host, pattern, status, requests)
    counts produce, per metric, with the budget applied as the pipeline applies it."""
    rows = list(counts)
    if budget > 0:
        volume: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for host, pattern, _, n in rows:
            volume[host][pattern] += n
        keep = {h: top_patterns(v, budget) for h, v in volume.items()}
        rows = [(h, p if p in keep[h] else OTHER, s, n) for h, p, s, n in rows]
    series: dict[str, set] = defaultdict(set)
    for host, pattern, status, _ in rows:
        for name, (_, dims) in METRICS.items():
            if shape == "original" and dims == ("Host",):
                continue  # the original's shape has no per-host totals
            family = FAMILY_RANGES.get(name) or ROLLUPS.get(name)
            if family is not None and not family[0] <= status <= family[1]:
                continue
            series[name].add(
                tuple({"Host": host, "ResponseCode": status, "UrlPatternId": pattern}[d] for d in dims)
            )
    return {name: len(v) for name, v in sorted(series.items())}

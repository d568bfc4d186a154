"""CloudWatch datums from the aggregates, and calls packed within PutMetricData's limits.

Everything here is deterministic: the same aggregates give the same datums in the same
order and the same chunks, which is what lets the publish ledger skip exactly the calls
that already went out.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

# Hard limits of PutMetricData (moto enforces none of them, so tests check ours).
MAX_DATUMS_PER_CALL = 1000
MAX_BYTES_PER_CALL = 1_000_000
PAYLOAD_BUDGET = 900_000  # headroom under 1 MB for headers and protocol framing
MAX_VALUES_PER_DATUM = 150
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE = 1024
MAX_ABS_VALUE = 2.0**360

FAMILIES: tuple[tuple[str, int, int, int], ...] = (
    # metric name, ResponseCode in the original shape, lowest status, highest status
    ("Response_2XX", 200, 200, 299),
    ("Response_3XX", 300, 300, 399),
    ("Response_4XX", 400, 400, 499),
    ("Response_404", 404, 404, 404),
    ("Response_5XX", 500, 500, 599),
)

#: Metric name -> (unit, dimensions in the default shape), for the README's metrics table.
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ResponseCountTotal": ("Count", ("Host", "ResponseCode")),
    **{name: ("Count", ("Host", "UrlPatternId")) for name, *_ in FAMILIES},
    "BytesSent": ("Bytes", ("Host",)),
    "TurnAroundTime": ("Milliseconds", ("Host",)),
    "CacheHits": ("Count", ("Host",)),
    # Per-host rollups (default shape only): an alarm's metric math takes at most 10 metrics,
    # so a per-host rate cannot sum the per-pattern or per-status series itself.
    **{name: ("Count", ("Host",)) for name in ("Requests", "Errors_4XX", "Errors_5XX")},
}
#: What each rollup counts: status range, inclusive (``Requests``: every status).
ROLLUPS: dict[str, tuple[int, int]] = {
    "Requests": (0, 999),
    "Errors_4XX": (400, 499),
    "Errors_5XX": (500, 599),
}
#: Published by the anomaly detector (``edgesense_ops``), not by a batch: Host x Signal.
DETECTOR_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {"AnomalyScore": ("None", ("Host", "Signal"))}
PIPELINE_METRICS: dict[str, str] = {
    "LinesProcessed": "Count",
    "LinesRejected": "Count",
    "FilesProcessed": "Count",
    "FilesRejected": "Count",
    "RulesRejected": "Count",
    "DatumsOutOfWindow": "Count",
    "IngestLagSeconds": "Seconds",
    "RulesSnapshotFallback": "Count",
    "PatternsOverBudget": "Count",
    "MinutesMismatched": "Count",
}
#: Pipeline metrics that are levels, not counts: their dashboards and alarms take the Maximum
#: (a re-run that publishes one again does not double it).
GAUGES = frozenset({"IngestLagSeconds", "MinutesMismatched"})


#: How a plan's datums carry their minute (JSON-safe); :func:`datum_time` reads it back.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _ts(minute: datetime) -> str:
    if minute.tzinfo is None:
        minute = minute.replace(tzinfo=UTC)
    return minute.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def datum_time(datum: dict[str, Any]) -> datetime:
    return datetime.strptime(datum["Timestamp"], TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def _datum(name: str, minute: datetime, dims: Sequence[tuple[str, str]], unit: str, **value: Any) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in dims],
        "Timestamp": _ts(minute),
        "Unit": unit,
        "StorageResolution": 60,
        **value,
    }


def build_datums(
    minute_rows: Iterable[dict[str, Any]],
    latency_rows: Iterable[dict[str, Any]],
    *,
    shape: str = "default",
    unmatched: str = "Unmatched",
) -> list[dict[str, Any]]:
    """Datums for the traffic metrics, stamped at each request's own (event) minute."""
    totals: dict[tuple, float] = defaultdict(float)
    families: dict[tuple, float] = defaultdict(float)
    per_host: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    rollups: dict[tuple, float] = defaultdict(float)
    for r in minute_rows:
        minute, host, status = r["minute"], r["host"], int(r["status"])
        pattern = r["url_pattern"] or unmatched
        totals[(minute, host, status)] += r["requests"]
        for name, code, lo, hi in FAMILIES:
            if lo <= status <= hi:
                families[(minute, host, pattern, name, code)] += r["requests"]
        for name, (lo, hi) in ROLLUPS.items():
            if lo <= status <= hi:
                rollups[(minute, host, name)] += r["requests"]
        per_host[(minute, host)][0] += r["bytes"]
        per_host[(minute, host)][1] += r["cache_hits"]

    out: list[dict[str, Any]] = []
    original = shape == "original"
    for (minute, host, status), n in totals.items():
        dims = (
            [("ResponseCode", status), ("Host", host), ("UrlPatternId", "undefined")]
            if original
            else [("Host", host), ("ResponseCode", status)]
        )
        out.append(_datum("ResponseCountTotal", minute, dims, "Count", Value=n))
    for (minute, host, pattern, name, code), n in families.items():
        dims = (
            [("ResponseCode", code), ("Host", host), ("UrlPatternId", pattern)]
            if original
            else [("Host", host), ("UrlPatternId", pattern)]
        )
        out.append(_datum(name, minute, dims, "Count", Value=n))
    if not original:
        for (minute, host, name), n in rollups.items():
            out.append(_datum(name, minute, [("Host", host)], "Count", Value=n))
        for (minute, host), (nbytes, hits) in per_host.items():
            out.append(_datum("BytesSent", minute, [("Host", host)], "Bytes", Value=nbytes))
            out.append(_datum("CacheHits", minute, [("Host", host)], "Count", Value=hits))
        out.extend(_latency_datums(latency_rows))
    return sort_datums(out)


def _latency_datums(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """TurnAroundTime as Values/Counts (percentile-ready), at most 150 values per datum."""
    dist: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        dist[(r["minute"], r["host"])].append((float(r["value"]), float(r["n"])))
    out = []
    for (minute, host), pairs in dist.items():
        pairs.sort()
        for i in range(0, len(pairs), MAX_VALUES_PER_DATUM):
            part = pairs[i : i + MAX_VALUES_PER_DATUM]
            out.append(
                _datum(
                    "TurnAroundTime",
                    minute,
                    [("Host", host)],
                    "Milliseconds",
                    Values=[v for v, _ in part],
                    Counts=[c for _, c in part],
                )
            )
    return out


def pipeline_datums(values: dict[str, float], when: datetime) -> list[dict[str, Any]]:
    minute = when.astimezone(UTC).replace(second=0, microsecond=0)
    return sort_datums(
        [_datum(name, minute, [], PIPELINE_METRICS[name], Value=float(v)) for name, v in values.items()]
    )


def _sort_key(d: dict[str, Any]) -> tuple:
    dims = tuple((x["Name"], x["Value"]) for x in d["Dimensions"])
    return (d["Timestamp"], d["MetricName"], dims, tuple(d.get("Values", ())))


def sort_datums(datums: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(datums, key=_sort_key)


def dimension_value_problem(value: str) -> str | None:
    """Why CloudWatch would refuse a dimension value (1-1024 characters of printable ASCII, not
    only spaces), or None. Rule ids become UrlPatternId values, so rules check theirs here too;
    the host check of ``request_problem`` (macros.sql) is stricter (tests/unit/test_metrics.py)."""
    if not value or not value.strip():
        return "is empty"
    if len(value) > MAX_DIMENSION_VALUE:
        return f"is longer than {MAX_DIMENSION_VALUE} characters (CloudWatch dimension value limit)"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "has control characters, which CloudWatch dimension values cannot hold"
    if not value.isascii():
        return "is not ASCII, which CloudWatch dimension values must be"
    return None


def check_datum(d: dict[str, Any]) -> None:
    """Refuse a datum CloudWatch would reject, before it can fail a whole call."""
    if len(d["Dimensions"]) > MAX_DIMENSIONS:
        raise ValueError(f"{d['MetricName']}: more than {MAX_DIMENSIONS} dimensions")
    for dim in d["Dimensions"]:
        if problem := dimension_value_problem(dim["Value"]):
            raise ValueError(f"{d['MetricName']}: dimension {dim['Name']} value must be 1-1024 characters of "
                             f"printable ASCII; it {problem}")  # fmt: skip
    values = d.get("Values", [d.get("Value", 0.0)])
    counts = d.get("Counts")
    if counts is not None and (
        len(counts) != len(values) or any(not math.isfinite(c) or c < 0 for c in counts)
    ):
        raise ValueError(
            f"{d['MetricName']}: Counts must match Values one to one and be finite, non-negative"
        )
    if len(values) > MAX_VALUES_PER_DATUM:
        raise ValueError(f"{d['MetricName']}: more than {MAX_VALUES_PER_DATUM} values in one datum")
    if any(not math.isfinite(v) or abs(v) > MAX_ABS_VALUE for v in values):
        raise ValueError(f"{d['MetricName']}: value is NaN, infinite or beyond ±2^360")


#: CloudWatch's own limits for a datum's timestamp; nothing outside them can be sent.
CLOUDWATCH_MAX_AGE = timedelta(days=14)
CLOUDWATCH_MAX_FUTURE = timedelta(hours=2)


@dataclass(frozen=True)
class Window:
    """The timestamps sent to CloudWatch: from ``max_age`` ago to ``max_future`` ahead, never
    beyond CloudWatch's own 14 days back and 2 hours ahead (a longer setting is clamped).

    The plan leaves out what lies outside when it is built (those minutes go to Parquet
    and Athena only); the publisher checks the lower end again at send time, because a
    replayed plan may be days old, with a margin at CloudWatch's own limit only.
    """

    max_age: timedelta = CLOUDWATCH_MAX_AGE
    max_future: timedelta = CLOUDWATCH_MAX_FUTURE

    def contains(self, t: datetime, now: datetime) -> bool:
        return (
            now - min(self.max_age, CLOUDWATCH_MAX_AGE)
            <= t
            <= now + min(self.max_future, CLOUDWATCH_MAX_FUTURE)
        )

    def split(self, datums: list[dict[str, Any]], now: datetime):
        """(datums inside the window, datums outside it), each in the given order."""
        keep, skip = [], []
        for d in datums:
            (keep if self.contains(datum_time(d), now) else skip).append(d)
        return keep, skip

    def send_floor(self, now: datetime, margin: timedelta) -> datetime:
        """The oldest timestamp a call may still carry when sent: the configured age, or
        CloudWatch's limit less ``margin`` (a datum at its edge would fail the whole call)."""
        return max(now - self.max_age, now - CLOUDWATCH_MAX_AGE + margin)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value, start=1):
            _flatten(f"{prefix}.member.{i}", v, out)
    else:
        out.append((prefix, str(value)))


def encoded_size(namespace: str, datums: Sequence[dict[str, Any]]) -> int:
    """Request body size in the Query protocol, the larger of CloudWatch's two encodings."""
    pairs: list[tuple[str, str]] = [("Action", "PutMetricData"), ("Version", "2010-08-01")]
    _flatten("", {"Namespace": namespace, "MetricData": list(datums)}, pairs)
    return max(len(urlencode(pairs)), len(json.dumps({"Namespace": namespace, "MetricData": list(datums)})))


def datum_size(namespace: str, datum: dict[str, Any], index: int = MAX_DATUMS_PER_CALL) -> int:
    pairs: list[tuple[str, str]] = []
    _flatten(f"MetricData.member.{index}", datum, pairs)
    return len(urlencode(pairs)) + 1


@dataclass(frozen=True)
class Call:
    """One PutMetricData call of a publish plan."""

    namespace: str
    datums: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "datums": list(self.datums)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Call:
        return cls(namespace=doc["namespace"], datums=tuple(doc["datums"]))


def pack(namespace: str, datums: Sequence[dict[str, Any]]) -> list[Call]:
    """Pack datums into calls of at most 1,000 datums and under 1 MB, in order."""
    calls: list[Call] = []
    current: list[dict[str, Any]] = []
    base = encoded_size(namespace, [])
    size = base
    for d in datums:
        check_datum(d)
        n = datum_size(namespace, d)
        if current and (len(current) >= MAX_DATUMS_PER_CALL or size + n > PAYLOAD_BUDGET):
            calls.append(Call(namespace, tuple(current)))
            current, size = [], base
        current.append(d)
        size += n
    if current:
        calls.append(Call(namespace, tuple(current)))
    return calls


def to_boto(datum: dict[str, Any]) -> dict[str, Any]:
    """A plan datum (JSON-safe) as boto3 wants it: the timestamp as a datetime."""
    return {**datum, "Timestamp": datum_time(datum)}

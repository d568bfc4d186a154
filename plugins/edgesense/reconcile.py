"""What CloudWatch holds against what ``minute_metrics`` counted, minute by minute and host by
host, why they differ, and which lost calls can be sent again safely (core: no AWS).

The compared figure is the requests of a minute x host: in CloudWatch the Sum of every
``ResponseCountTotal`` series of the host (both shapes), in ``minute_metrics`` the sum of
its rows. The budget's ``Other`` never changes it (it re-labels patterns, not requests).

A PutMetricData call is applied whole or not at all, so a call whose fate the publisher
could not know (an intent marker without done) either landed entirely or not at all. When
CloudWatch lacks, at every minute x host the call touches, exactly what the ambiguous
calls there carried, none of them landed and the repair may send them; anything else is
"cannot tell" and nothing is sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from edgesense.metrics import Call, datum_time

Key = tuple[datetime, str]  # (event minute, host)
CallId = tuple[str, int]  # (batch id, call index)

AMBIGUOUS = "ambiguous call (intent marker without done): CloudWatch lacks exactly what it carried"
OUT_OF_WINDOW = ("not in any plan: outside CloudWatch's 14-day window when the batch was planned, or its batch "
                 "has no plan")  # fmt: skip
UNPUBLISHED = "planned but not sent yet (a call with no ledger marker: publishing failed or is running)"
MORE_IN_CLOUDWATCH = (
    "CloudWatch holds more than was counted (sent twice, or by another writer); never repaired"
)
UNKNOWN = "unknown: no ledger or plan explains it"


def requests_of(call: Call) -> dict[Key, float]:
    """The requests one call carries, per minute x host (its ``ResponseCountTotal`` datums)."""
    out: dict[Key, float] = defaultdict(float)
    for d in call.datums:
        if d["MetricName"] == "ResponseCountTotal":
            host = next(x["Value"] for x in d["Dimensions"] if x["Name"] == "Host")
            out[(datum_time(d), host)] += float(d["Value"])
    return dict(out)


@dataclass(frozen=True)
class Mismatch:
    minute: datetime
    host: str
    cloudwatch: float
    counted: float
    reason: str
    calls: tuple[CallId, ...] = ()

    @property
    def missing(self) -> float:
        return self.counted - self.cloudwatch

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self) | {"minute": self.minute.isoformat(), "missing": self.missing}
        doc["calls"] = [f"{b}#{i}" for b, i in self.calls]
        return doc


@dataclass
class Ledgers:
    """What the plans and ledgers of a day's batches say, per minute x host."""

    planned: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    ambiguous: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    unsent: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    #: Each ambiguous call's requests per minute x host.
    ambiguous_calls: dict[CallId, dict[Key, float]] = field(default_factory=dict)
    #: The ``ResponseCountTotal`` series (dimension lists) the plans name: what to read back.
    series: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add_call(self, call_id: CallId, call: Call, *, done: bool, intent: bool) -> None:
        carried = requests_of(call)
        for d in call.datums:
            if d["MetricName"] == "ResponseCountTotal":
                self.series.setdefault(repr(d["Dimensions"]), d["Dimensions"])
        for key, n in carried.items():
            self.planned[key] += n
            if intent and not done:
                self.ambiguous[key] += n
            elif not done:
                self.unsent[key] += n
        if intent and not done and carried:
            self.ambiguous_calls[call_id] = carried


def compare(
    counted: Mapping[Key, float], cloudwatch: Mapping[Key, float], ledgers: Ledgers
) -> list[Mismatch]:
    """Every minute x host where CloudWatch and ``minute_metrics`` differ, with the reason where known."""
    out = []
    for key in sorted(set(counted) | set(cloudwatch)):
        cw, n = float(cloudwatch.get(key, 0.0)), float(counted.get(key, 0.0))
        if cw == n:
            continue
        missing = n - cw
        calls = tuple(sorted(c for c, carried in ledgers.ambiguous_calls.items() if key in carried))
        if missing < 0:
            reason = MORE_IN_CLOUDWATCH
        elif (calls and missing == ledgers.ambiguous[key] and not ledgers.unsent.get(key)
              and ledgers.planned.get(key, 0.0) == n):  # fmt: skip
            # Only when nothing else could explain the same shortfall: every counted request
            # is in a plan, and no call of the minute is still unsent.
            reason = AMBIGUOUS
        elif missing == n - ledgers.planned.get(key, 0.0):
            reason = OUT_OF_WINDOW
        elif missing == ledgers.unsent.get(key, 0.0):
            reason = UNPUBLISHED
        else:
            reason = UNKNOWN
        out.append(Mismatch(key[0], key[1], cw, n, reason, calls))
    return out


def repairable(mismatches: Iterable[Mismatch], ledgers: Ledgers) -> list[CallId]:
    """Ambiguous calls that certainly did not land: every minute x host they touch is short by
    exactly what the ambiguous calls there carried. A call touching a minute that is not so
    (CloudWatch complete there, or short by something else) is left alone: cannot tell."""
    explained = {(m.minute, m.host) for m in mismatches if m.reason == AMBIGUOUS}
    return sorted(c for c, carried in ledgers.ambiguous_calls.items() if set(carried) <= explained)


def landed(mismatches: Iterable[Mismatch], ledgers: Ledgers, compared: set[Key]) -> list[CallId]:
    """Ambiguous calls that certainly landed: every minute they touch was compared, none is short."""
    short = {(m.minute, m.host) for m in mismatches if m.missing > 0}
    return sorted(c for c, carried in ledgers.ambiguous_calls.items()
                  if set(carried) <= compared and not set(carried) & short)  # fmt: skip


@dataclass(frozen=True)
class Report:
    day: str
    namespace: str
    compared: int
    mismatches: tuple[Mismatch, ...]
    repaired: tuple[str, ...] = ()
    landed: tuple[str, ...] = ()

    def sentence(self) -> str:
        reasons: dict[str, int] = defaultdict(int)
        for m in self.mismatches:
            reasons[m.reason.split(":")[0].split(" (")[0]] += 1
        why = "; ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        return (f"{self.day}: {len(self.mismatches)} of {self.compared} minute x host mismatched"
                + (f" ({why})" if why else "") + f"; {len(self.repaired)} call(s) repaired")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "namespace": self.namespace, "minutes_compared": self.compared,
                "minutes_mismatched": len(self.mismatches), "mismatches": [m.to_json() for m in self.mismatches],
                "repaired": list(self.repaired), "landed": list(self.landed)}  # fmt: skip

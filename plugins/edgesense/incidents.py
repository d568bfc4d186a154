"""Labelled incidents for synthetic traffic: what happened to which host, when, and how much.

Four kinds, at realistic magnitudes:

- ``error_burst``: an origin fails a share of requests: ``magnitude`` (0.04 to 0.19) of them become
  5XX on top of the normal mix, so a host at 1 % 5XX goes to about 5 to 20 %.
- ``traffic_drop``: requests fall to ``magnitude`` (0.1: to 10 %) of normal (DNS, a broken app).
- ``latency_shift``: every request's turnaround is ``magnitude`` (1.5 to 3) times longer, so the p95
  is too (a slow origin, a lost cache).
- ``slow_ramp``: a bad deploy rolling out node by node: the extra 5XX share grows linearly from 0
  at ``start`` to ``magnitude`` (0.1 to 0.2) in the last minute; then it is rolled back.

The log generator applies :func:`effect` per host and minute: multiply that minute's lines by
``volume_factor``, turn a line into a 5XX with probability ``extra_5xx``, multiply its
turnaround by ``latency_factor``. The traffic model (:mod:`edgesense.traffic_model`) does the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from edgesense.anomaly import Signal

Kind = Literal["error_burst", "traffic_drop", "latency_shift", "slow_ramp"]
KINDS: tuple[Kind, ...] = ("error_burst", "traffic_drop", "latency_shift", "slow_ramp")
#: The signals an incident of each kind shows in; detecting it means an alarm on one of these.
AFFECTS: dict[Kind, tuple[Signal, ...]] = {
    "error_burst": ("ErrorRate5XX",),
    "traffic_drop": ("Requests",),
    "latency_shift": ("TurnAroundP95",),
    "slow_ramp": ("ErrorRate5XX",),
}
#: (lowest, highest) magnitude and duration in minutes that :func:`place` draws from, per kind.
RANGES: dict[Kind, tuple[tuple[float, float], tuple[int, int]]] = {
    "error_burst": ((0.04, 0.19), (10, 30)),
    "traffic_drop": ((0.1, 0.1), (10, 40)),
    "latency_shift": ((1.5, 3.0), (10, 30)),
    "slow_ramp": ((0.1, 0.2), (30, 60)),
}


@dataclass(frozen=True)
class Effect:
    """What incidents do to one host's minute: identity when nothing happens."""

    volume_factor: float = 1.0
    extra_5xx: float = 0.0
    latency_factor: float = 1.0

    def and_(self, other: Effect) -> Effect:
        """Two incidents at once: factors multiply, 5XX shares combine as independent failures."""
        return Effect(self.volume_factor * other.volume_factor,
                      1 - (1 - self.extra_5xx) * (1 - other.extra_5xx),
                      self.latency_factor * other.latency_factor)  # fmt: skip


NORMAL = Effect()


@dataclass(frozen=True)
class Incident:
    """One labelled incident on one host, from ``start`` (a UTC minute) for ``duration``."""

    kind: Kind
    host: str
    start: datetime
    duration: timedelta
    magnitude: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown incident kind {self.kind!r}")
        if self.duration < timedelta(minutes=1) or self.duration % timedelta(minutes=1):
            raise ValueError(f"duration must be whole minutes, at least one, got {self.duration}")
        if self.start.utcoffset() != timedelta(0) or self.start.second or self.start.microsecond:
            raise ValueError(f"start must be a whole UTC minute, got {self.start!r}")
        ok = self.magnitude > 1 if self.kind == "latency_shift" else 0 < self.magnitude < 1
        if not ok:
            raise ValueError(f"magnitude {self.magnitude} makes no {self.kind}")

    @property
    def end(self) -> datetime:
        """The first minute after the incident."""
        return self.start + self.duration

    @property
    def minutes(self) -> int:
        return int(self.duration / timedelta(minutes=1))

    def effect_at(self, minute: datetime) -> Effect:
        if not self.start <= minute < self.end:
            return NORMAL
        if self.kind == "error_burst":
            return Effect(extra_5xx=self.magnitude)
        if self.kind == "traffic_drop":
            return Effect(volume_factor=self.magnitude)
        if self.kind == "latency_shift":
            return Effect(latency_factor=self.magnitude)
        elapsed = (minute - self.start) / timedelta(minutes=1) + 1
        return Effect(extra_5xx=self.magnitude * elapsed / self.minutes)


def effect(incidents: Iterable[Incident], host: str, minute: datetime) -> Effect:
    """The combined effect of ``incidents`` on ``host`` in ``minute`` (:data:`NORMAL` if none)."""
    out = None
    for inc in incidents:
        if inc.host == host and inc.start <= minute < inc.end:
            e = inc.effect_at(minute)
            out = e if out is None else out.and_(e)
    return out or NORMAL


def place(
    hosts: Sequence[str],
    start: datetime,
    days: int,
    *,
    seed: int,
    per_host_day: float = 1.5,
    gap: timedelta = timedelta(hours=3),
) -> list[Incident]:
    """Random incidents over ``days`` from ``start``: kinds balanced, hosts and times uniform.

    Incidents of one host are at least ``gap`` apart, so each is judged against normal traffic
    and the quiet after one is not the lead-up to the next. Deterministic for a seed.
    """
    rng = random.Random(seed)
    count = round(per_host_day * len(hosts) * days)
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    span = days * 1440
    taken: dict[str, list[tuple[int, int]]] = {h: [] for h in hosts}
    out: list[Incident] = []
    for kind in kinds:
        (lo, hi), (dmin, dmax) = RANGES[kind]
        minutes = rng.randint(dmin, dmax)
        magnitude = round(rng.uniform(lo, hi), 3)
        for _ in range(200):  # a free slot is easy to find unless the days are crowded
            host = rng.choice(hosts)
            first = rng.randrange(0, span - minutes - 30)
            g = int(gap / timedelta(minutes=1))
            if all(first + minutes + g <= a or b + g <= first for a, b in taken[host]):
                taken[host].append((first, first + minutes))
                out.append(Incident(kind, host, start + timedelta(minutes=first), timedelta(minutes=minutes),
                                    magnitude))  # fmt: skip
                break
    return sorted(out, key=lambda i: (i.start, i.host))

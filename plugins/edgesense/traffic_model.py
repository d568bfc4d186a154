"""Per-minute traffic of a few CDN hosts, as ``minute_metrics`` would show it, with incidents applied.

Noise is what makes a detector honest, so each host has, per minute:

- requests ~ Poisson(peak x daily curve x weekly shape x slow wander x fast jitter): a daily curve
  from a night trough at 20 % of the peak to a late-afternoon high that lasts into the evening,
  shifted per host (its audience's time zone); weekends at 80 %, eased in and out over six hours; a slow
  log-normal wander (sd 6 %, hours long: a slow day, a campaign) and a fast one (sd 4 %, a few
  minutes: crawlers, app retries) on top of Poisson noise;
- 5XX ~ binomial at the host's rate, which wanders slowly (sd 20 %, two hours);
- TurnAroundTime p95: the 95th percentile of that minute's requests, each log-normal around a median
  that rises with load and wanders (sd 6 %). It is drawn as the order statistic it is (a Beta
  quantile), so a host with 30 requests a minute has a p95 as noisy as a real one.

Deterministic for a seed; each host has its own random stream, so adding a host changes no other.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

from edgesense.anomaly import Observation
from edgesense.incidents import Incident, effect

_Z = NormalDist()


@dataclass(frozen=True)
class HostProfile:
    """One host's normal traffic."""

    host: str
    peak_per_minute: float
    error_rate: float = 0.01
    tat_median_ms: float = 40.0
    tat_sigma: float = 0.9
    phase_minutes: int = 0


def default_hosts(n: int = 5) -> tuple[HostProfile, ...]:
    """``n`` hosts from 20,000 requests a minute at peak down by 0.3 each (5 hosts: 20,000 to 162)."""
    return tuple(
        HostProfile(f"host{i}.example.com", 20_000 * 0.3**i, error_rate=(0.01, 0.006, 0.015, 0.008, 0.012)[i % 5],
                    tat_median_ms=(35.0, 60.0, 45.0, 80.0, 50.0)[i % 5], phase_minutes=(0, 60, -45, 120, 30)[i % 5])
        for i in range(n)
    )  # fmt: skip


def _raw_daily(m: float) -> float:
    base = 0.6 - 0.4 * math.cos(2 * math.pi * (m - 240) / 1440)  # trough 04:00, high 16:00
    return base + 0.15 * math.exp(-(((m - 1230) / 100) ** 2))  # the evening stays busy


_DAILY_MAX = max(_raw_daily(m) for m in range(1440))


def daily(minute_of_day: float) -> float:
    """The daily curve, from 0.2 (04:00) to 1 (late afternoon), still high in the evening."""
    return _raw_daily(minute_of_day % 1440) / _DAILY_MAX


def _ease(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def weekly(t: datetime) -> float:
    """1 on weekdays, 0.8 at weekends, eased in Friday 22:00 to Saturday 04:00 and out Sunday 18:00 to 24:00."""
    h = t.weekday() * 24 + t.hour + t.minute / 60
    return 1 - 0.2 * (_ease((h - 118) / 6) - _ease((h - 162) / 6))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    u, k, p = rng.random(), 0, math.exp(-lam)
    c = p
    while u > c and k < 1000:
        k += 1
        p *= lam / k
        c += p
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 200:
        return sum(rng.random() < p for _ in range(n))
    if n * p < 30:
        return min(n, poisson(rng, n * p))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def p95(rng: random.Random, n: int, median_ms: float, sigma: float) -> float | None:
    """The p95 (nearest rank) of ``n`` log-normal turnarounds: the k-th order statistic, a Beta quantile."""
    if n <= 0:
        return None
    k = math.ceil(0.95 * n)
    u = min(max(rng.betavariate(k, n + 1 - k), 1e-12), 1 - 1e-12)
    return median_ms * math.exp(sigma * _Z.inv_cdf(u))


class _Ar1:
    """Log-normal AR(1) noise: stationary sd ``sd``, correlation time ``tau`` minutes."""

    def __init__(self, rng: random.Random, sd: float, tau: float) -> None:
        self.rng, self.rho = rng, math.exp(-1 / tau)
        self.step = sd * math.sqrt(1 - self.rho**2)
        self.x = rng.gauss(0, sd)

    def next(self) -> float:
        self.x = self.rho * self.x + self.rng.gauss(0, self.step)
        return math.exp(self.x)


def simulate(
    hosts: Sequence[HostProfile],
    start: datetime,
    minutes: int,
    incidents: Sequence[Incident] = (),
    *,
    seed: int = 0,
) -> Iterator[list[Observation]]:
    """Each minute from ``start`` (UTC), one :class:`Observation` per host, incidents applied."""
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    state = []
    for h in hosts:
        rng = random.Random(f"{seed}:{h.host}")
        noise = (_Ar1(rng, 0.06, 240), _Ar1(rng, 0.04, 3), _Ar1(rng, 0.2, 120), _Ar1(rng, 0.06, 60))
        state.append((h, rng, noise, [i for i in incidents if i.host == h.host]))
    for m in range(minutes):
        t = start + timedelta(minutes=m)
        row = []
        for h, rng, (slow, fast, err, lat), mine in state:
            e = effect(mine, h.host, t)
            curve = daily(t.hour * 60 + t.minute + h.phase_minutes)
            lam = h.peak_per_minute * curve * weekly(t) * slow.next() * fast.next() * e.volume_factor
            n = poisson(rng, lam)
            rate = min(0.5, h.error_rate * err.next())
            rate = 1 - (1 - rate) * (1 - e.extra_5xx)
            median = h.tat_median_ms * (0.85 + 0.3 * curve) * lat.next() * e.latency_factor
            row.append(Observation(t, h.host, n, binomial(rng, n, rate), p95(rng, n, median, h.tat_sigma)))
        yield row

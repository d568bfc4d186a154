"""Anomaly scores per host and signal against a robust baseline: medians and MADs, nothing to train.

Inputs, per host and event minute (:class:`Observation`, from ``minute_metrics``): requests, 5XX
responses and the TurnAroundTime p95 (``None`` when the minute had no latency). The caller passes
every minute of every host it knows, with 0 requests for a silent minute: a missing minute is
*unknown* and skipped, not zero, so a pipeline lag never looks like a traffic drop.

Each signal is scored on the last ``window`` minutes (5): a small host gets the power of five
minutes of requests, and a large one is still caught in the first minute of an incident.

- ``Requests`` and ``TurnAroundP95``: a seasonal shape times a recent level. The shape at a minute
  is the median, over the last ``days`` days, of each day's mean within ``seasonal_halfwidth``
  minutes of that minute of day; the level is the median of value / shape over the ``trailing``
  windows before the current one. A weekend, a growing site or a slow day moves the level, not the
  score. (Minute-of-week would need three weeks of history or more for a robust median.)
- ``ErrorRate5XX``: the 5XX share of the window's requests against the median share of the
  ``trailing`` windows before it. The 5XX rate has no daily shape worth modelling, and adding the
  same hours of past days only widened the spread (measured: fewer slow ramps caught in time).

The score is signed, (value - baseline) / spread, in robust standard deviations. The spread is
1.4826 x the median distance of the trailing windows from the baselines they had at their time,
so it includes how far a 2-hour median lags a wandering level: on normal traffic the scores have
a standard deviation of about 1 (measured on the traffic model), so a score of N is N such
deviations. It is floored by sampling noise (Poisson for a count, binomial for a rate taken as
at least ``min_rate``) and by a share of the baseline, so a small host or a host without errors
does not make a large score out of a handful of requests. A score of -8 on ``Requests`` means the
last minutes had 8 deviations fewer requests than the baseline. :attr:`Score.severity` is what is
published as ``AnomalyScore`` and alarmed on at ``threshold`` (5): the absolute score for ``Requests``
(a drop and a surge both alarm), the signed score for the others (fewer errors or faster answers
are good news).

Warm-up: a baseline needs half of its ``trailing`` windows, and its spread half of those
windows' own baselines: two hours for ``ErrorRate5XX`` (whose windows also need ``min_requests``
requests). ``Requests`` and ``TurnAroundP95`` also need a shape of ``min_days`` past days: 3 days
and two hours. Until then a signal has no score, and none is published.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Literal

Signal = Literal["Requests", "ErrorRate5XX", "TurnAroundP95"]
#: The CloudWatch ``Signal`` dimension values of ``AnomalyScore``.
SIGNALS: tuple[Signal, ...] = ("Requests", "ErrorRate5XX", "TurnAroundP95")
#: 1.4826 x MAD estimates the standard deviation of normal data, robustly.
MAD_TO_SD = 1.4826
DAY = 1440
#: The alarm threshold. ``make bench-anomaly`` measured about 0.4 false alarm episodes per host-day
#: at 5 and about 1 at 4.5 (the goal's budget), for 2 points more recall (slow ramps).
THRESHOLD = 5.0


@dataclass(frozen=True)
class Observation:
    """One host's event minute: what ``minute_metrics`` says about it."""

    minute: datetime
    host: str
    requests: float
    errors_5xx: float
    tat_p95_ms: float | None = None

    def __post_init__(self) -> None:
        if self.minute.utcoffset() != timedelta(0) or self.minute.second or self.minute.microsecond:
            raise ValueError(f"minute must be a whole UTC minute, got {self.minute!r}")
        if not 0 <= self.errors_5xx <= self.requests:
            raise ValueError(f"need 0 <= errors_5xx <= requests, got {self.errors_5xx} of {self.requests}")


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's knobs; the defaults are what ``make bench-anomaly`` measures."""

    threshold: float = THRESHOLD
    window: int = 5
    trailing: int = 120
    days: int = 7
    min_days: int = 3
    seasonal_halfwidth: int = 5
    min_coverage: float = 0.5
    min_requests: int = 100
    min_rate: float = 0.005
    requests_floor: float = 0.02
    rate_floor: float = 0.1
    latency_floor: float = 0.05

    def __post_init__(self) -> None:
        if not (
            self.threshold > 0
            and self.window >= 1
            and self.trailing >= 2
            and 1 <= self.min_days <= self.days
            and 0 < self.min_coverage <= 1
            and self.min_requests >= 1
            and 0 < self.min_rate < 1
            and min(self.seasonal_halfwidth, self.requests_floor, self.rate_floor, self.latency_floor) >= 0
        ):
            raise ValueError(f"inconsistent detector configuration: {self}")  # fmt: skip


@dataclass(frozen=True)
class Score:
    """How far one host's signal is from its baseline, in robust standard deviations (signed)."""

    minute: datetime
    host: str
    signal: Signal
    score: float
    value: float
    baseline: float
    spread: float
    threshold: float = THRESHOLD
    window: int = 5

    @property
    def severity(self) -> float:
        """The published ``AnomalyScore``: |score| for Requests, else the signed score."""
        return abs(self.score) if self.signal == "Requests" else self.score

    @property
    def is_anomalous(self) -> bool:
        return self.severity >= self.threshold

    def sentence(self) -> str:
        """The score in words, with the numbers it comes from."""
        side = "above" if self.score >= 0 else "below"
        if self.signal == "Requests":
            what = f"requests {_num(self.value)}/min vs baseline {_num(self.baseline)} ± {_num(self.spread)}"
        elif self.signal == "ErrorRate5XX":
            what = (f"5XX rate {self.value:.1%} vs baseline {self.baseline:.1%} "
                    f"± {_num(100 * self.spread)} points")  # fmt: skip
        else:
            what = f"TurnAroundTime p95 {_num(self.value)} ms vs baseline {_num(self.baseline)} ± {_num(self.spread)} ms"
        return (f"{self.host} at {self.minute:%Y-%m-%d %H:%M}Z, mean of {self.window} min: {what}: "
                f"{abs(self.score):.1f} robust deviations {side}")  # fmt: skip


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _index(minute: datetime) -> int:
    return int(minute.timestamp()) // 60


class Detector:
    """Scores minutes as they arrive, against the history it holds (indexed once, cached per window)."""

    def __init__(self, config: DetectorConfig | None = None, history: Iterable[Observation] = ()) -> None:
        self.config = config or DetectorConfig()
        self._obs: dict[str, dict[int, Observation]] = defaultdict(dict)
        self._latest: dict[str, int] = {}
        self._cache: dict[tuple, dict[int, float | None]] = {}  # (what, host, signal) -> minute -> value
        self.add(history)

    def add(self, observations: Iterable[Observation]) -> None:
        """History, not scored. A minute older than one already held drops the cached windows."""
        for o in observations:
            i = _index(o.minute)
            if i <= self._latest.get(o.host, i - 1):
                self._cache.clear()
            self._latest[o.host] = max(i, self._latest.get(o.host, i))
            self._obs[o.host][i] = o

    def score(self, now_minutes: Sequence[Observation]) -> list[Score]:
        """Add these minutes, then score each against the history before it (warm-up: no score)."""
        self.add(now_minutes)
        out: list[Score] = []
        for o in now_minutes:
            t = _index(o.minute)
            for s in (self._level(o.host, "Requests", t), self._rate(o.host, t),
                      self._level(o.host, "TurnAroundP95", t)):  # fmt: skip
                if s is not None:
                    out.append(s)
        return out

    def _x(self, host: str, signal: Signal, i: int) -> float | None:
        o = self._obs[host].get(i)
        if o is None:
            return None
        return o.requests if signal == "Requests" else o.tat_p95_ms

    def _around(self, host: str, signal: Signal, j: int) -> float | None:
        """Mean of the values within ``seasonal_halfwidth`` minutes of ``j`` (what one past day says)."""
        cache = self._cache.setdefault(("M", host, signal), {})
        if j not in cache:
            h = self.config.seasonal_halfwidth
            vals = [v for k in range(j - h, j + h + 1) if (v := self._x(host, signal, k)) is not None]
            cache[j] = sum(vals) / len(vals) if vals else None
        return cache[j]

    def _shape(self, host: str, signal: Signal, i: int) -> float | None:
        """The seasonal shape: the median over the past days of their mean around this minute of day."""
        cache = self._cache.setdefault(("S", host, signal), {})
        if i not in cache:
            c = self.config
            days = [
                m for d in range(1, c.days + 1) if (m := self._around(host, signal, i - d * DAY)) is not None
            ]
            cache[i] = statistics.median(days) if len(days) >= c.min_days else None
        return cache[i]

    def _window(self, host: str, signal: Signal, end: int) -> tuple[float, float, int] | None:
        """(mean value, mean seasonal shape, minutes) of the window ending at ``end`` (cached: the
        current window is a trailing one five minutes later)."""
        cache = self._cache.setdefault(("W", host, signal), {})
        if end not in cache:
            xs, shape = [], 0.0
            for i in range(end - self.config.window + 1, end + 1):
                x = self._x(host, signal, i)
                if x is not None and (s := self._shape(host, signal, i)) is not None:
                    xs.append(x)
                    shape += s
            cache[end] = (sum(xs) / len(xs), shape / len(xs), len(xs)) if xs else None  # type: ignore[assignment]
        return cache[end]  # type: ignore[return-value]

    def _counts(self, host: str, end: int) -> tuple[float, float]:
        """(5XX, requests) of the window ending at ``end``."""
        e = n = 0.0
        for i in range(end - self.config.window + 1, end + 1):
            if (o := self._obs[host].get(i)) is not None:
                e, n = e + o.errors_5xx, n + o.requests
        return e, n

    def _stat(self, host: str, signal: Signal, end: int) -> float | None:
        """What the baseline is a median of: value / shape of a window, or its 5XX share."""
        if signal == "ErrorRate5XX":
            e, n = self._counts(host, end)
            return e / n if n >= self.config.min_requests else None
        w = self._window(host, signal, end)
        return w[0] / w[1] if w is not None and w[1] > 0 else None

    def _trailing(self, kind: str, host: str, signal: Signal, t: int) -> list[float]:
        """``kind`` of the ``trailing`` windows before (not overlapping) the one ending at ``t``,
        where known: ``X`` their statistic, ``E`` its distance from the baseline it had then."""
        cache = self._cache.setdefault((kind, host, signal), {})
        ends = range(t - self.config.window - self.config.trailing + 1, t - self.config.window + 1)
        get = itemgetter(*ends)  # one lookup in C: this is the detector's inner loop
        if ends[-1] not in cache:  # minute by minute, only the newest window is new
            cache[ends[-1]] = self._fill(kind, host, signal, ends[-1])
        try:
            known = get(cache)
        except KeyError:  # the first scores after history was added
            for v in ends:
                if v not in cache:
                    cache[v] = self._fill(kind, host, signal, v)
            known = get(cache)
        return [x for x in known if x is not None]

    def _fill(self, kind: str, host: str, signal: Signal, v: int) -> float | None:
        x = self._stat(host, signal, v)
        if kind == "X":
            return x
        b = self._median_before(host, signal, v)
        return abs(x - b) if x is not None and b is not None else None

    def _median_before(self, host: str, signal: Signal, t: int) -> float | None:
        cache = self._cache.setdefault(("B", host, signal), {})
        if t not in cache:
            xs = self._trailing("X", host, signal, t)
            cache[t] = (
                statistics.median(xs) if len(xs) >= self.config.min_coverage * self.config.trailing else None
            )
        return cache[t]

    def _reference(self, host: str, signal: Signal, t: int) -> tuple[float, float] | None:
        """(baseline, robust sd of the baseline's own recent errors), in the statistic's units.

        The errors are each trailing window's distance from the baseline it had then (not from
        today's), so the spread includes how far a 2-hour median lags a wandering level: with it,
        normal traffic scores with a standard deviation of about 1 (measured), as N should mean.
        """
        base = self._median_before(host, signal, t)
        if base is None:
            return None
        errors = self._trailing("E", host, signal, t)
        if len(errors) < self.config.min_coverage * self.config.trailing:
            return None
        return base, MAD_TO_SD * statistics.median(errors)

    def _level(self, host: str, signal: Signal, t: int) -> Score | None:
        c = self.config
        cur, ref = self._window(host, signal, t), self._reference(host, signal, t)
        if cur is None or ref is None:
            return None
        (value, shape, n), (level, sd) = cur, ref
        baseline = level * shape
        if signal == "Requests":
            floor = max(math.sqrt(max(baseline, 1.0) / n), c.requests_floor * baseline)
        else:
            floor = max(1.0, c.latency_floor * baseline)
        return self._make(host, signal, t, value, baseline, max(sd * shape, floor))

    def _rate(self, host: str, t: int) -> Score | None:
        c = self.config
        e, n = self._counts(host, t)
        ref = self._reference(host, "ErrorRate5XX", t) if n >= c.min_requests else None
        if ref is None:
            return None
        p0, sd = ref
        p = max(p0, c.min_rate)
        spread = max(sd, math.sqrt(p * (1 - p) / n), c.rate_floor * p0)
        return self._make(host, "ErrorRate5XX", t, e / n, p0, spread)

    def _make(self, host: str, signal: Signal, t: int, value: float, baseline: float, spread: float) -> Score:
        minute = datetime.fromtimestamp(t * 60, UTC)
        c = self.config
        return Score(
            minute, host, signal, (value - baseline) / spread, value, baseline, spread, c.threshold, c.window
        )


def score(
    history: Iterable[Observation], now_minutes: Sequence[Observation], config: DetectorConfig | None = None
) -> list[Score]:
    """Score ``now_minutes`` against ``history`` (one-shot; keep a :class:`Detector` to score minute by minute)."""
    return Detector(config, history).score(now_minutes)

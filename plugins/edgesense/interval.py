"""The interval a run owns, and the manual-window params that can replace it.

Core: no Airflow, no AWS. An interval's bounds are whole seconds because S3 LastModified
is, and because a batch id must name its interval exactly (overlaps between batches are
decided from it); a fraction of a second would be dropped from the id and let two
batches take the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: The longest manual window; longer ranges are backfills (one run per minute).
MAX_WINDOW = timedelta(days=1)
#: How far back a manual window may start: nothing older can still be claimed usefully.
MAX_WINDOW_AGE = timedelta(days=366)
#: How far ahead a manual window may end: the sensor waits for the end (and the settle
#: delay) within its 15-minute timeout.
MAX_WINDOW_AHEAD = timedelta(minutes=5)


#: JSON Schema pattern of ``window_start``/``window_end``: ISO 8601, whole seconds, a zone
#: optional (none means UTC). The form and the REST API refuse anything else at trigger time.
WINDOW_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}(:?\d{2})?)?$(?!\n)"
#: JSON Schema pattern of ``prefix``: an S3 key prefix, never a path or an s3:// URL.
PREFIX_PATTERN = r"^(?![/\s])(?![sS]3://)"


class ParamError(ValueError):
    """A run's params can never work; retrying cannot fix them."""


@dataclass(frozen=True)
class Interval:
    """``[start, end)`` in UTC, whole seconds, non-empty."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            t = getattr(self, name)
            if t.tzinfo is None:
                raise ValueError("interval bounds must be timezone-aware")
            # Stdlib UTC datetimes: Airflow hands out pendulum ones, which refuse to compare with them.
            t = datetime.fromtimestamp(t.timestamp(), UTC)
            if t.microsecond:
                raise ValueError(f"interval bounds must be whole seconds, not {t.isoformat()}")
            object.__setattr__(self, name, t)
        if self.end <= self.start:
            raise ValueError(f"empty interval: {self.start.isoformat()} >= {self.end.isoformat()}")

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def ceil_second(t: datetime) -> datetime:
    """``t`` as a stdlib UTC datetime, rounded up to a whole second."""
    t = datetime.fromtimestamp(t.timestamp(), UTC)
    return t.replace(microsecond=0) + timedelta(seconds=1) if t.microsecond else t


def as_utc(value: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime; a time without a zone is UTC (ValueError if not ISO 8601)."""
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError as exc:  # year 1 with a positive offset
        raise ValueError(f"{value!r} is out of range") from exc


def parse_time(value: str, name: str) -> datetime:
    """An ISO 8601 param as an aware UTC datetime; naive values are UTC."""
    try:
        t = as_utc(value)
    except ValueError as exc:
        raise ParamError(
            f"param {name}={value!r} is not an ISO 8601 date-time (e.g. 2026-11-24T08:26:00Z)"
        ) from exc
    if t.microsecond:
        whole = t.replace(microsecond=0)
        raise ParamError(
            f"param {name}={value!r} has a fraction of a second; S3 LastModified has whole seconds, so give "
            f"whole seconds (e.g. {whole:%Y-%m-%dT%H:%M:%SZ} or {whole + timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ})"
        )
    return t


def _span(d: timedelta) -> str:
    if d % timedelta(days=1):
        return str(d)  # e.g. "1 day, 3:00:00"
    return f"{d.days} days" if d.days > 1 else "1 day"


def check_prefix(prefix: str | None) -> str | None:
    """The ``prefix`` param as a key prefix (None if not given); a path or URL is a ParamError."""
    if not prefix:
        return None
    if prefix.lower().startswith("s3://"):
        raise ParamError(f"prefix {prefix!r} is an S3 URL: give only the key prefix, e.g. logs/2026/11/24/")
    if prefix[0] in "/ \t":
        raise ParamError(f"prefix {prefix!r} starts with {prefix[0]!r}: it is an S3 key prefix, not a path; try "
                         f"{prefix.lstrip('/ ' + chr(9))!r}")  # fmt: skip
    return prefix


def describe(params: Mapping[str, Any] | None, start: datetime | None, end: datetime | None,
             interval: Interval) -> str:  # fmt: skip
    """One line: the window a run processes, and where it came from."""
    window = f"[{interval.start:%Y-%m-%dT%H:%M:%SZ}, {interval.end:%Y-%m-%dT%H:%M:%SZ})"
    if (params or {}).get("window_start"):
        ignored = (
            f" (the run's Data Interval {start.isoformat()}..{end.isoformat()} is ignored)" if start else ""
        )
        return f"processing window {window} from params window_start/window_end{ignored}"
    return f"processing window {window}: the run's Data Interval"


def resolve(
    params: Mapping[str, Any] | None,
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime | None = None,
    check_clock: bool = True,
) -> Interval:
    """The run's interval: the ``window_start``/``window_end`` params if given, else the data interval.

    Every way params can be wrong raises :class:`ParamError`, naming the param. Tasks after
    the claim pass ``check_clock=False``: the window's age and lead were checked when it was
    claimed, and a later retry or clear of a frozen batch must not fail on them.
    """
    params = params or {}
    ws, we = params.get("window_start"), params.get("window_end")
    if bool(ws) != bool(we):
        missing = "window_end" if ws else "window_start"
        raise ParamError(f"param {missing} is missing: give both window_start and window_end, or neither")
    if not ws:
        if start is None or end is None:
            raise ParamError("no data interval and no window params")
        # A manual trigger's data interval ends at the moment of the click. Rounding both
        # bounds up to the second changes nothing: LastModified t (whole seconds) lies in
        # [s, e) exactly when it lies in [ceil(s), ceil(e)).
        s, e = ceil_second(start), ceil_second(end)
        if e <= s:
            raise ParamError(
                f"the data interval {start.isoformat()}..{end.isoformat()} holds no whole second"
            )
        return Interval(s, e)
    t0, t1 = parse_time(ws, "window_start"), parse_time(we, "window_end")
    now = now or datetime.now(UTC)
    if t1 < t0:
        raise ParamError(f"window_end ({we}) is before window_start ({ws}); swap them")
    if t1 == t0:
        raise ParamError(f"window_end ({we}) equals window_start ({ws}): the window is empty")
    if t1 - t0 > MAX_WINDOW:
        raise ParamError(
            f"the window spans {_span(t1 - t0)}; at most 1 day, use a backfill for more "
            f"(window_start {ws}, window_end {we})"
        )
    if not check_clock:
        return Interval(t0, t1)
    if t0 < now - MAX_WINDOW_AGE:
        raise ParamError(
            f"param window_start={ws!r} is more than {MAX_WINDOW_AGE.days} days ago; objects are claimed by "
            "when they landed in S3, and none that old can be claimed"
        )
    if t1 > now + MAX_WINDOW_AHEAD:
        raise ParamError(
            f"param window_end={we!r} is in the future; a window is claimed once it has ended, so it may end "
            f"at most {int(MAX_WINDOW_AHEAD.total_seconds() // 60)} minutes from now"
        )
    return Interval(t0, t1)

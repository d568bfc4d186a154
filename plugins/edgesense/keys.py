"""Object-key layouts, batch ids and safe local file names.

DataStream 2 renders its folder path with ``{%Y}``-style variables in UTC at file
creation, which can be a little before the upload (LastModified). A run therefore lists
every folder that times in ``[start - lookback, end)`` can render to, then keeps only
the objects whose LastModified lies in the interval.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

_VAR = re.compile(r"\{(%[YmdHMS](?:[/\-_.]?%[YmdHMS])*)\}")
_STEP_BY_FIELD = {"S": timedelta(seconds=1), "M": timedelta(minutes=1), "H": timedelta(hours=1)}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_PREFIXES = 5000


def render_layout(layout: str, when: datetime) -> str:
    """Render ``logs/{%Y}/{%m}/{%d}/`` (or ``{%Y/%m/%d}``) for a UTC instant."""
    when = when.astimezone(UTC)
    return _VAR.sub(lambda m: when.strftime(m.group(1)), layout)


def _layout_step(layout: str) -> timedelta:
    fields = set(re.findall(r"%([YmdHMS])", "".join(_VAR.findall(layout))))
    for f in ("S", "M", "H"):
        if f in fields:
            return _STEP_BY_FIELD[f]
    return timedelta(days=1)


def listing_prefixes(layout: str, start: datetime, end: datetime, lookback: timedelta) -> list[str]:
    """Every distinct folder prefix that objects of ``[start - lookback, end)`` can be under.

    Listing stops at the first time variable, so ``{%streamId}``-style non-time variables
    (which we cannot enumerate) simply widen the prefix.
    """
    if end <= start:
        return []
    cut = layout.find("{%")
    static_end = len(layout)
    for m in re.finditer(r"\{%[A-Za-z]+\}", layout):
        if not _VAR.fullmatch(m.group(0)):
            static_end = m.start()
            break
    layout = layout[:static_end]
    if cut == -1 or cut >= static_end:
        return [layout]
    step = _layout_step(layout)
    t = _floor(start - lookback, step)
    out: list[str] = []
    while t < end:
        p = render_layout(layout, t)
        if not out or out[-1] != p:
            out.append(p)
        if len(out) > MAX_PREFIXES:
            raise ValueError(f"key layout {layout!r} gives more than {MAX_PREFIXES} prefixes for one run")
        t += step
    return sorted(set(out))


def _floor(t: datetime, step: timedelta) -> datetime:
    t = t.astimezone(UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((t - epoch) // step) * step


def batch_id(start: datetime, end: datetime, seq: int = 0) -> str:
    """Deterministic id of the ``seq``-th batch of an interval: ``20261124T120300-20261124T120400-0``.

    The id must name its interval exactly (overlaps are decided from it), so bounds with a
    fraction of a second, which it cannot carry, are refused rather than truncated.
    """
    if start.microsecond or end.microsecond:
        raise ValueError(f"batch bounds must be whole seconds: {start.isoformat()}, {end.isoformat()}")
    if end <= start:
        raise ValueError(f"empty interval: {start.isoformat()} >= {end.isoformat()}")
    fmt = "%Y%m%dT%H%M%S"
    return f"{start.astimezone(UTC).strftime(fmt)}-{end.astimezone(UTC).strftime(fmt)}-{seq}"


def parse_batch_id(value: str) -> tuple[datetime, datetime, int]:
    m = re.fullmatch(r"(\d{8}T\d{6})-(\d{8}T\d{6})-(\d+)", value)
    if not m:
        raise ValueError(f"not a batch id: {value!r}")
    fmt = "%Y%m%dT%H%M%S"
    s = datetime.strptime(m.group(1), fmt).replace(tzinfo=UTC)
    e = datetime.strptime(m.group(2), fmt).replace(tzinfo=UTC)
    return s, e, int(m.group(3))


def local_name(index: int, key: str, suffix: str) -> str:
    """A local file name for an object key that cannot escape its folder or collide.

    Keys are attacker-controlled text (``../``, NUL, very long names); only a short,
    character-filtered basename survives, prefixed by a position and a hash of the key.
    """
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    base = _SAFE.sub("_", key.rsplit("/", 1)[-1]).strip("._")[:60] or "object"
    return f"{index:06d}-{digest}-{base}{suffix}"

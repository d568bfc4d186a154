"""A batch manifest: where it lives, its version, and the shape a claim can rely on.

A claim reads every manifest near its interval, so the shape check lives here, once:
a hand-edited or foreign document is refused whole (and skipped) rather than failing a
comparison in every later claim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edgesense.aws.s3 import STATE_PREFIX
from edgesense.interval import Interval
from edgesense.keys import parse_batch_id

MANIFEST_PREFIX = f"{STATE_PREFIX}manifests/"
#: 1: objects owned by the manifest alone (before the object index); 2: owned through the index.
MANIFEST_VERSION = 2


def manifest_key(bid: str) -> str:
    start, _, _ = parse_batch_id(bid)
    return f"{MANIFEST_PREFIX}dt={start:%Y-%m-%d}/{bid}.json"


def overlaps(doc: dict[str, Any], interval: Interval) -> bool:
    bounds = stored_interval(doc)
    return bounds is not None and bounds[0] < interval.end and interval.start < bounds[1]


def check_manifest(doc: Any) -> None:
    """Raise ValueError unless ``doc`` has every field a claim reads, each of its type.

    A claim reads every manifest near its interval, so one hand-edited or foreign document
    must be refused here, whole, rather than fail a comparison in every later claim.
    """
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    version = doc.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"version {version!r} is not a whole number")
    if stored_interval(doc) is None:
        raise ValueError("no valid interval [start, end)")
    if not isinstance(doc.get("objects"), list):
        raise ValueError("no objects list")
    for i, o in enumerate(doc["objects"]):
        ok = (isinstance(o, dict) and isinstance(o.get("key"), str) and isinstance(o.get("etag"), str)
              and isinstance(o.get("size"), int) and isinstance(o.get("last_modified"), str))  # fmt: skip
        if ok:
            try:
                datetime.fromisoformat(o["last_modified"])
            except ValueError:
                ok = False
        if not ok:
            raise ValueError(
                f"object {i} lacks a string key and etag, an integer size or an ISO last_modified"
            )
    if version >= MANIFEST_VERSION and not isinstance(doc.get("batch_id"), str):
        raise ValueError("no batch_id")


def stored_interval(doc: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """A manifest's own interval, exactly as it was frozen (legacy ones may carry fractions)."""
    try:
        s, e = (datetime.fromisoformat(x).astimezone(UTC) for x in doc["interval"])
    except (KeyError, TypeError, ValueError):
        return None
    return (s, e) if e > s else None

"""Input formats and per-object detection.

Formats are detected per object from its first non-blank lines, so one batch may mix
DataStream 2 JSON, DataStream 1 "raw" JSON and (when a field order is configured)
DataStream 2 STRUCTURED logs.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Format = Literal["ds2_json", "ds1_raw", "ds2_structured"]
FORMATS: tuple[Format, ...] = ("ds2_json", "ds1_raw", "ds2_structured")
GZIP_MAGIC = b"\x1f\x8b"

#: Field order of Akamai's documented sample line (log-formats reference, sample A and C).
DOCS_SAMPLE_FIELDS: tuple[str, ...] = (
    "version", "streamId", "cp", "reqId", "reqTimeSec", "bytes", "cliIP", "statusCode", "proto",
    "reqHost", "reqMethod", "reqPath", "reqPort", "rspContentLen", "rspContentType", "UA",
    "tlsOverheadTimeMSec", "tlsVersion", "objSize", "uncompressedSize", "overheadBytes", "totalBytes",
    "queryStr", "breadcrumbs", "accLang", "cookie", "range", "referer", "xForwardedFor", "maxAgeSec",
    "reqEndTimeMSec", "errorCode", "turnAroundTimeMSec", "transferTimeMSec", "dnsLookupTimeMSec",
    "lastByte", "edgeIP", "country", "state", "city", "serverCountry", "billingRegion", "cacheStatus",
)  # fmt: skip


class CorruptObject(Exception):
    """An object that cannot be decompressed; it is quarantined, the batch goes on."""


@dataclass(frozen=True)
class Sniffed:
    format: Format
    compressed: bool
    # DS2 escapes spaces in UA/referer/query as '+'; DS1 carries them plain.
    plus_is_space: bool


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def _head(path: Path, compressed: bool, limit: int = 256 * 1024) -> bytes:
    if not compressed:
        with path.open("rb") as fh:
            return fh.read(limit)
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        # A short read of a truncated stream is fine if we got some bytes; gzip raises only
        # when nothing usable precedes the damage. Full integrity is checked by the scan.
        raise CorruptObject(f"not a readable gzip stream: {exc}") from exc


def detect(path: Path, structured_fields: list[str] | None = None) -> Sniffed:
    """Decide the format of a local copy of an object from its first lines."""
    compressed = is_gzip(path)
    head = _head(path, compressed)
    lines = [ln.strip() for ln in head.split(b"\n")[:50]]
    for raw in lines:
        if not raw:
            continue
        if raw.startswith(b"{"):
            try:
                doc = json.loads(raw)
            except ValueError:
                continue  # a bad first line is a rejected line, not a verdict on the file
            if isinstance(doc, dict) and isinstance(doc.get("message"), dict):
                return Sniffed("ds1_raw", compressed, plus_is_space=False)
            return Sniffed("ds2_json", compressed, plus_is_space=True)
        if structured_fields and raw[:1].isdigit():
            return Sniffed("ds2_structured", compressed, plus_is_space=True)
    # Undecided: treat as DS2 JSON; every line that is not JSON is then rejected and counted.
    return Sniffed("ds2_json", compressed, plus_is_space=True)

"""Input formats and per-object detection.

Formats are detected per object from its first non-blank lines, so one batch may mix
DataStream 2 JSON, DataStream 1 "raw" JSON and (when a field order is configured)
DataStream 2 STRUCTURED logs.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Format = Literal["ds2_json", "ds1_raw", "ds2_structured"]
GZIP_MAGIC = b"\x1f\x8b"


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
    """The first ``limit`` bytes of content. A damaged stream is fine if something precedes
    the damage (the scan finds and salvages it); only an unreadable start is fatal."""
    if not compressed:
        with path.open("rb") as fh:
            return fh.read(limit)
    d = zlib.decompressobj(wbits=31)
    out = b""
    try:
        with path.open("rb") as fh:
            while len(out) < limit and (chunk := fh.read(64 * 1024)):
                out += d.decompress(chunk, limit - len(out))
    except zlib.error as exc:
        if not out:
            raise CorruptObject(f"not a readable gzip stream: {exc}") from exc
    return out


@dataclass(frozen=True)
class Salvage:
    lines: int
    partial_tail: bytes
    error: str


def salvage_gzip(path: Path, out: Path) -> Salvage:
    """Copy the complete lines before the damage in a corrupt gzip object to ``out`` (plain).

    Returns how many lines were kept, the incomplete last line (lost, counted as
    rejected) and what was wrong with the stream. Later members of a multi-member file
    are read too, up to the damage, and the damaged piece is re-read a byte at a time so
    that nothing before the first bad byte is lost.
    """
    d = zlib.decompressobj(wbits=31)
    pending = b""
    lines = 0
    error = None
    with path.open("rb") as src, out.open("wb") as dst:
        while error is None and (piece := src.read(64 * 1024)):
            saved = d.copy()
            try:
                d, data = _inflate_members(d, piece)
            except zlib.error as exc:
                error = f"corrupt gzip data ({exc})"
                data, d = _inflate_up_to_error(saved, piece)
            data = pending + data
            cut = data.rfind(b"\n") + 1
            dst.write(data[:cut])
            lines += data.count(b"\n", 0, cut)
            pending = data[cut:]
    if error is None:
        error = "gzip stream ends early (truncated)" if not d.eof else "unreadable by the scan"
    return Salvage(lines=lines, partial_tail=pending, error=error)


def _inflate_up_to_error(d, piece: bytes) -> tuple[bytes, object]:
    """Everything ``piece`` inflates to before its first bad byte (member boundaries included)."""
    out = bytearray()
    for i in range(len(piece)):
        try:
            if d.eof:
                if not _more_members(d.unused_data + piece[i:]):
                    break
                d = zlib.decompressobj(wbits=31)
            out += d.decompress(piece[i : i + 1])
        except zlib.error:
            break
    return bytes(out), d


def _inflate_members(d, piece: bytes) -> tuple[object, bytes]:
    """Inflate ``piece``; concatenated members are valid gzip, so each one starts a new decompressor."""
    data = d.decompress(piece)
    while d.eof and _more_members(d.unused_data):
        rest = d.unused_data
        d = zlib.decompressobj(wbits=31)
        data += d.decompress(rest)
    return d, data


def _more_members(rest: bytes) -> bool:
    """Bytes after a gzip member are another member, unless they are only zero padding."""
    return bool(rest.strip(b"\x00"))


class InflateLimitExceeded(Exception):
    """An object inflates to more than its bound: a gzip bomb, or a setting set too low."""


class InflateGuard:
    """Counts what a gzip stream inflates to while it streams past, and stops at ``limit``.

    Time and memory of a scan grow with the *inflated* size, so a small object of
    newlines can stall a batch; this finds out for the price of one inflate, overlapped
    with the download. Output is produced in 1 MB pieces and dropped. A stream that is
    not gzip counts its own bytes; a corrupt one stops counting (the scan finds it).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inflated = 0
        self._d: Any = None
        self._sniffed = b""
        self._plain = False
        self._broken = False

    def feed(self, data: bytes) -> None:
        if self._broken:
            return
        if self._d is None and not self._plain:
            self._sniffed += data
            if len(self._sniffed) < 2:
                return
            data, self._sniffed = self._sniffed, b""
            if data[:2] == GZIP_MAGIC:
                self._d = zlib.decompressobj(wbits=31)
            else:
                self._plain = True
        if self._plain:
            self._add(len(data))
            return
        try:
            while data:
                out = self._d.decompress(data, 1024 * 1024)
                self._add(len(out))
                data = self._d.unconsumed_tail
                if self._d.eof:
                    rest = self._d.unused_data
                    if not _more_members(rest):
                        return
                    self._d = zlib.decompressobj(wbits=31)
                    data = rest
        except zlib.error:
            self._broken = True

    def _add(self, n: int) -> None:
        self.inflated += n
        if self.inflated > self.limit:
            raise InflateLimitExceeded(f"inflates to more than {self.limit / 2**20:,.1f} MiB")

    def close(self) -> int:
        """The inflated size (an object too short to sniff counts as plain)."""
        self.inflated += len(self._sniffed)
        self._sniffed = b""
        return self.inflated


def gzip_isize(path: Path) -> int:
    """The trailer's ISIZE field: the uncompressed length mod 2**32 of the last member."""
    with path.open("rb") as fh:
        fh.seek(-4, 2)
        return int.from_bytes(fh.read(4), "little")


def gzip_problem(path: Path) -> str | None:
    """What is wrong with a gzip object, or None when every member inflates to its end.

    A full inflate, so it runs only on suspects: not every DuckDB version reports a
    truncated stream (1.4 reads up to the cut and stops without an error).
    """
    d = zlib.decompressobj(wbits=31)
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                d, _ = _inflate_members(d, chunk)
    except zlib.error as exc:
        return f"corrupt gzip data ({exc})"
    return None if d.eof else "gzip stream ends early (truncated)"


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

"""Synthetic DataStream logs, like the original's generate.js, named like real uploads.

Status and path mixes follow the original generator (200 80 %, 301 5 %, 401 5 %,
404 8 %, 500 1 %, 503 1 %; product, category, brand and API paths), plus about 8 % of
paths that none of the original's sample rules match (the home page, static files,
search, login), as on a real site, so ``rules unmatched`` has something to say.
Output is deterministic for a given seed, so tests and the demo can state exact totals.
Files are described first and written on demand, a chunk of lines at a time, so any
size is generated in bounded memory.
"""

from __future__ import annotations

import bisect
import gzip
import io
import itertools
import json
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import BinaryIO
from urllib.parse import quote

from edgesense.keys import render_layout

STATUSES = ((200, 80), (301, 5), (401, 5), (404, 8), (500, 1), (503, 1))
PATHS = (
    ("/test_product_123456.html", 30),
    ("/test_index_c123456.html", 30),
    ("/test_productbrand_3001050747.html", 10),
    ("/json/checkout/api.js", 30),
    # No sample rule matches these: about 8 % of requests, over ~100 distinct paths
    # ({n} is a number from 0 to 39), so the top-N of `rules unmatched` has a long tail.
    ("/", 2.5),
    ("/static/css/site-{n}.css", 1.5),
    ("/images/banner-{n}.jpg", 1.5),
    ("/blog/post-{n}", 1),
    ("/search", 1),
    ("/account/login", 0.5),
    ("/robots.txt", 0.5),
)
#: Lines per chunk written: bounds memory whatever the file's size.
CHUNK_LINES = 5000
HOST = "www.example.abc"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"


@cache
def _cumulative(table: tuple) -> tuple[tuple, list[float]]:
    values, weights = zip(*table, strict=True)
    return values, list(itertools.accumulate(weights))


def _pick(rng: random.Random, table: tuple) -> object:
    values, cum = _cumulative(table)
    return values[bisect.bisect(cum, rng.random() * cum[-1])]


def _below(rng: random.Random, n: int, lo: int = 0) -> int:
    """``randrange(lo, n)``, several times faster (this is the generator's hot loop)."""
    return lo + int(rng.random() * (n - lo))


def _path(rng: random.Random) -> str:
    path = _pick(rng, PATHS)
    return path.replace("{n}", str(_below(rng, 40))) if "{n}" in path else path


def _ip(rng: random.Random) -> str:
    return f"{_below(rng, 255, 1)}.{_below(rng, 255, 1)}.{_below(rng, 255, 1)}.{_below(rng, 255, 1)}"


@cache
def _pct(s: str) -> str:
    """DataStream's URL-encoding of UA and referer (cached: the same few values on every line)."""
    return quote(s, safe="").replace("%20", "+")


def ds2_line(rng: random.Random, when: datetime, host: str = HOST) -> dict[str, str]:
    status = _pick(rng, STATUSES)
    path = _path(rng)
    return {
        "version": "1",
        "streamId": "12345",
        "cp": "123456",
        "reqId": f"{rng.getrandbits(32):08x}",
        "reqTimeSec": f"{when.timestamp():.3f}",
        "bytes": str(_below(rng, 40000)),
        "cliIP": _ip(rng),
        "statusCode": str(status),
        "proto": "HTTP/1.1",
        "reqHost": host,
        "reqMethod": "GET",
        "reqPath": path,
        "reqPort": "443",
        "rspContentType": "text/html",
        "UA": _pct(UA),
        "referer": _pct(f"https://{host}/"),
        "turnAroundTimeMSec": str(_below(rng, 300, 1)),
        "transferTimeMSec": str(_below(rng, 3000)),
        "cacheStatus": str(int(rng.random() < 0.7)),
        "country": ("DE", "US", "FR", "IN")[_below(rng, 4)],
        "edgeIP": "23.50.51.173",
    }


def ds1_line(rng: random.Random, when: datetime, host: str = HOST) -> dict:
    status = _pick(rng, STATUSES)
    path = _path(rng)
    return {
        "id": "1100",
        "reqid": f"{rng.getrandbits(32):08x}",
        "type": "Raw",
        "cp": "344739",
        "start": str(int(when.timestamp() * 1000)),
        "message": {
            "cliIP": _ip(rng),
            "reqMethod": "GET",
            "bytes": str(_below(rng, 40000)),
            "reqHost": host,
            "UA": UA,
            "reqPath": path,
            "status": str(status),
        },
        "reqHdr": {"referer": f"https://{host}/"},
        "netPerf": {"downloadTime": str(_below(rng, 3000))},
        "cache": {"cacheHit": str(int(rng.random() < 0.7))},
    }


@dataclass(frozen=True)
class GeneratedFile:
    """One synthetic log object: its key and size now, its bytes when written."""

    key: str
    lines: int
    format: str
    seed: int
    start: datetime
    host: str = HOST

    def write(self, out: BinaryIO, progress: Callable[[int], None] | None = None) -> None:
        """Write the gzip object to ``out``, ``CHUNK_LINES`` lines at a time."""
        rng = random.Random(self.seed)
        make = ds2_line if self.format == "ds2_json" else ds1_line
        step = 59.999 / self.lines
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz:
            for first in range(0, self.lines, CHUNK_LINES):
                n = min(CHUNK_LINES, self.lines - first)
                # Stratified times: in order without holding them all.
                times = (self.start + timedelta(seconds=(first + i + rng.random()) * step) for i in range(n))
                gz.write("".join(json.dumps(make(rng, t, self.host), separators=(",", ":")) + "\n"
                                 for t in times).encode())  # fmt: skip
                if progress is not None:
                    progress(n)

    @property
    def body(self) -> bytes:
        """The whole gzip object in memory (for small files: tests, the demo)."""
        buf = io.BytesIO()
        self.write(buf)
        return buf.getvalue()


def generate(
    *,
    start: datetime,
    minutes: int = 3,
    lines_per_minute: int = 1000,
    files_per_minute: int = 2,
    layout: str = "logs/{%Y}/{%m}/{%d}/{%H}/",
    ds1_files: int = 0,
    seed: int = 7,
    host: str = HOST,
) -> Iterator[GeneratedFile]:
    """The files covering ``minutes`` event minutes from ``start`` (UTC), described, not yet written.

    Keys follow DataStream 2's ``ak-{random}-{epoch}-{random}-ds`` naming under the layout.
    """
    if minutes < 1 or lines_per_minute < 1 or not 1 <= files_per_minute <= lines_per_minute or ds1_files < 0:
        raise ValueError(
            "minutes and lines_per_minute must be >= 1, files_per_minute from 1 to lines_per_minute, "
            "ds1_files >= 0"
        )
    rng = random.Random(seed)
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    per_file = lines_per_minute // files_per_minute
    for m in range(minutes):
        minute = start + timedelta(minutes=m)
        for f in range(files_per_minute):
            n = per_file if f < files_per_minute - 1 else lines_per_minute - per_file * (files_per_minute - 1)
            epoch = int((minute + timedelta(seconds=59)).timestamp())
            key = f"{render_layout(layout, minute)}ak-{secrets.token_hex(4)}-{epoch}-{secrets.token_hex(4)}-ds.gz"
            yield GeneratedFile(key, n, "ds2_json", rng.getrandbits(64), minute, host)
    for i in range(ds1_files):
        minute = start + timedelta(minutes=i % minutes)
        key = f"{render_layout(layout, minute)}ds1/record_{minute:%Y-%m-%dT%H:%M:%SZ}-{i}.log.gz"
        yield GeneratedFile(key, per_file, "ds1_raw", rng.getrandbits(64), minute, host)

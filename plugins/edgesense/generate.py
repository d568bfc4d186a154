"""Synthetic DataStream logs, like the original's generate.js, named like real uploads.

Status and path mixes follow the original generator (200 80 %, 301 5 %, 401 5 %,
404 8 %, 500 1 %, 503 1 %; product, category, brand and API paths). Output is
deterministic for a given seed, so tests and the demo can state exact totals.
"""

from __future__ import annotations

import gzip
import json
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from edgesense.keys import render_layout

STATUSES = ((200, 80), (301, 5), (401, 5), (404, 8), (500, 1), (503, 1))
PATHS = (
    ("/test_product_123456.html", 30),
    ("/test_index_c123456.html", 30),
    ("/test_productbrand_3001050747.html", 10),
    ("/json/checkout/api.js", 30),
)
HOST = "www.example.abc"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"


def _pick(rng: random.Random, table) -> object:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


def _pct(s: str) -> str:
    return quote(s, safe="").replace("%20", "+")


def ds2_line(rng: random.Random, when: datetime, host: str = HOST) -> dict[str, str]:
    status = _pick(rng, STATUSES)
    path = _pick(rng, PATHS)
    return {
        "version": "1",
        "streamId": "12345",
        "cp": "123456",
        "reqId": f"{rng.getrandbits(32):08x}",
        "reqTimeSec": f"{when.timestamp():.3f}",
        "bytes": str(rng.randrange(40000)),
        "cliIP": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
        "statusCode": str(status),
        "proto": "HTTP/1.1",
        "reqHost": host,
        "reqMethod": "GET",
        "reqPath": path,
        "reqPort": "443",
        "rspContentType": "text/html",
        "UA": _pct(UA),
        "referer": _pct(f"https://{host}/"),
        "turnAroundTimeMSec": str(rng.randrange(1, 300)),
        "transferTimeMSec": str(rng.randrange(3000)),
        "cacheStatus": str(int(rng.random() < 0.7)),
        "country": rng.choice(("DE", "US", "FR", "IN")),
        "edgeIP": "23.50.51.173",
    }


def ds1_line(rng: random.Random, when: datetime, host: str = HOST) -> dict:
    status = _pick(rng, STATUSES)
    path = _pick(rng, PATHS)
    return {
        "id": "1100",
        "reqid": f"{rng.getrandbits(32):08x}",
        "type": "Raw",
        "cp": "344739",
        "start": str(int(when.timestamp() * 1000)),
        "message": {
            "cliIP": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            "reqMethod": "GET",
            "bytes": str(rng.randrange(40000)),
            "reqHost": host,
            "UA": UA,
            "reqPath": path,
            "status": str(status),
        },
        "reqHdr": {"referer": f"https://{host}/"},
        "netPerf": {"downloadTime": str(rng.randrange(3000))},
        "cache": {"cacheHit": str(int(rng.random() < 0.7))},
    }


@dataclass(frozen=True)
class GeneratedFile:
    key: str
    body: bytes
    lines: int
    format: str


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
    """Yield gzip files covering ``minutes`` event minutes from ``start`` (UTC).

    Keys follow DataStream 2's ``ak-{random}-{epoch}-{random}-ds`` naming under the layout.
    """
    rng = random.Random(seed)
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    per_file = max(1, lines_per_minute // files_per_minute)
    for m in range(minutes):
        minute = start + timedelta(minutes=m)
        for f in range(files_per_minute):
            n = per_file if f < files_per_minute - 1 else lines_per_minute - per_file * (files_per_minute - 1)
            times = sorted(minute + timedelta(seconds=rng.random() * 59.999) for _ in range(n))
            body = "".join(json.dumps(ds2_line(rng, t, host), separators=(",", ":")) + "\n" for t in times)
            epoch = int((minute + timedelta(seconds=59)).timestamp())
            key = f"{render_layout(layout, minute)}ak-{secrets.token_hex(4)}-{epoch}-{secrets.token_hex(4)}-ds.gz"
            yield GeneratedFile(key, gzip.compress(body.encode(), mtime=0), n, "ds2_json")
    for i in range(ds1_files):
        minute = start + timedelta(minutes=i % max(1, minutes))
        times = sorted(minute + timedelta(seconds=rng.random() * 59.999) for _ in range(per_file))
        body = "".join(json.dumps(ds1_line(rng, t, host), separators=(",", ":")) + "\n" for t in times)
        key = f"{render_layout(layout, minute)}ds1/record_{minute:%Y-%m-%dT%H:%M:%SZ}-{i}.log.gz"
        yield GeneratedFile(key, gzip.compress(body.encode(), mtime=0), per_file, "ds1_raw")

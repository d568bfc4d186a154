"""A reproducible DataStream 2 corpus for the benchmark: realistic lines, realistic paths.

Paths follow a Zipf-like mix over a fixed catalogue (``distinct`` paths) plus a share of
one-off search paths, across three hosts. Lines are about 590 bytes, like Akamai's own
sample line (the fields edgesense reads, and a realistic user agent). The same arguments always give byte-identical files, and an existing corpus with
a matching manifest is reused, so only the first run pays for generation.
"""

from __future__ import annotations

import bisect
import gzip
import json
import random
from dataclasses import asdict, dataclass
from itertools import accumulate
from pathlib import Path

HOSTS = ("www.example.com", "shop.example.com", "api.example.com")
SECTIONS = (
    "products", "category", "brand", "search", "cart", "checkout", "account", "help", "blog", "static",
    "img", "api/v1/items", "api/v1/users", "api/v2/orders", "api/v2/stock", "media", "stores", "deals",
    "gift-cards", "reviews",
)  # fmt: skip
UA = (
    "Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)%20AppleWebKit/605.1.15%20"
    "(KHTML,%20like%20Gecko)%20Version/17.0%20Safari/605.1.15"
)
STATUS_TABLE = ((200, 80), (301, 5), (304, 3), (404, 8), (500, 2), (503, 2))
START_EPOCH = 1_790_000_000  # 2026-09-21, a fixed hour so the corpus never depends on the clock


@dataclass(frozen=True)
class CorpusSpec:
    lines: int = 2_000_000
    files: int = 20
    distinct: int = 50_000  # catalogue of recurring paths
    unique_share: float = 0.05  # share of lines with a one-off search path
    rules: int = 30
    seed: int = 42

    @property
    def name(self) -> str:
        return f"ds2-{self.lines}l-{self.files}f-{self.distinct}d-{self.unique_share:g}u-{self.rules}r-s{self.seed}"


def catalogue(rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        section = SECTIONS[i % len(SECTIONS)]
        out.append(f"/{section}/{rng.choice(('item', 'p', 'x', 'page'))}-{i}-{rng.getrandbits(24):06x}.html")
    return out


def rules_csv(n: int) -> str:
    """``n`` ranked rules: one per section first, then narrower ones that rank above them."""
    rows = ["Id,Regex,Rank"]
    for i, section in enumerate(SECTIONS[: min(n, len(SECTIONS))]):
        rows.append(f"{section.replace('/', '_').title()},^/{section}/,{100 + i}")
    for i in range(max(0, n - len(SECTIONS))):
        section = SECTIONS[i % len(SECTIONS)]
        rows.append(f"Narrow{i},^/{section}/(item|p)-{i}[0-9]*-[0-9a-f]+\\.html$,{i + 1}")
    return "\n".join(rows) + "\n"


def build(spec: CorpusSpec, root: Path) -> tuple[list[Path], Path]:
    """Write (or reuse) the corpus; return its files and its rules CSV."""
    folder = root / spec.name
    manifest = folder / "manifest.json"
    files = [folder / f"part-{i:03d}.json.gz" for i in range(spec.files)]
    rules = folder / "rules.csv"
    if (
        manifest.exists()
        and json.loads(manifest.read_text()) == asdict(spec)
        and all(f.exists() for f in files)
    ):
        return files, rules
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    paths = catalogue(rng, spec.distinct)
    weights = list(accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(paths))))  # Zipf, s = 1.1
    status_codes = [s for s, _ in STATUS_TABLE]
    status_weights = list(accumulate(w for _, w in STATUS_TABLE))
    per_file = spec.lines // spec.files
    unique = 0
    for n, target in enumerate(files):
        count = per_file if n < spec.files - 1 else spec.lines - per_file * (spec.files - 1)
        chunk: list[str] = []
        for i in range(count):
            if rng.random() < spec.unique_share:
                unique += 1
                path = f"/search/q-{unique}-{rng.getrandbits(32):08x}"
            else:
                path = paths[bisect.bisect(weights, rng.random() * weights[-1])]
            status = status_codes[bisect.bisect(status_weights, rng.random() * status_weights[-1])]
            when = START_EPOCH + (n * per_file + i) * 3600 / spec.lines  # the corpus spans one hour
            chunk.append(
                '{"streamId":"12345","cp":"123456","reqId":"%08x","reqTimeSec":"%.3f",'
                '"bytes":"%d","cliIP":"10.%d.%d.%d","statusCode":"%d","reqHost":"%s",'
                '"reqMethod":"GET","reqPath":"%s","rspContentType":"text/html","UA":"%s",'
                '"queryStr":"-","referer":"https%%3A%%2F%%2F%s%%2F","errorCode":"-",'
                '"turnAroundTimeMSec":"%d","transferTimeMSec":"%d","edgeIP":"23.50.51.173","country":"%s",'
                '"cacheStatus":"%d"}'
                % (
                    rng.getrandbits(32), when, rng.randrange(40000), rng.randrange(256), rng.randrange(256),
                    rng.randrange(1, 255), status, HOSTS[i % 3], path, UA, HOSTS[i % 3], rng.randrange(1, 300), rng.randrange(3000),
                    ("DE", "US", "FR", "IN")[i % 4], rng.random() < 0.7,
                )
            )  # fmt: skip
        target.write_bytes(gzip.compress(("\n".join(chunk) + "\n").encode(), compresslevel=6, mtime=0))
    rules.write_text(rules_csv(spec.rules), encoding="utf-8")
    manifest.write_text(json.dumps(asdict(spec), indent=2) + "\n")
    return files, rules

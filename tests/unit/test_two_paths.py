"""The metrics path and the archive give exactly what the line-by-line path gives.

One mixed corpus (DS2 JSON gzip and plain, DS1 raw, DS2 structured, bad lines of every
kind, event times outside the accepted spread, a truncated gzip, a non-gzip object) goes
through the old line path (:class:`Aggregator`) and the new paths; minute_metrics, the
CloudWatch datums, rejects and the requests rows must be equal.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from edgesense.aggregate import Aggregator, ReadOptions, SourceFile
from edgesense.archive import ArchiveBatch, Archiver
from edgesense.metrics import build_datums
from edgesense.metrics_path import MetricsAggregator
from edgesense.rules import Rule, RuleSet, sample_rule_set
from helpers import DOCS_SAMPLE_FIELDS, ROOT

FIXTURES = ROOT / "tests" / "fixtures"
DS2_SAMPLE = json.loads((FIXTURES / "ds2_akamai_docs_sample.json").read_text())
DS1_SAMPLE = json.loads((FIXTURES / "ds1_raw_original_sample.json").read_text())
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PATHS = ["/x_product_1", "/json/v1/x", "/checkout/cart", "/a%20b/c", "/unknown/%E2%82%AC", "no-slash", "-"]
HOSTS = ["www.example.abc", "API.example.abc", "cdn.example.abc"]
OPTIONS = ReadOptions(structured_fields=DOCS_SAMPLE_FIELDS, unmatched_top=3)


def ds2(rnd: random.Random, i: int, **over) -> str:
    doc = dict(DS2_SAMPLE)
    doc.update(
        reqTimeSec=f"{(T0 + timedelta(seconds=rnd.randrange(0, 300))).timestamp() + rnd.random():.3f}",
        statusCode=rnd.choice(["200", "200", "304", "404", "503"]),
        reqHost=rnd.choice(HOSTS),
        reqPath=rnd.choice(PATHS),
        bytes=str(rnd.randrange(0, 10**6)),
        turnAroundTimeMSec=rnd.choice(["12", "250", "-", "7.5"]),
        transferTimeMSec=str(rnd.randrange(0, 900)),
        cacheStatus=rnd.choice(["0", "1", "-"]),
        UA="Mozilla/5.0+(X11)" if i % 3 else "curl%2F8.0",
        queryStr=rnd.choice(["-", "q=a+b", "x=%41"]),
    )
    doc.update(over)
    return json.dumps(doc)


def ds1(rnd: random.Random) -> str:
    doc = json.loads(json.dumps(DS1_SAMPLE))
    doc["start"] = str(int((T0 + timedelta(seconds=rnd.randrange(0, 300))).timestamp() * 1000))
    doc["message"]["reqPath"] = rnd.choice(PATHS)
    doc["message"]["status"] = rnd.choice(["200", "500"])
    return json.dumps(doc)


def structured(rnd: random.Random, i: int) -> str:
    doc = json.loads(ds2(rnd, i))
    return " ".join(str(doc.get(f, "-")) for f in DOCS_SAMPLE_FIELDS)


BAD_LINES = [
    "not json at all",
    '{"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "x.abc", "reqPath": "/trunc',
    "[1, 2]",
    "{}",
    json.dumps({"statusCode": "200", "reqHost": "a.abc"}),  # no time
    json.dumps({"reqTimeSec": "yesterday", "statusCode": "200", "reqHost": "a.abc"}),
    json.dumps({"reqTimeSec": "1764496800", "statusCode": "OK", "reqHost": "a.abc"}),
    json.dumps({"reqTimeSec": "1764496800", "statusCode": "1200", "reqHost": "a.abc"}),
    json.dumps({"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "-"}),
    json.dumps({"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "bad host"}),
    json.dumps({"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc", "bytes": "-5"}),
    json.dumps(
        {"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc", "turnAroundTimeMSec": "1e12"}
    ),
    '{"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc", "reqPath": "/\x1fx"}',
]


def corpus(tmp: Path) -> list[SourceFile]:
    rnd = random.Random(7)
    arrived = T0 + timedelta(minutes=6)
    files: list[SourceFile] = []

    def add(name: str, body: bytes, *, gz: bool = True, when: datetime | None = arrived) -> None:
        path = tmp / name
        path.write_bytes(gzip.compress(body) if gz else body)
        files.append(SourceFile(path, f"logs/{name}", when))

    def text(lines: list[str]) -> bytes:
        return ("\n".join(lines) + "\n").encode()

    for n in range(3):  # clean DS2 JSON, gzip
        add(f"clean-{n}.gz", text([ds2(rnd, i) for i in range(400)]))
    plain = [ds2(rnd, i) for i in range(150)] + [
        ds2(rnd, 0, reqPath=None),
        ds2(rnd, 1, reqHost="WWW.Example.ABC"),
    ]
    add("plain.json", text(plain) + b"\n   \n", gz=False)  # not gzip, blank lines, no path (is /), upper case
    add("ds1.gz", text([ds1(rnd) for _ in range(120)]))
    add("structured.gz", text([structured(rnd, i) for i in range(90)]))
    good = [ds2(rnd, i) for i in range(200)]
    add("bad-lines.gz", text(good[:100] + BAD_LINES + good[100:]) + b"\xff\xfe not utf-8\n")
    # Every line valid, but some far from the object's arrival: the line path names them.
    far = [ds2(rnd, i) for i in range(60)] + [
        ds2(rnd, 0, reqTimeSec=str((T0 - timedelta(days=40)).timestamp()))
    ]
    add("too-old.gz", text(far))
    add("too-new.gz", text([ds2(rnd, i) for i in range(30)] + [ds2(rnd, 0, reqTimeSec="1893456000")]))
    whole = gzip.compress(text([ds2(rnd, i) for i in range(3000)]))
    (tmp / "cut.gz").write_bytes(whole[: len(whole) * 2 // 3])
    files.append(SourceFile(tmp / "cut.gz", "logs/cut.gz", arrived))
    add("binary.bin", bytes(range(256)) * 40, gz=False)  # not gzip, not text: rejected lines
    add("bad-gzip.gz", b"\x1f\x8b\x08\x00" + bytes(range(200)) * 5, gz=False)  # gzip magic, then garbage
    add("local.gz", text([ds2(rnd, i) for i in range(50)]), when=None)  # a local file: no arrival
    return files


def line_path(files, rules):
    with Aggregator(OPTIONS) as agg:
        result = agg.process(files, rules, batch_id="b1")
        out = outputs(agg)
        out["requests"] = rows(agg.con.execute("SELECT * EXCLUDE (sum_part) FROM requests"))
        return result, out


def rows(cur) -> list[tuple]:
    """Rows as sortable tuples (None sorts first)."""
    return sorted((tuple((v is not None, v) for v in r) for r in cur.fetchall()), key=repr)


def archived(tmp: Path, batches: list[ArchiveBatch]) -> list[tuple]:
    with Archiver(OPTIONS) as arch:
        result = arch.write(batches, tmp / "requests", "run1")
        assert all(f.name.startswith("part-run1-") for f in result.files)
        files = [str(f) for f in result.files]
        return rows(duckdb.execute(
            "SELECT * FROM read_parquet($f, hive_partitioning = true, hive_types_autocast = false)", {"f": files}
        ))  # fmt: skip


def outputs(agg) -> dict:
    return {
        "minute_metrics": agg.minute_metrics(),
        "latency": agg.latency_distribution(),
        "unmatched": agg.con.execute("SELECT * FROM unmatched_paths ORDER BY ALL").fetchall(),
        "samples": sorted(map(json.dumps, agg.reject_sample(1000))),
        "by_object": agg.rejects_by_object(100),
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    files, rules = corpus(tmp), sample_rule_set()
    old_result, old = line_path(files, rules)
    with MetricsAggregator(OPTIONS) as agg:
        new_result = agg.process(files, rules, batch_id="b1")
        new, stats = outputs(agg), agg.stats
    new["requests"] = archived(tmp, [ArchiveBatch("b1", rules, files)])
    return old_result, old, new_result, new, stats


def test_the_corpus_exercises_both_paths(both):
    old_result, _, _, _, stats = both
    # scanned: clean x3, plain, ds1, local; the line path: structured, bad lines, too old, too new,
    # the truncated gzip (its scan fails on DuckDB 2; 1.4 finds it by inflating), the binary object
    # and the corrupt gzip.
    assert stats["scanned"] == 6
    assert stats["line_path"] == 7
    assert old_result.lines_rejected >= len(BAD_LINES) + 3
    # the truncated gzip (salvaged) and the one with a gzip header and garbage after it
    assert sorted(f["key"] for f in old_result.files_rejected) == ["logs/bad-gzip.gz", "logs/cut.gz"]


def test_minute_metrics_and_cloudwatch_datums_are_equal(both):
    _, old, _, new, _ = both
    assert new["minute_metrics"] == old["minute_metrics"]
    assert new["latency"] == old["latency"]
    assert build_datums(new["minute_metrics"], new["latency"]) == build_datums(
        old["minute_metrics"], old["latency"]
    )
    assert new["unmatched"] == old["unmatched"]


def test_reject_counts_samples_and_rejected_files_are_equal(both):
    old_result, old, new_result, new, _ = both
    assert new_result.reject_reasons == old_result.reject_reasons
    assert new["samples"] == old["samples"]
    assert new["by_object"] == old["by_object"]
    assert sorted(map(json.dumps, new_result.files_rejected)) == sorted(
        map(json.dumps, old_result.files_rejected)
    )
    assert new_result.as_report() | {"files_rejected": None} == old_result.as_report() | {
        "files_rejected": None
    }


def test_the_archive_writes_the_same_requests_rows(both):
    _, old, _, new, _ = both
    assert len(old["requests"]) > 3000
    assert new["requests"] == old["requests"]


def test_each_batch_is_archived_with_its_own_rules_in_one_file_set_per_event_hour(tmp_path):
    rnd = random.Random(3)
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    for path in (a, b):
        path.write_bytes(
            gzip.compress(("\n".join(ds2(rnd, i, reqPath="/json/x") for i in range(50)) + "\n").encode())
        )
    mine = RuleSet((Rule(0, "Mine", r"^/json/"),))
    batches = [ArchiveBatch("b-old", sample_rule_set(), [SourceFile(a, "k/a.gz")]),
               ArchiveBatch("b-new", mine, [SourceFile(b, "k/b.gz")])]  # fmt: skip
    with Archiver() as arch:
        result = arch.write(batches, tmp_path / "out", "hour-10")
    got = duckdb.execute(
        "SELECT batch_id, url_pattern, rules_version, count(*) FROM read_parquet($f) GROUP BY ALL ORDER BY 1",
        {"f": [str(f) for f in result.files]},
    ).fetchall()
    assert got == [("b-new", "Mine", mine.version, 50), ("b-old", "Api", sample_rule_set().version, 50)]
    assert [f.relative_to(tmp_path / "out").parent.as_posix() for f in result.files] == [
        "dt=2026-11-30/hour=10"
    ]
    assert (result.rows, result.batches, result.line_path_objects) == (100, 2, 0)


def test_a_batch_of_clean_files_is_scanned_once_and_gives_the_line_paths_results(tmp_path):
    """The common case: no file needs the line path, so the scan never keeps files apart."""
    files = [f for f in corpus(tmp_path) if f.path.name.startswith(("clean-", "plain", "ds1", "local"))]
    rules = sample_rule_set()
    old_result, old = line_path(files, rules)
    with MetricsAggregator(OPTIONS) as agg:
        new_result = agg.process(files, rules, batch_id="b1")
        new, stats = outputs(agg), agg.stats
        scans = agg.con.execute("SELECT count(DISTINCT local_file) FROM scan_partials").fetchone()[0]
    assert stats == {"scanned": 6, "line_path": 0, "scan_failed": 0}
    assert scans == 0  # one pass with the files not kept apart (local_file is NULL)
    assert {k: new[k] for k in ("minute_metrics", "latency", "unmatched")} == {
        k: old[k] for k in ("minute_metrics", "latency", "unmatched")
    }
    assert new_result.as_report() == old_result.as_report()


EDGE_LINES = [
    *BAD_LINES,
    '{"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc"},',  # content after the object
    '{"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc"}{"reqHost": "b.abc"}',
    '"just a string"',
    '{"reqTimeSec": "NaN", "statusCode": "200", "reqHost": "a.abc"}',
    '{"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": "a.abc", "bytes": "inf"}',
    '{"reqTimeSec": "1e300", "statusCode": "200", "reqHost": "a.abc"}',
    '{"reqTimeSec": 1764496800, "statusCode": 200, "reqHost": "A.ABC", "bytes": 12, "reqPath": null}',
]


@pytest.mark.parametrize("line", EDGE_LINES, ids=range(len(EDGE_LINES)))
def test_one_odd_line_in_a_clean_file_gives_the_line_paths_results(tmp_path, line):
    """Each odd line alone in a file of valid requests, next to a clean file: the scan must
    either count it exactly as the line path does or send its file there."""
    rnd = random.Random(11)
    files = []
    for name, lines in (("clean.gz", [ds2(rnd, i) for i in range(50)]),
                        ("odd.gz", [ds2(rnd, i) for i in range(20)] + [line] + [ds2(rnd, i) for i in range(5)])):  # fmt: skip
        (tmp_path / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        files.append(SourceFile(tmp_path / name, f"k/{name}"))  # no arrival: every event time is in range
    rules = sample_rule_set()
    old_result, old = line_path(files, rules)
    with MetricsAggregator(OPTIONS) as agg:
        new_result = agg.process(files, rules, batch_id="b1")
        new = outputs(agg)
    new["requests"] = archived(tmp_path, [ArchiveBatch("b1", rules, files)])
    assert old_result.lines_valid >= 75  # the valid requests around the odd line count
    assert new_result.as_report() == old_result.as_report()
    for k in ("minute_metrics", "latency", "unmatched", "samples", "requests"):
        assert new[k] == old[k], k


@pytest.mark.parametrize(
    ("offset", "rejected"),
    [
        (timedelta(days=-30, seconds=5), 0),
        (timedelta(days=-30, seconds=-5), 1),
        (timedelta(days=1, seconds=-5), 0),
        (timedelta(days=1, seconds=5), 1),
    ],
    ids=["just-inside-max-age", "just-past-max-age", "just-inside-max-ahead", "just-past-max-ahead"],
)
def test_an_event_time_seconds_from_an_arrival_bound_is_judged_exactly(tmp_path, offset, rejected):
    """The scan knows event times by their minute only: a file with a line in the minute of
    a bound takes the line path, which checks each line to the microsecond."""
    rnd = random.Random(5)
    arrived = T0 + timedelta(minutes=6, seconds=30)  # the bounds fall mid-minute
    edge = ds2(rnd, 0, reqTimeSec=f"{(arrived + offset).timestamp():.3f}")
    files = []
    for name, lines in (("clean.gz", [ds2(rnd, i) for i in range(40)]),
                        ("edge.gz", [ds2(rnd, i) for i in range(10)] + [edge])):  # fmt: skip
        (tmp_path / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        files.append(SourceFile(tmp_path / name, f"k/{name}", arrived))
    rules = sample_rule_set()
    old_result, old = line_path(files, rules)
    with MetricsAggregator(OPTIONS) as agg:
        new_result = agg.process(files, rules, batch_id="b1")
        new, stats = outputs(agg), agg.stats
    assert old_result.lines_valid + old_result.lines_rejected == 51
    assert old_result.lines_rejected == rejected
    assert stats == {"scanned": 1, "line_path": 1, "scan_failed": 0}
    assert new_result.as_report() == old_result.as_report()
    for k in ("minute_metrics", "latency", "unmatched", "samples"):
        assert new[k] == old[k], k

"""Parsing and aggregation on small fixtures, including Akamai's and the original's sample lines."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from edgesense.aggregate import Aggregator, ReadOptions, SourceFile
from edgesense.rules import RuleSet, sample_rule_set
from helpers import DOCS_SAMPLE_FIELDS, ROOT

FIXTURES = ROOT / "tests" / "fixtures"
DS2_SAMPLE = (FIXTURES / "ds2_akamai_docs_sample.json").read_text().strip()
DS1_SAMPLE = (FIXTURES / "ds1_raw_original_sample.json").read_text().strip()
STRUCTURED_PREFIX = (FIXTURES / "ds2_structured_docs_prefix.txt").read_text().strip().rstrip(" …")


def write(path: Path, lines: list[str] | bytes, *, compress: bool = True) -> Path:
    body = lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(body) if compress else body)
    return path


def run(tmp_path: Path, files: dict[str, list[str] | bytes], rules: RuleSet | None = None, **kw):
    sources = [
        SourceFile(write(tmp_path / f"f{i}.gz", body), key) for i, (key, body) in enumerate(files.items())
    ]
    agg = Aggregator(ReadOptions(**kw))
    result = agg.process(sources, rules or sample_rule_set(), batch_id="b1")
    cur = agg.con.execute("SELECT * FROM requests ORDER BY event_time, path")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return agg, result, rows


def ds2(**fields: str) -> str:
    base = {
        "reqTimeSec": "1700000000.250",
        "statusCode": "200",
        "reqHost": "www.example.abc",
        "reqPath": "/x",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def test_akamais_documented_ds2_json_line_parses_into_every_kept_field(tmp_path):
    agg, result, rows = run(tmp_path, {"k/a.gz": [DS2_SAMPLE]})
    assert result.lines_valid == 1
    assert result.lines_rejected == 0
    r = rows[0]
    assert r["event_time"] == datetime(2019, 11, 15, 17, 46, 40)
    assert (r["host"], r["method"], r["path"], r["query"]) == ("test.hostname.net", "GET", "/path1/path2/file.ext",
                                                               "param=value")  # fmt: skip
    assert (r["status"], r["bytes"], r["turnaround_ms"], r["transfer_ms"]) == (206, 4995, 11, 125)
    assert r["client_ip"] == "128.147.28.68"
    assert r["user_agent"] == "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3)"
    assert r["referer"] == "https://test.referrer.net/en-US/docs/Web/test"
    assert (r["cache_status"], r["country"], r["error_code"]) == (1, "IN", "ERR_ACCESS_DENIED|fwd_acl")
    assert (r["stream_id"], r["cp_code"], r["request_id"], r["edge_ip"]) == ("12345", "123456", "1239f220",
                                                                            "23.50.51.173")  # fmt: skip
    assert (r["source_key"], r["source_format"], r["batch_id"]) == ("k/a.gz", "ds2_json", "b1")
    agg.close()


def test_the_originals_ds1_raw_line_parses_with_start_in_epoch_milliseconds(tmp_path):
    agg, result, rows = run(tmp_path, {"k/ds1.gz": [DS1_SAMPLE]})
    assert result.formats == {"ds1_raw": 1}
    r = rows[0]
    assert r["event_time"].replace(microsecond=0) == datetime(2020, 3, 2, 15, 53, 55)
    assert (r["host"], r["path"], r["status"], r["bytes"], r["transfer_ms"]) == ("www.domain.com", "/my/long/url",
                                                                                200, 768, 6)  # fmt: skip
    assert r["referer"] == "https://www.domain.com/my/long/url2"
    assert r["user_agent"].startswith("Mozilla/5.0 (iPad; CPU OS 5_1_1")
    assert r["cache_status"] == 1
    agg.close()


def test_a_ds2_structured_line_in_the_documented_field_order_matches_its_json_twin(tmp_path):
    doc = json.loads(DS2_SAMPLE)
    line = " ".join(str(doc.get(f, "-")) for f in DOCS_SAMPLE_FIELDS)
    assert line.startswith(STRUCTURED_PREFIX[:200])
    agg, result, rows = run(tmp_path, {"k/s.gz": [line]}, structured_fields=DOCS_SAMPLE_FIELDS)
    assert result.formats == {"ds2_structured": 1}
    _, _, json_rows = run(tmp_path / "..", {"k/j.gz": [DS2_SAMPLE]})
    keep = (
        "event_time",
        "host",
        "path",
        "status",
        "bytes",
        "turnaround_ms",
        "user_agent",
        "referer",
        "country",
    )
    assert {k: rows[0][k] for k in keep} == {k: json_rows[0][k] for k in keep}
    agg.close()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"reqTimeSec": "1700000000"}, datetime(2023, 11, 14, 22, 13, 20), id="whole-seconds"),
        pytest.param(
            {"reqTimeSec": "1645568187.280"}, datetime(2022, 2, 22, 22, 16, 27, 280000), id="fraction"
        ),
    ],
)
def test_req_time_sec_is_read_with_or_without_a_fraction(tmp_path, fields, expected):
    _, _, rows = run(tmp_path, {"k": [ds2(**fields)]})
    assert rows[0]["event_time"] == expected


def test_a_path_without_its_leading_slash_and_placeholder_values_are_normalised(tmp_path):
    line = ds2(reqPath="Tiger.pdf", referer="-", bytes="^", turnAroundTimeMSec="-", country="^")
    _, result, rows = run(tmp_path, {"k": [line]})
    assert result.lines_valid == 1
    r = rows[0]
    assert r["path"] == "/Tiger.pdf"
    assert (r["referer"], r["bytes"], r["turnaround_ms"], r["country"]) == (None, None, None, None)


def test_numbers_in_place_of_strings_are_accepted(tmp_path):
    line = json.dumps(
        {"version": 1, "reqTimeSec": 1700000000, "statusCode": 404, "reqHost": "h", "bytes": 10}
    )
    _, result, rows = run(tmp_path, {"k": [line]})
    assert result.lines_valid == 1
    assert (rows[0]["status"], rows[0]["bytes"]) == (404, 10)


def test_tabs_quotes_newlines_and_non_ascii_text_survive_into_parquet(tmp_path):
    nasty = 'tab\there "quoted" new\nline Grüße 日本'
    line = json.dumps({"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": "h", "reqPath": "/p",
                       "UA": nasty, "referer": nasty, "errorCode": nasty})  # fmt: skip
    agg, _, rows = run(tmp_path, {"k": [line]})
    assert rows[0]["error_code"] == nasty
    written = agg.write_parquet(tmp_path / "out", "b1")
    back = duckdb.connect().execute(
        "SELECT error_code FROM read_parquet($p)", {"p": str(written["requests"][0])}
    )
    assert back.fetchall() == [(nasty,)]
    agg.close()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("not json at all", "not valid JSON (malformed or truncated)", id="not-json"),
        pytest.param(ds2()[:-10], "not valid JSON (malformed or truncated)", id="truncated"),
        pytest.param("[1, 2]", "JSON value is not an object", id="array"),
        pytest.param(ds2(reqTimeSec=None), "missing time", id="no-time"),
        pytest.param(ds2(reqTimeSec="yesterday"), "non-numeric or out-of-range time", id="bad-time"),
        pytest.param(ds2(statusCode=None), "missing status", id="no-status"),
        pytest.param(ds2(statusCode="OK"), "non-numeric status", id="bad-status"),
        pytest.param(ds2(reqHost="-"), "missing host", id="no-host"),
    ],
)
def test_each_kind_of_bad_line_is_rejected_with_its_reason_and_the_rest_kept(tmp_path, line, reason):
    agg, result, _ = run(tmp_path, {"k/bad.gz": [ds2(), line, ds2(reqPath="/y")]})
    assert result.lines_valid == 2
    assert result.reject_reasons == {reason: 1}
    assert agg.reject_sample(10) == [{"object_key": "k/bad.gz", "reject_reason": reason, "line": line}]
    agg.close()


def test_a_line_that_is_not_utf8_is_rejected_and_blank_lines_are_ignored(tmp_path):
    body = (ds2() + "\n\n   \n").encode() + b"\xff\xfe\x00 broken\n" + (ds2(reqPath="/z") + "\r\n").encode()
    _, result, rows = run(tmp_path, {"k": body})
    assert result.lines_valid == 2
    assert result.reject_reasons == {"not UTF-8 text": 1}
    assert [r["path"] for r in rows] == ["/x", "/z"]


def test_the_complete_lines_before_the_damage_in_a_truncated_gzip_are_kept(tmp_path):
    """DS2 files are small: a truncated upload still holds many good lines; none may be lost."""
    lines = [ds2(reqPath=f"/p{i}", reqHost=f"h{i % 7}.example") for i in range(5000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "cut.gz").write_bytes(whole[: int(len(whole) * 0.6)])
    with Aggregator() as agg:
        result = agg.process([SourceFile(tmp_path / "cut.gz", "k/cut.gz")], sample_rule_set())
        paths = [r[0] for r in agg.con.execute("SELECT path FROM requests").fetchall()]
    assert 1000 < result.lines_valid < 5000
    assert sorted(paths, key=lambda p: int(p[2:])) == [f"/p{i}" for i in range(result.lines_valid)]
    assert result.reject_reasons == {"incomplete line at the end of a corrupt gzip stream": 1}
    assert result.files_rejected[0]["key"] == "k/cut.gz"
    assert f"kept the {result.lines_valid} complete line(s)" in result.files_rejected[0]["reason"]


def test_a_gzip_cut_exactly_at_a_line_boundary_is_still_flagged_as_truncated(tmp_path):
    """Some DuckDB versions (1.4) read such a stream without an error; the trailer check catches it."""
    lines = [ds2(reqPath=f"/p{i}") for i in range(3000)]
    c = zlib.compressobj(wbits=31)
    head = c.compress(("\n".join(lines[:1500]) + "\n").encode()) + c.flush(zlib.Z_SYNC_FLUSH)
    # A writer that flushed after line 1500 and died: the stream stops exactly at a line end.
    (tmp_path / "cut.gz").write_bytes(head)
    with Aggregator() as agg:
        result = agg.process([SourceFile(tmp_path / "cut.gz", "k/cut.gz")], sample_rule_set())
    assert result.lines_valid == 1500
    assert result.lines_rejected == 0
    assert [f["key"] for f in result.files_rejected] == ["k/cut.gz"]
    assert "truncated" in result.files_rejected[0]["reason"]


def test_well_formed_gzip_objects_are_not_inflated_a_second_time_to_check_them(tmp_path, monkeypatch):
    """The trailer's length must match what the scan read, blank lines, CRLF and a missing last newline included."""
    import edgesense.loading

    def fail(path):
        raise AssertionError(f"{path} was checked although its length matched")

    monkeypatch.setattr(edgesense.loading, "gzip_problem", fail)
    lf = (ds2() + "\r\n\n  \n" + ds2(reqPath="/y")).encode()
    crlf = "".join(ds2(reqPath=f"/c{i}") + "\r\n" for i in range(300)).encode()
    crlf_open_end = crlf + ds2(reqPath="/last").encode()
    files = {"k/a.gz": lf, "k/b.gz": [ds2(reqPath=f"/{i}") for i in range(500)], "k/c.gz": crlf,
             "k/d.gz": crlf_open_end}  # fmt: skip
    _, result, _ = run(tmp_path, files)
    assert result.lines_valid == 2 + 500 + 300 + 301
    assert result.files_rejected == []


def test_concatenated_gzip_members_are_read_whole_and_not_flagged(tmp_path):
    """gzip allows several members in one file; only the last one's length is in the trailer."""
    first = gzip.compress((ds2(reqPath="/a") + "\n").encode())
    second = gzip.compress((ds2(reqPath="/b") + "\n").encode())
    (tmp_path / "two.gz").write_bytes(first + second)
    with Aggregator() as agg:
        result = agg.process([SourceFile(tmp_path / "two.gz", "k/two.gz")], sample_rule_set())
    assert result.lines_valid == 2
    assert result.files_rejected == []


def test_a_damaged_gzip_next_to_one_that_fails_the_scan_is_still_caught(tmp_path):
    """After a failed scan each file is probed; passing the probe does not prove a stream whole."""

    def flushed(n: int, prefix: str) -> bytes:
        c = zlib.compressobj(wbits=31)
        body = "".join(ds2(reqPath=f"/{prefix}{i}") + "\n" for i in range(n)).encode()
        return c.compress(body) + c.flush(zlib.Z_SYNC_FLUSH)

    # A deflate block of the reserved type: every DuckDB version fails the scan on it.
    (tmp_path / "bad.gz").write_bytes(flushed(4000, "b") + b"\x07" + bytes(64))
    # Cut exactly after a line: DuckDB 1.4 reads it silently, even in the per-file probe.
    (tmp_path / "early.gz").write_bytes(flushed(1000, "e"))
    with Aggregator() as agg:
        result = agg.process(
            [SourceFile(tmp_path / n, f"k/{n}") for n in ("bad.gz", "early.gz")], sample_rule_set()
        )
    assert result.lines_valid == 5000
    assert sorted(f["key"] for f in result.files_rejected) == ["k/bad.gz", "k/early.gz"]


def test_a_truncated_second_member_keeps_the_complete_lines_of_both_members(tmp_path):
    first = gzip.compress(("\n".join(ds2(reqPath=f"/a{i}") for i in range(100)) + "\n").encode())
    second = gzip.compress(
        ("\n".join(ds2(reqPath=f"/b{i}/{os.urandom(6).hex()}") for i in range(3000)) + "\n").encode()
    )
    (tmp_path / "two.gz").write_bytes(first + second[: len(second) // 2])
    with Aggregator() as agg:
        result = agg.process([SourceFile(tmp_path / "two.gz", "k/two.gz")], sample_rule_set())
    assert 100 + 1000 < result.lines_valid < 100 + 3000
    assert "truncated" in result.files_rejected[0]["reason"]


def test_zero_padding_after_a_gzip_stream_is_not_damage(tmp_path):
    """Some uploaders pad to a block size; gzip tools ignore trailing zeros, so do we."""
    from edgesense.formats import gzip_problem

    (tmp_path / "pad.gz").write_bytes(gzip.compress((ds2() + "\n").encode()) + b"\x00" * 512)
    assert gzip_problem(tmp_path / "pad.gz") is None


def test_a_corrupt_gzip_object_is_rejected_while_the_others_are_processed(tmp_path):
    good = gzip.compress((ds2() + "\n").encode())
    big = gzip.compress(os.urandom(600_000))  # larger than the format sniffer reads
    (tmp_path / "good.gz").write_bytes(good)
    (tmp_path / "bad.gz").write_bytes(big[: len(big) // 2])
    (tmp_path / "junk.gz").write_bytes(b"\x1f\x8b" + b"junk" * 10)
    with Aggregator() as agg:
        result = agg.process(
            [SourceFile(tmp_path / n, f"k/{n}") for n in ("good.gz", "bad.gz", "junk.gz")], sample_rule_set()
        )
        assert result.lines_valid == 1
        assert {f["key"] for f in result.files_rejected} == {"k/bad.gz", "k/junk.gz"}
        assert all(f["reason"] for f in result.files_rejected)
        assert str(tmp_path) not in json.dumps(result.files_rejected)


def test_uncompressed_objects_are_read_too(tmp_path):
    path = write(tmp_path / "plain.log", [ds2()], compress=False)
    with Aggregator() as agg:
        result = agg.process([SourceFile(path, "k/plain.log")], sample_rule_set())
    assert result.lines_valid == 1


def test_minute_metrics_group_by_event_minute_host_pattern_and_status(tmp_path):
    lines = [
        ds2(reqTimeSec="1699999981", reqPath="/a_product_1", bytes="10", statusCode="200", cacheStatus="1"),
        ds2(reqTimeSec="1700000039", reqPath="/b_product_2", bytes="5", statusCode="200", cacheStatus="0"),
        ds2(reqTimeSec="1700000040", reqPath="/json/x", bytes="7", statusCode="404"),
        ds2(reqTimeSec="1700000041", reqPath="/other", statusCode="200", reqHost="Other.Example"),
    ]
    agg, _, _ = run(tmp_path, {"k": lines})
    got = [(r["minute"].minute, r["host"], r["url_pattern"], r["status"], r["requests"], r["bytes"], r["cache_hits"])
           for r in agg.minute_metrics()]  # fmt: skip
    assert got == [
        (13, "www.example.abc", "Product", 200, 2, 15, 1),
        (14, "other.example", "Unmatched", 200, 1, 0, 0),
        (14, "www.example.abc", "Api", 404, 1, 7, 0),
    ]
    agg.close()


def test_the_cli_output_rows_have_the_documented_columns(tmp_path):
    agg, _, _ = run(tmp_path, {"k": [ds2()]})
    assert agg.output_rows() == [
        {"minute": "2023-11-14T22:13:00Z", "host": "www.example.abc", "url_pattern": "Unmatched", "status": 200,
         "requests": 1, "bytes": 0},
    ]  # fmt: skip
    agg.close()


def test_a_batch_whose_only_object_is_unreadable_still_completes(tmp_path):
    (tmp_path / "junk.gz").write_bytes(b"\x1f\x8b" + b"junk" * 10)
    with Aggregator() as agg:
        result = agg.process([SourceFile(tmp_path / "junk.gz", "k/junk.gz")], sample_rule_set())
        assert agg.minute_metrics() == []
    assert result.lines_total == 0
    assert [f["key"] for f in result.files_rejected] == ["k/junk.gz"]
    with Aggregator() as agg:
        assert agg.process([], sample_rule_set()).lines_total == 0


@pytest.mark.parametrize(
    "host", ["caf\u00e9.example", "a\tb", "   ", "x" * 300], ids=["non-ascii", "control", "blank", "too-long"]
)
def test_a_host_that_cannot_be_a_cloudwatch_dimension_is_rejected(tmp_path, host):
    _, result, _ = run(tmp_path, {"k": [ds2(reqHost=host), ds2()]})
    assert result.lines_valid == 1
    assert result.reject_reasons == {"host is not a valid host name": 1}


def test_parquet_column_types_match_the_glue_tables(tmp_path):
    """Athena reads Parquet by the Glue types: a DOUBLE where Glue says bigint fails queries."""
    from edgesense.tables import TABLES

    hive = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "TIMESTAMP": "timestamp"}
    agg, _, _ = run(tmp_path, {"k": [DS2_SAMPLE, ds2()]})
    written = agg.write_parquet(tmp_path / "out", "b1")
    for table, files in written.items():
        cur = duckdb.connect().execute(
            "DESCRIBE SELECT * FROM read_parquet($p, hive_partitioning = false)", {"p": str(files[0])}
        )
        got = [(r[0], hive.get(r[1], r[1])) for r in cur.fetchall()]
        assert got == [(n, t) for n, t, _ in TABLES[table]], table
    agg.close()

"""Inputs that used to stop a batch or the pipeline: absurd values, control bytes, bombs, params."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edgesense.aggregate import Aggregator, SourceFile
from edgesense.formats import InflateGuard, InflateLimitExceeded
from edgesense.interval import Interval, ParamError, resolve
from edgesense.rules import sample_rule_set

NOW = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def line(**fields) -> str:
    base = {"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": "www.example.abc", "reqPath": "/x"}
    return json.dumps({**base, **fields})


def aggregate(tmp_path: Path, body: bytes, arrived: datetime | None = None):
    path = tmp_path / "in.gz"
    path.write_bytes(gzip.compress(body))
    agg = Aggregator()
    result = agg.process([SourceFile(path, "k/in.gz", arrived)], sample_rule_set(), batch_id="b")
    return agg, result


# --- values ---------------------------------------------------------------------------------


def test_a_byte_count_that_would_overflow_a_sum_is_a_reject_and_the_rest_of_the_minute_is_counted(tmp_path):
    lines = [line(bytes="100")] * 500 + [line(bytes="9223372036854775807")]
    agg, result = aggregate(tmp_path, ("\n".join(lines) + "\n").encode())

    assert (result.lines_valid, result.lines_rejected) == (500, 1)
    assert result.reject_reasons == {"bytes out of range (0 to 1 TiB)": 1}
    [row] = agg.minute_metrics()
    assert (row["requests"], row["bytes"]) == (500, 50_000)
    agg.close()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"bytes": "-1"}, "bytes out of range (0 to 1 TiB)"),
        ({"bytes": str(2**40)}, "bytes out of range (0 to 1 TiB)"),
        ({"bytes": "1e300"}, "bytes out of range (0 to 1 TiB)"),
        ({"turnAroundTimeMSec": "99999999999"}, "turnAroundTimeMSec out of range (0 to 1 day)"),
        ({"turnAroundTimeMSec": "-5"}, "turnAroundTimeMSec out of range (0 to 1 day)"),
        ({"transferTimeMSec": "NaN"}, "transferTimeMSec out of range (0 to 1 day)"),
        ({"statusCode": "1200"}, "status out of range (0 to 999)"),
        ({"statusCode": "abc"}, "non-numeric status"),
    ],
)
def test_values_outside_sane_ranges_are_rejected_with_their_reason(tmp_path, fields, reason):
    agg, result = aggregate(tmp_path, (line() + "\n" + line(**fields) + "\n").encode())

    assert (result.lines_valid, result.reject_reasons) == (1, {reason: 1})
    agg.close()


def test_the_largest_sane_values_are_still_valid(tmp_path):
    big = line(bytes=str(2**40 - 1), turnAroundTimeMSec="86400000", transferTimeMSec="0", statusCode="999")
    agg, result = aggregate(tmp_path, (big + "\n").encode())

    assert (result.lines_valid, result.lines_rejected) == (1, 0)
    agg.close()


def test_event_times_far_from_the_objects_arrival_are_rejected_and_counted(tmp_path):
    arrived = datetime.fromtimestamp(1700000000, UTC) + timedelta(minutes=2)
    old = 1700000000 - 31 * 86400
    lines = [line(), line(reqTimeSec="31536000"), line(reqTimeSec=str(old)), line(reqTimeSec="32503000000"),
             line(reqTimeSec=str(1700000000 + 2 * 86400))]  # fmt: skip
    agg, result = aggregate(tmp_path, ("\n".join(lines) + "\n").encode(), arrived)

    assert result.lines_valid == 1
    assert result.reject_reasons == {
        "event time too long before the object landed (EDGESENSE_MAX_EVENT_AGE_DAYS)": 2,
        "event time too far after the object landed (EDGESENSE_MAX_EVENT_AHEAD_HOURS)": 2,
    }
    agg.close()


def test_without_an_arrival_time_local_files_accept_any_event_time(tmp_path):
    agg, result = aggregate(tmp_path, (line(reqTimeSec="31536000") + "\n").encode(), None)

    assert result.lines_valid == 1
    agg.close()


def test_a_line_with_a_raw_0x1f_byte_is_rejected_whole_and_never_half_read(tmp_path):
    cut = line(reqPath="/a\x1fb").replace("\\u001f", "\x1f")
    twice = line(reqPath="/c\x1fd\x1fe").replace("\\u001f", "\x1f")
    valid_head = line() + "\x1f" + '{"trailing": "part"}'  # its first part alone would be a valid line
    assert "\x1f" in cut
    assert twice.count("\x1f") == 2
    agg, result = aggregate(tmp_path, f"{line()}\n{cut}\n{twice}\n{valid_head}\n{line()}\n".encode())

    assert (result.lines_valid, result.lines_rejected) == (2, 3)
    assert result.reject_reasons == {"line contains a raw 0x1F control byte": 3}
    sampled = {r["line"] for r in agg.reject_sample(10)}
    assert cut in sampled  # the whole line, both parts
    agg.close()


# --- gzip bombs -----------------------------------------------------------------------------


def gzip_of(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def test_the_inflate_guard_stops_a_stream_that_inflates_past_its_limit():
    bomb = gzip_of(b"\n" * (8 * 2**20))
    guard = InflateGuard(limit=2**20)

    def feed_all() -> None:
        for i in range(0, len(bomb), 4096):
            guard.feed(bomb[i : i + 4096])

    with pytest.raises(InflateLimitExceeded, match=r"more than 1\.0 MiB"):
        feed_all()
    assert guard.inflated <= 2 * 2**20  # it stopped at the limit, not at the end


def test_the_inflate_guard_counts_every_member_plain_bytes_and_stops_counting_at_corruption():
    body = b'{"a":1}\n' * 1000
    two_members = gzip_of(body) + gzip_of(body)
    guard = InflateGuard(limit=10**9)
    for i in range(0, len(two_members), 1000):
        guard.feed(two_members[i : i + 1000])
    assert guard.close() == 2 * len(body)

    plain = InflateGuard(limit=10**9)
    plain.feed(b"x")
    plain.feed(b"yz")
    assert plain.close() == 3

    broken = InflateGuard(limit=10**9)
    broken.feed(b"\x1f\x8b" + b"\xff" * 100)  # not deflate data: left to the scan to name
    assert broken.close() == 0


# --- params ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"window_start": "2026-11-24T08:26:10Z", "window_end": "2026-11-24T08:26:15.5Z"}, "window_end"),
        ({"window_start": "2026-11-24T08:25:13Z", "window_end": "2026-11-24T08:25:13.500Z"}, "window_end"),
        ({"window_start": "0001-01-01T00:00:00Z", "window_end": "0001-01-01T00:01:00Z"}, "window_start"),
        ({"window_start": "9999-12-31T23:00:00Z", "window_end": "9999-12-31T23:59:59Z"}, "window_end"),
        ({"window_start": "2026-11-24T08:27:00Z", "window_end": "2026-11-24T08:26:00Z"}, "window_end"),
        ({"window_start": "2026-11-22T08:00:00Z", "window_end": "2026-11-24T08:00:00Z"}, "window_start"),
        ({"window_start": "2026-11-24T08:00:00Z", "window_end": None}, "window_end"),
        ({"window_start": "yesterday", "window_end": "2026-11-24T08:00:00Z"}, "window_start"),
    ],
)
def test_a_window_that_can_never_work_is_refused_naming_the_param(params, names):
    with pytest.raises(ParamError, match=names):
        resolve(params, None, None, now=NOW)


def test_a_whole_second_window_round_trips_exactly_and_the_data_interval_is_used_without_params():
    got = resolve(
        {"window_start": "2026-11-24T08:26:10Z", "window_end": "2026-11-24T08:26:16Z"}, None, None, now=NOW
    )
    assert (got.start, got.end) == (datetime(2026, 11, 24, 8, 26, 10, tzinfo=UTC),
                                    datetime(2026, 11, 24, 8, 26, 16, tzinfo=UTC))  # fmt: skip
    minute = datetime(2026, 11, 24, 8, 27, tzinfo=UTC)
    assert resolve({}, minute, minute + timedelta(minutes=1), now=NOW) == Interval(
        minute, minute + timedelta(minutes=1)
    )


def test_a_manual_triggers_data_interval_is_rounded_up_to_whole_seconds_which_owns_the_same_objects():
    """A trigger without params: Airflow's data interval ends at the click, microseconds and all."""
    clicked = datetime(2026, 11, 24, 8, 26, 15, 250_000, tzinfo=UTC)
    got = resolve(
        {"window_start": None, "window_end": None}, clicked - timedelta(minutes=1), clicked, now=NOW
    )

    assert (got.start, got.end) == (datetime(2026, 11, 24, 8, 25, 16, tzinfo=UTC),
                                    datetime(2026, 11, 24, 8, 26, 16, tzinfo=UTC))  # fmt: skip
    landed = datetime(2026, 11, 24, 8, 26, 15, tzinfo=UTC)  # in [.., 15.25), so also in [.., 16)
    assert got.contains(landed)
    with pytest.raises(ParamError, match="holds no whole second"):
        resolve({}, clicked, clicked + timedelta(milliseconds=500), now=NOW)


def test_an_interval_refuses_fractional_or_empty_bounds():
    t = datetime(2026, 11, 24, 8, 25, 13, tzinfo=UTC)
    with pytest.raises(ValueError, match="whole seconds"):
        Interval(t, t + timedelta(milliseconds=500))
    with pytest.raises(ValueError, match="empty interval"):
        Interval(t, t)

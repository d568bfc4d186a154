"""CloudWatch datums and PutMetricData packing (plugins/edgesense/metrics.py).

moto enforces none of PutMetricData's limits, so these tests are what keeps a real
publish from being rejected: at most 1,000 datums and under 1 MB per call, at most 150
values and 30 dimensions per datum, finite values, timestamps inside CloudWatch's window.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edgesense import metrics
from edgesense.metrics import (
    FAMILIES,
    MAX_BYTES_PER_CALL,
    MAX_DATUMS_PER_CALL,
    MAX_VALUES_PER_DATUM,
    PAYLOAD_BUDGET,
    Window,
    build_datums,
    check_datum,
    dimension_value_problem,
    encoded_size,
    pack,
    pipeline_datums,
)

NS = "edgesense/test"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FAMILY_NAMES = {name for name, *_ in FAMILIES}


def minute_row(
    status: int,
    *,
    host: str = "www.example.com",
    pattern: str | None = "home",
    requests: int = 1,
    nbytes: int = 0,
    cache_hits: int = 0,
    minute: datetime = T0,
) -> dict[str, Any]:
    return {
        "minute": minute,
        "host": host,
        "url_pattern": pattern,
        "status": status,
        "requests": requests,
        "bytes": nbytes,
        "cache_hits": cache_hits,
    }


def latency_row(value: float, n: int, *, host: str = "www.example.com", minute: datetime = T0) -> dict:
    return {"minute": minute, "host": host, "value": value, "n": n}


def simple_datum(i: int) -> dict[str, Any]:
    return {
        "MetricName": "ResponseCountTotal",
        "Dimensions": [{"Name": "Host", "Value": f"h{i}"}],
        "Timestamp": "2026-03-02T12:00:00Z",
        "Unit": "Count",
        "StorageResolution": 60,
        "Value": float(i),
    }


def dims(d: dict[str, Any]) -> dict[str, str]:
    return {x["Name"]: x["Value"] for x in d["Dimensions"]}


def value_of(datums: list[dict], name: str, **want: str) -> float:
    """The Value of the single datum called ``name`` whose dimensions include ``want``."""
    found = [d for d in datums if d["MetricName"] == name and want.items() <= dims(d).items()]
    assert len(found) == 1, f"expected one {name} {want}, got {found}"
    return found[0]["Value"]


def names(datums: list[dict]) -> set[str]:
    return {d["MetricName"] for d in datums}


def mixed_rows() -> tuple[list[dict], list[dict]]:
    """A little of everything: several minutes, hosts, patterns, statuses and latencies."""
    rows = []
    for m in range(3):
        for host in ("a.example.com", "b.example.com"):
            for pattern in ("home", "api", None):
                for status in (200, 204, 301, 404, 418, 503):
                    rows.append(
                        minute_row(
                            status,
                            host=host,
                            pattern=pattern,
                            requests=status % 7 + m + 1,
                            nbytes=status * 10,
                            cache_hits=m,
                            minute=T0 + timedelta(minutes=m),
                        )
                    )
    lat = [
        latency_row(float(v), v % 5 + 1, host=host, minute=T0 + timedelta(minutes=m))
        for m in range(3)
        for host in ("a.example.com", "b.example.com")
        for v in range(0, 400, 2)
    ]
    return rows, lat


# --- pack -----------------------------------------------------------------------------------


def test_pack_never_puts_more_than_1000_datums_in_a_call_and_keeps_their_order():
    datums = [simple_datum(i) for i in range(2500)]

    calls = pack(NS, datums)

    assert [len(c.datums) for c in calls] == [1000, 1000, 500]
    assert all(c.namespace == NS for c in calls)
    assert [d for c in calls for d in c.datums] == datums


def test_pack_of_exactly_1000_datums_is_a_single_call():
    assert [len(c.datums) for c in pack(NS, [simple_datum(i) for i in range(MAX_DATUMS_PER_CALL)])] == [1000]


def test_pack_of_nothing_is_no_call():
    assert pack(NS, []) == []


def test_pack_keeps_every_call_under_1_mb_when_datums_are_large():
    """150 long values and counts each make ~15 KB datums: far fewer than 1,000 fit in 1 MB."""
    datums = []
    for h in range(300):
        values = [1000.123456789 + i * 1.000000001 for i in range(MAX_VALUES_PER_DATUM)]
        datums.append(
            {
                "MetricName": "TurnAroundTime",
                "Dimensions": [{"Name": "Host", "Value": f"host-{h:04d}.a-rather-long-domain.example.com"}],
                "Timestamp": "2026-03-02T12:00:00Z",
                "Unit": "Milliseconds",
                "StorageResolution": 60,
                "Values": values,
                "Counts": [123456.0 + i for i in range(MAX_VALUES_PER_DATUM)],
            }
        )
    assert encoded_size(NS, datums) > 2 * MAX_BYTES_PER_CALL  # the test needs several calls

    calls = pack(NS, datums)

    assert len(calls) > 2
    for c in calls:
        size = encoded_size(NS, c.datums)
        assert size < MAX_BYTES_PER_CALL
        assert size <= PAYLOAD_BUDGET
    assert [d for c in calls for d in c.datums] == datums


def test_pack_refuses_a_datum_cloudwatch_would_reject():
    bad = simple_datum(1) | {"Value": math.nan}
    with pytest.raises(ValueError, match="NaN"):
        pack(NS, [simple_datum(0), bad])


def test_a_call_survives_a_round_trip_through_json():
    call = pack(NS, [simple_datum(i) for i in range(3)])[0]
    assert metrics.Call.from_json(call.to_json()) == call


# --- latency distributions ------------------------------------------------------------------


def test_a_latency_distribution_over_150_values_is_split_into_datums_of_at_most_150():
    lat = [latency_row(float(v), v % 9 + 1) for v in range(400)]

    datums = [d for d in build_datums([], lat) if d["MetricName"] == "TurnAroundTime"]

    assert [len(d["Values"]) for d in datums] == [150, 150, 100]
    for d in datums:
        assert len(d["Counts"]) == len(d["Values"])
        assert d["Unit"] == "Milliseconds"
        assert dims(d) == {"Host": "www.example.com"}
        check_datum(d)
    assert sorted(v for d in datums for v in d["Values"]) == [float(v) for v in range(400)]
    assert sum(c for d in datums for c in d["Counts"]) == sum(r["n"] for r in lat)


def test_latency_distributions_are_kept_apart_per_host_and_minute():
    lat = [latency_row(5.0, 2, host="a"), latency_row(5.0, 3, host="b")]
    lat.append(latency_row(5.0, 4, host="a", minute=T0 + timedelta(minutes=1)))

    datums = [d for d in build_datums([], lat) if d["MetricName"] == "TurnAroundTime"]

    got = {(dims(d)["Host"], d["Timestamp"]): d["Counts"] for d in datums}
    assert got == {
        ("a", "2026-03-02T12:00:00Z"): [2.0],
        ("b", "2026-03-02T12:00:00Z"): [3.0],
        ("a", "2026-03-02T12:01:00Z"): [4.0],
    }


# --- check_datum ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"Dimensions": [{"Name": f"D{i}", "Value": "x"} for i in range(31)]},
            "more than 30 dimensions",
            id="31-dimensions",
        ),
        pytest.param(
            {"Values": [float(i) for i in range(151)], "Counts": [1.0] * 151},
            "more than 150 values",
            id="151-values",
        ),
        pytest.param({"Value": math.nan}, "NaN", id="nan-value"),
        pytest.param({"Value": math.inf}, "infinite", id="inf-value"),
        pytest.param({"Value": -math.inf}, "infinite", id="minus-inf-value"),
        pytest.param({"Values": [1.0, math.nan], "Counts": [1.0, 1.0]}, "NaN", id="nan-in-values"),
        pytest.param({"Value": 2.0**361}, "2\\^360", id="too-large"),
        pytest.param(
            {"Dimensions": [{"Name": "Host", "Value": "h" * 1025}]},
            "dimension Host value must be 1-1024 characters",
            id="1025-char-dimension-value",
        ),
        pytest.param(
            {"Dimensions": [{"Name": "Host", "Value": ""}]},
            "dimension Host value must be 1-1024 characters",
            id="empty-dimension-value",
        ),
    ],
)
def test_check_datum_rejects_what_cloudwatch_would_reject(change, message):
    datum = simple_datum(1) | change
    with pytest.raises(ValueError, match=message):
        check_datum(datum)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({}, id="plain"),
        pytest.param({"Dimensions": [{"Name": f"D{i}", "Value": "x"} for i in range(30)]}, id="30-dims"),
        pytest.param({"Values": [float(i) for i in range(150)], "Counts": [1.0] * 150}, id="150-values"),
        pytest.param({"Dimensions": [{"Name": "Host", "Value": "h" * 1024}]}, id="1024-char-value"),
        pytest.param({"Value": 2.0**360}, id="largest-value"),
    ],
)
def test_check_datum_accepts_datums_right_at_the_limits(change):
    check_datum(simple_datum(1) | change)


# --- the CloudWatch window ------------------------------------------------------------------------


def test_the_window_skips_datums_older_than_14_days_or_more_than_2_hours_ahead():
    now = T0
    stamps = {
        "too-old": now - timedelta(days=14, minutes=1),
        "oldest-kept": now - timedelta(days=14),
        "now": now,
        "newest-kept": now + timedelta(hours=2),
        "too-new": now + timedelta(hours=2, minutes=1),
    }
    datums = {label: pipeline_datums({"LinesProcessed": 1}, t)[0] for label, t in stamps.items()}

    keep, skip = Window(max_age=timedelta(days=14), max_future=timedelta(hours=2)).split(
        list(datums.values()), now
    )

    assert keep == [datums["oldest-kept"], datums["now"], datums["newest-kept"]]
    assert skip == [datums["too-old"], datums["too-new"]]


# --- traffic metrics, default shape ---------------------------------------------------------


def test_a_404_counts_in_both_the_4xx_and_404_families():
    datums = build_datums([minute_row(404, requests=3)], [])

    assert value_of(datums, "Response_4XX", UrlPatternId="home") == 3
    assert value_of(datums, "Response_404", UrlPatternId="home") == 3
    assert names(datums) & FAMILY_NAMES == {"Response_4XX", "Response_404"}


@pytest.mark.parametrize(
    ("status", "family"),
    [
        pytest.param(200, "Response_2XX", id="200"),
        pytest.param(299, "Response_2XX", id="299"),
        pytest.param(301, "Response_3XX", id="301"),
        pytest.param(418, "Response_4XX", id="418"),
        pytest.param(503, "Response_5XX", id="503"),
        pytest.param(599, "Response_5XX", id="599"),
    ],
)
def test_a_status_counts_in_exactly_its_own_family(status, family):
    datums = build_datums([minute_row(status, requests=2)], [])

    assert names(datums) & FAMILY_NAMES == {family}
    assert value_of(datums, family, Host="www.example.com", UrlPatternId="home") == 2


def test_a_status_outside_every_family_still_counts_in_the_total():
    datums = build_datums([minute_row(102, requests=2)], [])

    assert not names(datums) & FAMILY_NAMES
    assert value_of(datums, "ResponseCountTotal", ResponseCode="102") == 2


def test_response_count_total_is_one_datum_per_host_and_status_summed_over_patterns():
    rows = [
        minute_row(200, pattern="home", requests=2),
        minute_row(200, pattern="api", requests=5),
        minute_row(200, pattern=None, requests=1),
        minute_row(404, pattern="api", requests=7),
        minute_row(200, host="other.example.com", requests=11),
    ]

    datums = build_datums(rows, [])
    totals = {
        (dims(d)["Host"], dims(d)["ResponseCode"]): d["Value"]
        for d in datums
        if d["MetricName"] == "ResponseCountTotal"
    }

    assert totals == {
        ("www.example.com", "200"): 8,
        ("www.example.com", "404"): 7,
        ("other.example.com", "200"): 11,
    }


def test_families_are_per_url_pattern_and_unmatched_paths_get_the_unmatched_name():
    rows = [
        minute_row(200, pattern="home", requests=2),
        minute_row(204, pattern="home", requests=3),
        minute_row(200, pattern=None, requests=4),
    ]

    datums = build_datums(rows, [], unmatched="NoMatch")

    assert value_of(datums, "Response_2XX", UrlPatternId="home") == 5
    assert value_of(datums, "Response_2XX", UrlPatternId="NoMatch") == 4


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        pytest.param("ResponseCountTotal", {"Host", "ResponseCode"}, id="total"),
        *(pytest.param(name, {"Host", "UrlPatternId"}, id=name) for name in sorted(FAMILY_NAMES)),
        pytest.param("BytesSent", {"Host"}, id="bytes"),
        pytest.param("CacheHits", {"Host"}, id="cache-hits"),
        pytest.param("TurnAroundTime", {"Host"}, id="latency"),
    ],
)
def test_the_default_shape_gives_each_metric_its_documented_dimensions(metric, expected):
    rows, lat = mixed_rows()
    datums = [d for d in build_datums(rows, lat) if d["MetricName"] == metric]

    assert datums
    assert all(set(dims(d)) == expected and len(d["Dimensions"]) == len(expected) for d in datums)
    assert expected == set(metrics.METRICS[metric][1])


def test_bytes_sent_and_cache_hits_are_summed_per_host_and_minute():
    rows = [
        minute_row(200, host="a", pattern="home", nbytes=100, cache_hits=1),
        minute_row(404, host="a", pattern="api", nbytes=50, cache_hits=2),
        minute_row(200, host="b", nbytes=7, cache_hits=0),
        minute_row(200, host="a", nbytes=1000, cache_hits=5, minute=T0 + timedelta(minutes=1)),
    ]

    datums = build_datums(rows, [])
    got = {
        (d["MetricName"], dims(d)["Host"], d["Timestamp"]): d["Value"]
        for d in datums
        if d["MetricName"] in ("BytesSent", "CacheHits")
    }

    assert got == {
        ("BytesSent", "a", "2026-03-02T12:00:00Z"): 150,
        ("CacheHits", "a", "2026-03-02T12:00:00Z"): 3,
        ("BytesSent", "b", "2026-03-02T12:00:00Z"): 7,
        ("CacheHits", "b", "2026-03-02T12:00:00Z"): 0,
        ("BytesSent", "a", "2026-03-02T12:01:00Z"): 1000,
        ("CacheHits", "a", "2026-03-02T12:01:00Z"): 5,
    }
    assert {d["Unit"] for d in datums if d["MetricName"] == "BytesSent"} == {"Bytes"}


def test_datums_are_stamped_at_their_event_minute_in_utc():
    from zoneinfo import ZoneInfo

    minute = datetime(2026, 3, 2, 13, 5, tzinfo=ZoneInfo("Europe/Paris"))
    datums = build_datums([minute_row(200, minute=minute)], [])

    assert {d["Timestamp"] for d in datums} == {"2026-03-02T12:05:00Z"}
    assert {d["StorageResolution"] for d in datums} == {60}


# --- traffic metrics, original shape --------------------------------------------------------


def test_every_datum_of_the_original_shape_has_exactly_response_code_host_and_url_pattern_id():
    rows, lat = mixed_rows()

    datums = build_datums(rows, lat, shape="original", unmatched="undefined")

    assert datums
    for d in datums:
        assert sorted(x["Name"] for x in d["Dimensions"]) == ["Host", "ResponseCode", "UrlPatternId"]


def test_the_original_shape_sends_no_bytes_cache_hits_or_latency():
    rows, lat = mixed_rows()

    datums = build_datums(rows, lat, shape="original", unmatched="undefined")

    assert names(datums) == {"ResponseCountTotal"} | FAMILY_NAMES


def test_the_original_shape_total_carries_url_pattern_id_undefined():
    rows, lat = mixed_rows()

    totals = [
        d
        for d in build_datums(rows, lat, shape="original", unmatched="undefined")
        if d["MetricName"] == "ResponseCountTotal"
    ]

    assert {dims(d)["UrlPatternId"] for d in totals} == {"undefined"}
    assert {dims(d)["ResponseCode"] for d in totals} == {"200", "204", "301", "404", "418", "503"}


def test_the_original_shape_families_use_fixed_response_codes():
    rows, lat = mixed_rows()

    datums = build_datums(rows, lat, shape="original", unmatched="undefined")
    codes = {(d["MetricName"], dims(d)["ResponseCode"]) for d in datums if d["MetricName"] in FAMILY_NAMES}

    assert codes == {
        ("Response_2XX", "200"),
        ("Response_3XX", "300"),
        ("Response_4XX", "400"),
        ("Response_404", "404"),
        ("Response_5XX", "500"),
    }


# --- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["default", "original"])
def test_the_same_rows_in_any_order_give_identical_datums_and_calls(shape):
    """The publish ledger skips calls by position, so the plan must not depend on row order."""
    rows, lat = mixed_rows()
    expected = build_datums(rows, lat, shape=shape)
    expected_calls = pack(NS, expected)

    for seed in range(3):
        rng = random.Random(seed)
        rows2, lat2 = rows[:], lat[:]
        rng.shuffle(rows2)
        rng.shuffle(lat2)
        got = build_datums(rows2, lat2, shape=shape)
        assert got == expected
        assert pack(NS, got) == expected_calls


def test_every_traffic_datum_is_distinct():
    rows, lat = mixed_rows()
    datums = build_datums(rows, lat)

    keys = Counter(
        (d["Timestamp"], d["MetricName"], tuple(sorted(dims(d).items())), tuple(d.get("Values", ())))
        for d in datums
    )

    assert max(keys.values()) == 1


@pytest.mark.parametrize(
    ("host", "accepted"),
    [
        ("www.example.com", True),
        ("API.Example.COM", True),
        ("[::1]", True),
        ("host:8080", True),
        ("x" * 255, True),
        ("x" * 256, False),
        ("", False),
        ("-", False),
        (" ", False),
        ("a b", False),
        ("a\tb", False),
        ("café.example", False),
        ("a\x7fb", False),
    ],
)
def test_every_host_the_sql_accepts_is_a_valid_cloudwatch_dimension_value(host, accepted):
    """The host check of request_problem (macros.sql) is stricter than CloudWatch's rule for a
    dimension value (dimension_value_problem): a host it lets through is always publishable."""
    from edgesense.duck import Session

    with Session(threads=1) as s:
        problem = s.con.execute(
            "SELECT request_problem(NULL, '1', 1e6, '200', $host, NULL, NULL, NULL, NULL::TIMESTAMP, 0, 0)",
            {"host": host},
        ).fetchall()[0][0]
    assert (problem is None) == accepted, problem
    if accepted:
        assert dimension_value_problem(host.lower()) is None


def test_a_window_longer_than_cloudwatchs_is_clamped_to_its_14_days_and_2_hours():
    now = T0
    datums = [pipeline_datums({"LinesProcessed": 1}, t)[0]
              for t in (now - timedelta(days=15), now - timedelta(days=13), now + timedelta(hours=3))]  # fmt: skip

    keep, skip = Window(max_age=timedelta(days=20), max_future=timedelta(hours=5)).split(datums, now)

    assert keep == [datums[1]]
    assert skip == [datums[0], datums[2]]


def test_the_send_floor_is_the_configured_age_with_a_margin_only_at_cloudwatchs_own_limit():
    margin = timedelta(minutes=15)
    assert Window(max_age=timedelta(days=1)).send_floor(T0, margin) == T0 - timedelta(days=1)
    assert Window(max_age=timedelta(days=20)).send_floor(T0, margin) == T0 - timedelta(days=14) + margin


def test_per_host_rollups_count_all_requests_and_the_4xx_and_5xx_of_every_pattern_for_rate_alarms():
    rows = [
        minute_row(200, host="a", requests=90, pattern="P1"),
        minute_row(503, host="a", requests=6, pattern="P1"),
        minute_row(500, host="a", requests=1, pattern="P2"),
        minute_row(404, host="a", requests=3, pattern=None),
        minute_row(200, host="b", requests=10),
    ]
    datums = build_datums(rows, [])
    got = {(d["MetricName"], dims(d)["Host"]): d["Value"] for d in datums
           if d["MetricName"] in ("Requests", "Errors_4XX", "Errors_5XX")}  # fmt: skip

    assert got == {
        ("Requests", "a"): 100,
        ("Errors_5XX", "a"): 7,
        ("Errors_4XX", "a"): 3,
        ("Requests", "b"): 10,
    }
    assert {tuple(dims(d)) for d in datums if d["MetricName"] == "Requests"} == {("Host",)}
    assert not [d for d in build_datums(rows, [], shape="original") if d["MetricName"] == "Requests"]

"""Listing prefixes, batch ids and local file names (plugins/edgesense/keys.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from edgesense.keys import batch_id, listing_prefixes, local_name, parse_batch_id, render_layout

HOUR = timedelta(minutes=60)


def at(day: int, hour: int, minute: int = 0, *, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- listing_prefixes -----------------------------------------------------------------------


def test_an_interval_just_after_midnight_lists_both_days_folders():
    """Objects uploaded at 00:05 may have been named before midnight, in yesterday's folder."""
    prefixes = listing_prefixes("logs/{%Y}/{%m}/{%d}/", at(2, 0, 5), at(2, 0, 6), HOUR)

    assert prefixes == ["logs/2026/03/01/", "logs/2026/03/02/"]


def test_an_interval_at_noon_lists_only_that_days_folder():
    assert listing_prefixes("logs/{%Y}/{%m}/{%d}/", at(2, 12), at(2, 12, 1), HOUR) == ["logs/2026/03/02/"]


def test_a_lookback_across_new_year_lists_last_years_folder():
    start = datetime(2027, 1, 1, 0, 10, tzinfo=UTC)

    prefixes = listing_prefixes("logs/{%Y}/{%m}/{%d}/", start, start + timedelta(minutes=1), HOUR)

    assert prefixes == ["logs/2026/12/31/", "logs/2027/01/01/"]


def test_an_hourly_layout_lists_exactly_the_hours_needed():
    prefixes = listing_prefixes("logs/{%Y}/{%m}/{%d}/{%H}/", at(2, 10, 30), at(2, 11, 30), HOUR)

    assert prefixes == ["logs/2026/03/02/09/", "logs/2026/03/02/10/", "logs/2026/03/02/11/"]


def test_an_hourly_layout_without_lookback_lists_only_the_intervals_hour():
    prefixes = listing_prefixes("logs/{%Y}/{%m}/{%d}/{%H}/", at(2, 10, 0), at(2, 10, 1), timedelta(0))

    assert prefixes == ["logs/2026/03/02/10/"]


def test_the_combined_date_variable_form_works():
    prefixes = listing_prefixes("logs/{%Y/%m/%d}/", at(2, 0, 5), at(2, 0, 6), HOUR)

    assert prefixes == ["logs/2026/03/01/", "logs/2026/03/02/"]


def test_the_combined_and_separate_forms_render_alike():
    when = at(2, 7, 8)
    assert render_layout("x/{%Y/%m/%d}/{%H}/", when) == render_layout("x/{%Y}/{%m}/{%d}/{%H}/", when)


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("logs/", id="folder"),
        pytest.param("", id="bucket-root"),
        pytest.param("cdn/static/prefix-", id="partial-name"),
    ],
)
def test_a_layout_without_a_time_variable_is_its_own_only_prefix(layout):
    assert listing_prefixes(layout, at(2, 0, 5), at(2, 0, 6), HOUR) == [layout]


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        pytest.param("logs/{%streamId}/{%Y}/{%m}/{%d}/", ["logs/"], id="stream-id-first"),
        pytest.param("logs/{%Y}/{%streamId}/{%m}/{%d}/", ["logs/2026/"], id="stream-id-after-year"),
        pytest.param("logs/{%cpcode}-{%Y}/", ["logs/"], id="cpcode"),
    ],
)
def test_listing_stops_at_a_non_time_variable(layout, expected):
    """``{%streamId}`` cannot be enumerated, so the prefix ends just before it."""
    assert listing_prefixes(layout, at(2, 0, 5), at(2, 0, 6), HOUR) == expected


def test_an_empty_or_reversed_interval_lists_nothing():
    assert listing_prefixes("logs/{%Y}/", at(2, 1), at(2, 1), HOUR) == []
    assert listing_prefixes("logs/{%Y}/", at(2, 2), at(2, 1), HOUR) == []


def test_a_layout_that_would_list_too_many_prefixes_is_refused():
    with pytest.raises(ValueError, match="more than"):
        listing_prefixes("logs/{%Y}{%m}{%d}{%H}{%M}{%S}/", at(1, 0), at(2, 0), HOUR)


# --- batch ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "seq"),
    [
        pytest.param(at(24, 12, 3, month=11), at(24, 12, 4, month=11), 0, id="utc"),
        pytest.param(at(31, 23, 59, month=12), at(1, 0, 0, month=1, year=2027), 17, id="new-year"),
        pytest.param(
            datetime(2026, 3, 2, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 3, 2, 14, 5, tzinfo=timezone(timedelta(hours=2))),
            3,
            id="non-utc-offset",
        ),
    ],
)
def test_a_batch_id_round_trips(start, end, seq):
    value = batch_id(start, end, seq)

    assert parse_batch_id(value) == (start, end, seq)
    assert all(t.tzinfo == UTC for t in parse_batch_id(value)[:2])


def test_a_batch_id_looks_as_documented():
    assert batch_id(at(24, 12, 3, month=11), at(24, 12, 4, month=11)) == "20261124T120300-20261124T120400-0"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("20261124T120300-20261124T120400", id="no-seq"),
        pytest.param("20261124T120300-20261124T120400-0/../x", id="trailing-path"),
        pytest.param("2026-11-24T12:03:00-2026-11-24T12:04:00-0", id="iso"),
    ],
)
def test_a_malformed_batch_id_is_refused(value):
    with pytest.raises(ValueError, match="not a batch id"):
        parse_batch_id(value)


# --- local_name -----------------------------------------------------------------------------

HOSTILE_KEYS = [
    pytest.param("../../etc/passwd", id="dotdot-path"),
    pytest.param("a/b/\x00evil", id="nul"),
    pytest.param("logs/" + "x" * 5000, id="5000-chars"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("a/..", id="trailing-dotdot"),
    pytest.param("logs/", id="trailing-slash"),
    pytest.param("", id="empty"),
    pytest.param("a\\..\\..\\windows", id="backslashes"),
    pytest.param("logs/\udcff-bad-utf8.gz", id="lone-surrogate"),
    pytest.param("logs/ünïcødé ß.gz", id="unicode"),
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_a_local_name_is_one_short_safe_path_component(key, tmp_path):
    name = local_name(7, key, ".gz")

    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert name not in (".", "..")
    assert ".." not in Path(name).parts
    assert len(name) < 100
    assert name.endswith(".gz")
    assert name.isascii()
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_keys_with_the_same_basename_in_different_folders_get_different_names():
    keys = ["a/x.log.gz", "b/x.log.gz", "x.log.gz", "a/b/x.log.gz", "a//x.log.gz", "../x.log.gz"]

    assert len({local_name(0, k, "") for k in keys}) == len(keys)


def test_every_hostile_key_gets_its_own_name():
    keys = [p.values[0] for p in HOSTILE_KEYS]
    keys += ["logs/" + "x" * 5000 + "y", "a/b/\x00evi1", "../../etc/passwd2"]

    assert len({local_name(0, k, ".gz") for k in keys}) == len(keys)


def test_the_same_key_at_the_same_position_always_gets_the_same_name():
    assert local_name(3, "logs/2026/a.gz", ".gz") == local_name(3, "logs/2026/a.gz", ".gz")
    assert local_name(3, "logs/2026/a.gz", ".gz") != local_name(4, "logs/2026/a.gz", ".gz")

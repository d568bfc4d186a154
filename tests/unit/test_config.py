"""Settings from ``EDGESENSE_*`` variables (plugins/edgesense/config.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from edgesense.config import FIELDS, Settings
from helpers import ROOT


def test_the_defaults_work_with_the_local_embedded_aws():
    s = Settings()

    assert s.aws_conn_id == "aws_default"
    assert s.stage == "dev"
    assert s.ingest_bucket == "edgesense-ingest"
    assert s.store_bucket == "edgesense-store"
    assert s.rules_table == "edgesense-rules"
    assert s.key_layout == "logs/{%Y}/{%m}/{%d}/{%H}/"
    assert s.prefix_lookback_minutes == 60
    assert s.settle_seconds == 120
    assert s.metrics_shape == "default"
    assert s.reject_threshold == 0.05
    assert s.max_age_days == 14.0
    assert s.max_future_hours == 2.0
    assert s.duckdb_threads == 2
    assert s.structured_field_list == []
    s.validate()


def test_an_empty_environment_gives_the_defaults():
    assert Settings.from_env({}) == Settings()


def test_from_env_reads_edgesense_variables_and_coerces_numbers():
    s = Settings.from_env(
        {
            "EDGESENSE_STAGE": "prod",
            "EDGESENSE_SETTLE_SECONDS": "30",
            "EDGESENSE_PREFIX_LOOKBACK_MINUTES": "15",
            "EDGESENSE_REJECT_THRESHOLD": "0.2",
            "EDGESENSE_MAX_AGE_DAYS": "7",
            "EDGESENSE_PUBLISH_BASE_DELAY": "1.5",
            "EDGESENSE_DUCKDB_THREADS": "4",
            "EDGESENSE_DUCKDB_MEMORY_LIMIT": "512MB",
            "EDGESENSE_METRICS_SHAPE": "original",
            "EDGESENSE_STRUCTURED_FIELDS": "version, cp_code ,,reqTimeSec",
            "OTHER_SETTLE_SECONDS": "999",
        }
    )

    assert s.stage == "prod"
    assert s.settle_seconds == 30
    assert type(s.settle_seconds) is int
    assert s.prefix_lookback_minutes == 15
    assert s.reject_threshold == 0.2
    assert type(s.reject_threshold) is float
    assert s.max_age_days == 7.0
    assert type(s.max_age_days) is float
    assert s.publish_base_delay == 1.5
    assert s.duckdb_threads == 4
    assert s.duckdb_memory_limit == "512MB"
    assert s.metrics_shape == "original"
    assert s.structured_field_list == ["version", "cp_code", "reqTimeSec"]


def test_an_empty_variable_means_the_default():
    assert Settings.from_env({"EDGESENSE_SETTLE_SECONDS": "", "EDGESENSE_STAGE": ""}) == Settings()


def test_overrides_win_over_the_environment_unless_none():
    s = Settings.from_env({"EDGESENSE_STAGE": "prod", "EDGESENSE_SETTLE_SECONDS": "30"}, stage="qa")

    assert s.stage == "qa"
    assert s.settle_seconds == 30
    assert Settings.from_env({"EDGESENSE_STAGE": "prod"}, stage=None).stage == "prod"


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("EDGESENSE_STAGE", "from-process")
    monkeypatch.setenv("EDGESENSE_DUCKDB_THREADS", "3")

    s = Settings.from_env()

    assert (s.stage, s.duckdb_threads) == ("from-process", 3)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("EDGESENSE_SETTLE_SECONDS", "abc", id="settle-not-int"),
        pytest.param("EDGESENSE_SETTLE_SECONDS", "1.5", id="settle-float"),
        pytest.param("EDGESENSE_SETTLE_SECONDS", "-1", id="settle-negative"),
        pytest.param("EDGESENSE_PREFIX_LOOKBACK_MINUTES", "-5", id="lookback-negative"),
        pytest.param("EDGESENSE_METRICS_SHAPE", "weird", id="shape"),
        pytest.param("EDGESENSE_REJECT_THRESHOLD", "2", id="threshold-above-1"),
        pytest.param("EDGESENSE_REJECT_THRESHOLD", "-0.1", id="threshold-negative"),
        pytest.param("EDGESENSE_REJECT_THRESHOLD", "lots", id="threshold-not-float"),
        pytest.param("EDGESENSE_DUCKDB_THREADS", "0", id="no-threads"),
        pytest.param("EDGESENSE_MAX_AGE_DAYS", "two weeks", id="age-not-float"),
    ],
)
def test_an_invalid_value_is_refused_naming_its_variable(variable, value):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "edgesense/dev", id="default"),
        pytest.param({"stage": "prod"}, "edgesense/prod", id="stage"),
        pytest.param({"stage": "prod", "metrics_shape": "original"}, "edgesense-prod/totals", id="original"),
        pytest.param({"namespace": "Custom/NS"}, "Custom/NS", id="explicit"),
        pytest.param(
            {"namespace": "Custom/NS", "metrics_shape": "original"}, "Custom/NS", id="explicit-orig"
        ),
    ],
)
def test_the_effective_namespace(kwargs, expected):
    s = Settings(**kwargs)

    assert s.effective_namespace == expected
    assert s.pipeline_namespace == f"{expected}/pipeline"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "Unmatched", id="default"),
        pytest.param({"metrics_shape": "original"}, "undefined", id="original"),
        pytest.param({"unmatched_name": "Other"}, "Other", id="explicit"),
        pytest.param({"unmatched_name": "Other", "metrics_shape": "original"}, "Other", id="explicit-orig"),
    ],
)
def test_the_effective_unmatched_name(kwargs, expected):
    assert Settings(**kwargs).effective_unmatched == expected


def test_settings_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().stage = "prod"  # type: ignore[misc]


def test_every_field_is_documented():
    assert all(f.metadata.get("doc") for f in FIELDS)


def test_every_setting_is_in_the_readmes_configuration_table():
    """The README's table is generated from FIELDS; a field missing from it was never regenerated."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    in_table = {
        m.group(1)
        for line in text.splitlines()
        if line.lstrip().startswith("|")
        for m in re.finditer(r"EDGESENSE_([A-Z0-9_]+)", line)
    }

    missing = [f"EDGESENSE_{f.name.upper()}" for f in FIELDS if f.name.upper() not in in_table]

    assert not missing, f"not in README.md's configuration table: {missing}"


@pytest.mark.parametrize(("raw", "minutes"), [(None, 60), ("15", 15), ("1440", 1440)])
def test_the_archive_interval_divides_a_day(monkeypatch, raw, minutes):
    from datetime import timedelta

    from edgesense import dag_helpers

    if raw is None:
        monkeypatch.delenv("EDGESENSE_ARCHIVE_INTERVAL_MINUTES", raising=False)
    else:
        monkeypatch.setenv("EDGESENSE_ARCHIVE_INTERVAL_MINUTES", raw)
    assert dag_helpers.archive_interval() == timedelta(minutes=minutes)


@pytest.mark.parametrize("raw", ["7", "0", "-60", "1h", "2880"])
def test_an_archive_interval_that_does_not_divide_a_day_is_refused_by_name(monkeypatch, raw):
    from edgesense import dag_helpers

    monkeypatch.setenv("EDGESENSE_ARCHIVE_INTERVAL_MINUTES", raw)
    with pytest.raises(ValueError, match=f"EDGESENSE_ARCHIVE_INTERVAL_MINUTES must divide a day.*{raw!r}"):
        dag_helpers.archive_interval()


def test_archive_intervals_start_on_multiples_of_their_length_since_midnight():
    from datetime import UTC, datetime, timedelta

    from edgesense.dag_helpers import floor_to

    assert floor_to(datetime(2026, 11, 1, 7, 41, 5, tzinfo=UTC), timedelta(minutes=15)) == datetime(
        2026, 11, 1, 7, 30, tzinfo=UTC
    )

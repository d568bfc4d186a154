"""The anomaly detector on seeded traffic: quiet on a normal day, loud on each incident, explainable.

Everything is deterministic (seeded traffic model), so each assertion is about this detector's
behaviour on one known stretch of traffic, not about luck.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from edgesense.anomaly import SIGNALS, Detector, DetectorConfig, Observation, Score, score
from edgesense.incidents import AFFECTS, Incident
from edgesense.traffic_model import HostProfile, default_hosts, simulate

TUESDAY = datetime(2026, 11, 3, tzinfo=UTC)
HOSTS = default_hosts(3)  # 20,000, 6,000 and 1,800 requests a minute at peak


def scored(hosts, start, history_minutes, minutes, incidents=(), seed=5, config=None):
    """Feed ``history_minutes`` of the model to a detector, then score ``minutes`` more; all scores."""
    detector = Detector(config)
    out: list[Score] = []
    for m, row in enumerate(simulate(hosts, start, history_minutes + minutes, incidents, seed=seed)):
        if m < history_minutes:
            detector.add(row)
        else:
            out += detector.score(row)
    return out


def test_a_normal_day_and_the_start_of_a_weekend_score_like_noise_and_alarm_at_most_once_per_host():
    """Friday noon to Saturday noon after 3.5 days of history: the weekend dip is eased in, not alarmed,
    and the scores of normal traffic have a standard deviation of about 1, as robust deviations should."""
    scores = scored(HOSTS, TUESDAY, int(3.5 * 1440), 1440)
    for h in HOSTS:
        for signal in SIGNALS:
            mine = [s.score for s in scores if s.host == h.host and s.signal == signal]
            assert len(mine) > 0.95 * 1440, (h.host, signal)
            assert 0.75 < statistics.pstdev(mine) < 1.3, (h.host, signal)
            assert abs(statistics.median(mine)) < 0.5, (h.host, signal)
    alarmed = sorted({(s.host, s.minute) for s in scores if s.is_anomalous})
    episodes = [b for a, b in zip([None, *alarmed], alarmed, strict=False)
                if a is None or a[0] != b[0] or b[1] - a[1] > timedelta(minutes=1)]  # fmt: skip
    assert len(episodes) <= len(HOSTS), [s.sentence() for s in scores if s.is_anomalous]


@pytest.mark.parametrize(
    ("kind", "host", "magnitude", "minutes", "hour"),
    [
        pytest.param("error_burst", 1, 0.05, 15, 14, id="5XX-burst-1-to-6-percent"),
        pytest.param("error_burst", 2, 0.1, 15, 3, id="5XX-burst-on-a-small-host-at-night"),
        pytest.param("traffic_drop", 2, 0.1, 20, 3, id="drop-to-10-percent-at-night"),
        pytest.param("latency_shift", 1, 1.5, 15, 10, id="latency-x1.5"),
        pytest.param("slow_ramp", 0, 0.15, 45, 15, id="ramp-to-15-percent-over-45-min"),
    ],
)
def test_each_incident_kind_is_anomalous_on_its_host_and_signal_within_five_minutes_and_nowhere_else(
    kind, host, magnitude, minutes, hour
):
    start = TUESDAY + timedelta(days=3, hours=hour)
    inc = Incident(kind, HOSTS[host].host, start, timedelta(minutes=minutes), magnitude)
    history = int((start - TUESDAY) / timedelta(minutes=1)) - 30
    scores = scored(HOSTS, TUESDAY, history, 30 + minutes + 5, [inc])
    hits = [s for s in scores if s.is_anomalous and s.host == inc.host and s.signal in AFFECTS[kind]]
    assert hits, f"no alarm for {inc}"
    first = min(s.minute for s in hits)
    assert start <= first <= start + timedelta(minutes=5), hits[0].sentence()
    elsewhere = [s.sentence() for s in scores if s.is_anomalous and (s.host != inc.host or s.minute < start)]
    assert not elsewhere, elsewhere


def test_a_traffic_drop_to_ten_percent_scores_far_below_the_baseline_and_its_sentence_says_so():
    start = TUESDAY + timedelta(days=3, hours=12)
    inc = Incident("traffic_drop", HOSTS[0].host, start, timedelta(minutes=20), 0.1)
    history = int((start - TUESDAY) / timedelta(minutes=1))
    scores = scored(HOSTS, TUESDAY, history, 10, [inc])
    last = next(s for s in reversed(scores) if s.host == inc.host and s.signal == "Requests")
    assert last.score < -20
    assert last.is_anomalous
    assert last.value < 0.15 * last.baseline
    assert "robust deviations below" in last.sentence()
    assert "requests" in last.sentence()


def test_warm_up_is_three_days_and_two_hours_for_requests_and_latency_and_two_hours_for_the_5xx_rate():
    """A baseline needs half of its 120 trailing windows, and its spread half of those windows' own
    baselines; requests and latency also need a seasonal shape of 3 days (give or take its ±5 minutes)."""
    scores = scored(HOSTS[:1], TUESDAY, 3 * 1440, 130)
    first = {sig: min(s.minute for s in scores if s.signal == sig) - TUESDAY for sig in SIGNALS}
    assert first == {"ErrorRate5XX": timedelta(days=3), "Requests": timedelta(days=3, minutes=123),
                     "TurnAroundP95": timedelta(days=3, minutes=123)}  # fmt: skip
    cold = scored(HOSTS[:1], TUESDAY, 60, 120)
    assert {s.signal for s in cold} == {"ErrorRate5XX"}
    assert min(s.minute for s in cold) == TUESDAY + timedelta(minutes=128)


def obs(minute: datetime, requests: float, errors: float = 0, p95: float | None = 50.0, host="small"):
    return Observation(minute, host, requests, errors, p95)


def flat_history(days: int, requests: float, errors: float = 0, host="small") -> list[Observation]:
    """A host with the same traffic every minute (the simplest seasonal shape: none)."""
    return [
        obs(TUESDAY + timedelta(minutes=m), requests, errors, 50.0 + m % 7, host) for m in range(days * 1440)
    ]


def test_a_minute_without_requests_scores_the_drop_without_dividing_by_zero():
    history = flat_history(4, 500, 5)
    now = TUESDAY + timedelta(days=4)
    detector = Detector(history=history)
    detector.score([obs(now + timedelta(minutes=m), 0, 0, None) for m in range(4)])
    scores = detector.score([obs(now + timedelta(minutes=4), 0, 0, None)])
    assert [s.signal for s in scores] == ["Requests"]  # no rate of 0 requests, no p95 without latency
    assert scores[0].value == 0
    assert scores[0].is_anomalous


def test_a_host_that_was_always_silent_has_no_baseline_and_no_score():
    history = [obs(TUESDAY + timedelta(minutes=m), 0, 0, None) for m in range(4 * 1440)]
    assert score(history, [obs(TUESDAY + timedelta(days=4), 0, 0, None)]) == []


def test_a_low_volume_host_going_from_zero_errors_to_one_is_not_anomalous_but_a_real_burst_is():
    history = flat_history(1, 30)
    now = TUESDAY + timedelta(days=1)
    one = score(history, [obs(now, 30, 1)])
    [rate] = [s for s in one if s.signal == "ErrorRate5XX"]
    assert rate.baseline == 0
    assert not rate.is_anomalous, rate.sentence()
    burst = score(history, [obs(now + timedelta(minutes=m), 30, 6) for m in range(5)])
    assert [s for s in burst if s.signal == "ErrorRate5XX"][-1].is_anomalous


def test_a_host_whose_traffic_never_varied_does_not_alarm_on_a_poisson_sized_wiggle():
    """With no spread in the history, the floors decide: Poisson for requests, 5 % for latency."""
    history = [obs(TUESDAY + timedelta(minutes=m), 30, 0, 80.0) for m in range(4 * 1440)]
    now = TUESDAY + timedelta(days=4)
    wiggle = [
        obs(now + timedelta(minutes=m), 30 if m < 4 else 40, 0, 80.0 if m < 4 else 90.0) for m in range(5)
    ]
    scores = {s.signal: s for s in Detector(history=history).score(wiggle) if s.minute == wiggle[-1].minute}
    assert set(scores) == {"Requests", "ErrorRate5XX", "TurnAroundP95"}
    assert scores["Requests"].spread == pytest.approx((30 / 5) ** 0.5)
    assert not scores["Requests"].is_anomalous, scores["Requests"].sentence()
    assert scores["TurnAroundP95"].spread == pytest.approx(0.05 * 80)
    assert not scores["TurnAroundP95"].is_anomalous, scores["TurnAroundP95"].sentence()


def test_a_host_with_too_few_requests_for_a_rate_gets_no_5xx_score():
    history = flat_history(1, 10)
    assert not [
        s for s in score(history, [obs(TUESDAY + timedelta(days=1), 10, 10)]) if s.signal == "ErrorRate5XX"
    ]


def test_the_detector_scoring_minute_by_minute_agrees_with_the_one_shot_function():
    rows = list(simulate(HOSTS[2:], TUESDAY, 3 * 1440 + 200, seed=3))
    history = [o for row in rows[:-10] for o in row]
    detector = Detector(history=history)
    stepwise = [s for row in rows[-10:] for s in detector.score(row)]
    last = [s for s in stepwise if s.minute == rows[-1][0].minute]
    assert len(last) == 3
    assert last == score(history + [o for row in rows[-10:-1] for o in row], rows[-1])


def test_a_late_minute_for_the_past_is_taken_into_account():
    """Cached windows are dropped when history changes behind them."""
    history = flat_history(1, 500, 5)
    now = TUESDAY + timedelta(days=1)
    detector = Detector(history=history)
    detector.score([obs(now + timedelta(minutes=m), 500, 5) for m in range(4)])
    detector.add([obs(now + timedelta(minutes=m), 500, 100) for m in range(4)])  # late corrections
    [rate] = [
        s for s in detector.score([obs(now + timedelta(minutes=4), 500, 5)]) if s.signal == "ErrorRate5XX"
    ]
    assert rate.value == pytest.approx(405 / 2500)
    assert rate.is_anomalous


def test_the_sentence_names_the_numbers():
    minute = datetime(2026, 11, 24, 14, 5, tzinfo=UTC)
    s = Score(minute, "www.example.com", "Requests", -11.2, 120.0, 1180.0, 95.0)
    assert s.sentence() == (
        "www.example.com at 2026-11-24 14:05Z, mean of 5 min: requests 120/min vs baseline 1,180 ± 95: "
        "11.2 robust deviations below"
    )
    rate = Score(minute, "www.example.com", "ErrorRate5XX", 27.5, 0.12, 0.01, 0.004)
    assert "5XX rate 12.0% vs baseline 1.0% ± 0.4 points: 27.5 robust deviations above" in rate.sentence()
    p95 = Score(minute, "www.example.com", "TurnAroundP95", 16.6, 412.0, 180.0, 14.0)
    assert "TurnAroundTime p95 412 ms vs baseline 180 ± 14 ms: 16.6 robust deviations above" in p95.sentence()


def test_fewer_requests_alarm_but_fewer_errors_and_faster_answers_do_not():
    minute = datetime(2026, 11, 24, 14, 5, tzinfo=UTC)
    assert Score(minute, "h", "Requests", -7.0, 1, 2, 1).severity == 7.0
    assert Score(minute, "h", "Requests", -7.0, 1, 2, 1).is_anomalous
    assert not Score(minute, "h", "ErrorRate5XX", -7.0, 0, 0.01, 0.001).is_anomalous
    assert not Score(minute, "h", "TurnAroundP95", -7.0, 10, 80, 10).is_anomalous
    assert not Score(minute, "h", "TurnAroundP95", 7.0, 150, 80, 10, threshold=8.0).is_anomalous


def test_the_threshold_is_the_configs():
    history = flat_history(4, 500, 5)
    now = TUESDAY + timedelta(days=4)
    [s] = [
        s for s in score(history, [obs(now, 500, 5)], DetectorConfig(threshold=2.5)) if s.signal == "Requests"
    ]
    assert s.threshold == 2.5


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"minute": datetime(2026, 11, 24, 14, 5, 30, tzinfo=UTC)}, id="not-a-whole-minute"),
        pytest.param({"minute": datetime(2026, 11, 24, 14, 5)}, id="naive"),
        pytest.param({"errors_5xx": 11}, id="more-errors-than-requests"),
    ],
)
def test_an_observation_that_cannot_be_a_minute_of_a_host_is_refused(bad):
    fields = {
        "minute": datetime(2026, 11, 24, 14, 5, tzinfo=UTC),
        "host": "h",
        "requests": 10,
        "errors_5xx": 0,
    }
    with pytest.raises(ValueError):
        Observation(**{**fields, **bad})


def test_a_custom_host_profile_is_scored_like_the_defaults():
    tiny = HostProfile("tiny.example.com", 40, error_rate=0.0)
    scores = scored([tiny], TUESDAY, 3 * 1440, 120)
    assert scores
    assert not [s.sentence() for s in scores if s.is_anomalous]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"window": 0}, id="no-window"),
        pytest.param({"min_days": 8}, id="more-days-needed-than-kept"),
        pytest.param({"min_rate": 0}, id="a-zero-rate-floor-would-divide-by-zero"),
    ],
)
def test_a_detector_configuration_that_cannot_work_is_refused(bad):
    with pytest.raises(ValueError):
        DetectorConfig(**bad)

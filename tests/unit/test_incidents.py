"""Labelled incidents and the traffic model they are applied to: what the anomaly bench measures against."""

from __future__ import annotations

import itertools
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from edgesense.incidents import KINDS, NORMAL, RANGES, Effect, Incident, effect, place
from edgesense.traffic_model import binomial, daily, default_hosts, p95, poisson, simulate, weekly

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday
MIN = timedelta(minutes=1)


def inc(kind, magnitude, minutes=10, host="a.example.com", start=T0) -> Incident:
    return Incident(kind, host, start, minutes * MIN, magnitude)


def test_no_incident_is_the_identity_effect_before_during_and_after_and_on_other_hosts():
    burst = inc("error_burst", 0.1)
    assert effect([], "a.example.com", T0) == NORMAL == Effect(1.0, 0.0, 1.0)
    assert effect([burst], "a.example.com", T0 - MIN) == NORMAL
    assert effect([burst], "a.example.com", burst.end) == NORMAL  # end is the first minute after
    assert effect([burst], "b.example.com", T0) == NORMAL
    assert effect([burst], "a.example.com", burst.end - MIN) == Effect(extra_5xx=0.1)


def test_each_kind_changes_only_its_own_part_of_the_traffic():
    assert effect([inc("error_burst", 0.15)], "a.example.com", T0) == Effect(extra_5xx=0.15)
    assert effect([inc("traffic_drop", 0.1)], "a.example.com", T0) == Effect(volume_factor=0.1)
    assert effect([inc("latency_shift", 2.5)], "a.example.com", T0) == Effect(latency_factor=2.5)


def test_a_slow_ramp_grows_linearly_and_reaches_its_magnitude_in_its_last_minute():
    ramp = inc("slow_ramp", 0.2, minutes=40)
    shares = [effect([ramp], "a.example.com", T0 + m * MIN).extra_5xx for m in range(40)]
    assert shares[0] == pytest.approx(0.2 / 40)
    assert shares[19] == pytest.approx(0.1)
    assert shares[-1] == pytest.approx(0.2)
    assert all(b > a for a, b in itertools.pairwise(shares))
    assert effect([ramp], "a.example.com", ramp.end) == NORMAL


def test_two_incidents_at_once_combine_factors_and_5xx_shares():
    both = effect([inc("traffic_drop", 0.1), inc("latency_shift", 2.0), inc("error_burst", 0.2),
                   inc("error_burst", 0.5)], "a.example.com", T0)  # fmt: skip
    assert both.volume_factor == pytest.approx(0.1)
    assert both.latency_factor == pytest.approx(2.0)
    assert both.extra_5xx == pytest.approx(1 - 0.8 * 0.5)


@pytest.mark.parametrize(
    ("kind", "magnitude", "minutes", "start"),
    [
        pytest.param("traffic_drop", 1.5, 10, T0, id="a-drop-that-grows"),
        pytest.param("latency_shift", 0.5, 10, T0, id="a-latency-shift-that-speeds-up"),
        pytest.param("error_burst", 0.0, 10, T0, id="no-errors"),
        pytest.param("slow_ramp", 1.2, 10, T0, id="over-100-percent"),
        pytest.param("error_burst", 0.1, 0, T0, id="no-duration"),
        pytest.param("error_burst", 0.1, 10, T0 + timedelta(seconds=30), id="not-a-whole-minute"),
        pytest.param("outage", 0.1, 10, T0, id="unknown-kind"),
    ],
)
def test_an_incident_that_makes_no_sense_is_refused(kind, magnitude, minutes, start):
    with pytest.raises(ValueError):
        Incident(kind, "a.example.com", start, minutes * MIN, magnitude)


def test_placed_incidents_are_reproducible_balanced_realistic_and_apart_on_each_host():
    hosts = [f"h{i}" for i in range(5)]
    placed = place(hosts, T0, 7, seed=3)
    assert placed == place(hosts, T0, 7, seed=3)
    assert placed != place(hosts, T0, 7, seed=4)
    assert len(placed) == round(1.5 * 5 * 7)
    counts = [sum(i.kind == k for i in placed) for k in KINDS]
    assert max(counts) - min(counts) <= 1
    for i in placed:
        (lo, hi), (dmin, dmax) = RANGES[i.kind]
        assert lo <= i.magnitude <= hi
        assert dmin <= i.minutes <= dmax
        assert i.start >= T0
        assert i.end <= T0 + timedelta(days=7)
    assert {i.magnitude for i in placed if i.kind == "traffic_drop"} == {0.1}
    for h in hosts:
        mine = sorted((i for i in placed if i.host == h), key=lambda i: i.start)
        assert all(b.start - a.end >= timedelta(hours=3) for a, b in itertools.pairwise(mine))


def test_the_daily_curve_has_a_night_trough_and_a_late_high_and_weekends_are_eased_in():
    assert daily(4 * 60) == pytest.approx(0.2, abs=0.02)
    assert max(daily(m) for m in range(1440)) == pytest.approx(1.0)
    assert 15 * 60 <= max(range(1440), key=daily) <= 21 * 60
    assert daily(20 * 60 + 30) > 0.85 > daily(8 * 60)  # busy into the evening, quiet in the morning
    friday, saturday = datetime(2026, 11, 6, 12, tzinfo=UTC), datetime(2026, 11, 7, 12, tzinfo=UTC)
    assert weekly(friday) == 1.0
    assert weekly(saturday) == pytest.approx(0.8)
    steps = [abs(weekly(friday + timedelta(minutes=m + 1)) - weekly(friday + timedelta(minutes=m)))
             for m in range(3 * 1440)]  # fmt: skip
    assert max(steps) < 0.002  # no cliff at midnight that a detector would rightly call a drop


def test_the_samplers_have_the_right_mean_and_spread():
    rng = random.Random(1)
    for lam in (3.0, 500.0):
        draws = [poisson(rng, lam) for _ in range(4000)]
        assert statistics.mean(draws) == pytest.approx(lam, rel=0.05)
        assert statistics.variance(draws) == pytest.approx(lam, rel=0.15)
    for n in (50, 5000):
        draws = [binomial(rng, n, 0.02) for _ in range(3000)]
        assert statistics.mean(draws) == pytest.approx(n * 0.02, rel=0.08)
        assert all(0 <= d <= n for d in draws)
    assert p95(rng, 0, 40, 0.9) is None
    big = [p95(rng, 100_000, 40, 0.9) for _ in range(200)]
    assert statistics.median(big) == pytest.approx(40 * 4.4, rel=0.02)  # exp(1.645 x 0.9) = 4.4
    small = [p95(rng, 20, 40, 0.9) for _ in range(200)]
    assert statistics.stdev(small) > 10 * statistics.stdev(big)  # a small host's p95 is noisy


def test_the_model_is_deterministic_per_seed_and_a_host_does_not_depend_on_the_others():
    hosts = default_hosts(3)
    a = list(simulate(hosts, T0, 30, seed=9))
    assert a == list(simulate(hosts, T0, 30, seed=9))
    assert a != list(simulate(hosts, T0, 30, seed=10))
    alone = list(simulate(hosts[1:2], T0, 30, seed=9))
    assert [row[1] for row in a] == [row[0] for row in alone]


def test_hosts_differ_in_size_and_their_error_rate_is_about_their_profile():
    hosts = default_hosts(5)
    assert [h.peak_per_minute for h in hosts] == sorted((h.peak_per_minute for h in hosts), reverse=True)
    assert hosts[0].peak_per_minute / hosts[-1].peak_per_minute > 100
    rows = list(simulate(hosts[:1], T0, 600, seed=2))
    requests = sum(r[0].requests for r in rows)
    assert sum(r[0].errors_5xx for r in rows) / requests == pytest.approx(hosts[0].error_rate, rel=0.3)


def test_incidents_are_applied_to_the_traffic_of_their_host_only():
    hosts = default_hosts(2)
    incidents = [Incident("traffic_drop", hosts[0].host, T0 + 60 * MIN, 30 * MIN, 0.1),
                 Incident("error_burst", hosts[1].host, T0 + 60 * MIN, 30 * MIN, 0.15),
                 Incident("latency_shift", hosts[1].host, T0 + 60 * MIN, 30 * MIN, 3.0)]  # fmt: skip
    normal = list(simulate(hosts, T0, 90, seed=4))
    hit = list(simulate(hosts, T0, 90, incidents, seed=4))
    assert normal[:60] == hit[:60]

    def total(rows, i, f):
        return sum(f(r[i]) for r in rows[60:])

    assert total(hit, 0, lambda o: o.requests) / total(normal, 0, lambda o: o.requests) == pytest.approx(
        0.1, rel=0.1
    )
    assert total(hit, 1, lambda o: o.errors_5xx) / total(hit, 1, lambda o: o.requests) == pytest.approx(
        0.15, abs=0.02
    )
    p95_ratio = statistics.median(
        h[1].tat_p95_ms / n[1].tat_p95_ms for h, n in zip(hit[60:], normal[60:], strict=True)
    )
    assert p95_ratio == pytest.approx(3.0, rel=0.2)

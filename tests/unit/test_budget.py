"""The cardinality budget's ranking and renaming (pure logic; the S3 side is in tests/e2e)."""

from __future__ import annotations

from datetime import datetime, timedelta

from edgesense.budget import OTHER, add_batch, allowed_patterns, apply

NOW = datetime(2026, 11, 24, 12, 30)


def rows(host: str, counts: dict[str, int], minute: datetime = NOW) -> list[dict]:
    return [
        {"minute": minute, "host": host, "url_pattern": p, "status": 200, "requests": n}
        for p, n in counts.items()
    ]


def test_the_busiest_patterns_per_host_stay_and_the_tail_becomes_other():
    vol = add_batch({}, rows("a", {"Api": 50, "Product": 30, "Category": 15, "Brand": 5}) + rows("b", {"X": 1}),
                    NOW, timedelta(hours=24))  # fmt: skip
    allowed = allowed_patterns(vol, 2)
    assert allowed == {"a": {"Api", "Product"}, "b": {"X"}}
    out, rolled = apply(rows("a", {"Api": 5, "Category": 2, "Brand": 1}), allowed, 2)
    assert [r["url_pattern"] for r in out] == ["Api", OTHER, OTHER]
    assert rolled == [("a", "Brand"), ("a", "Category")]


def test_volume_outside_the_window_no_longer_counts():
    old = add_batch({}, rows("a", {"Old": 1000}, NOW - timedelta(hours=30)), NOW - timedelta(hours=30),
                    timedelta(hours=24))  # fmt: skip
    vol = add_batch(old, rows("a", {"New": 1}), NOW, timedelta(hours=24))
    assert allowed_patterns(vol, 1) == {"a": {"New"}}


def test_ties_are_broken_by_name_and_no_budget_changes_nothing():
    vol = add_batch({}, rows("a", {"B": 5, "A": 5}), NOW, timedelta(hours=1))
    assert allowed_patterns(vol, 1) == {"a": {"A"}}
    same = rows("a", {"B": 5})
    assert apply(same, {"a": {"A"}}, 0) == (same, [])

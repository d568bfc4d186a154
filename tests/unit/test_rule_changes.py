"""What a change of rules does: the import diff, ``rules test`` and the dry run."""

from __future__ import annotations

import gzip
import json

import pytest

from edgesense.aggregate import SourceFile
from edgesense.metrics_path import MetricsAggregator
from edgesense.rule_changes import by_pattern, diff_rules, which_rules_match
from edgesense.rules import Rule, RuleSet, read_csv_rules

RULES = RuleSet((
    Rule(1, "Euro", r"/€"), Rule(2, "Spaced", r"^/a b/"), Rule(3, "Api", r"/json/"),
    Rule(4, "ApiHost", r"^/", host="api.example.abc"), Rule(5, "Any", r"x"),
))  # fmt: skip


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/json/v1/x", "www.example.abc"),
        ("/a%20b/c", "www.example.abc"),
        ("/unknown/%E2%82%AC", "cdn.example.abc"),
        ("json/no-slash", "www.example.abc"),
        ("/plain", "API.example.abc"),
        ("/bad%zzescape", "www.example.abc"),
        ("/nothing", "www.example.abc"),
    ],
)
def test_rules_test_names_the_pattern_the_aggregation_gives_the_request(tmp_path, path, host):
    line = {"reqTimeSec": "1764496800", "statusCode": "200", "reqHost": host, "reqPath": path}
    f = tmp_path / "one.gz"
    f.write_bytes(gzip.compress((json.dumps(line) + "\n").encode()))
    with MetricsAggregator() as agg:
        agg.process([SourceFile(f, "k/one.gz")], RULES)
        (row,) = agg.minute_metrics()

    winner, hits = which_rules_match(RULES, path, host)

    assert (winner or "Unmatched") == row["url_pattern"]
    assert winner is None or hits[0] == winner


def test_rules_test_lists_every_rule_that_matches_and_ignores_a_query_string():
    winner, hits = which_rules_match(RULES, "/json/x?page=/€", "api.example.abc")
    assert winner == "Api"
    assert hits == ["Api", "ApiHost", "Any"]


def test_an_import_reports_added_changed_unchanged_removed_and_rejected_rules():
    current = [{"Id": "Keep", "Regex": "a", "Rank": 1}, {"Id": "Edit", "Regex": "b", "Rank": 2},
               {"Id": "Gone", "Regex": "c", "Rank": 3}]  # fmt: skip
    new = read_csv_rules("Id,Regex,Rank\nKeep,a,1\nEdit,bb,2\nNew,d,4\nBroken,(?=x),5\n")

    diff = diff_rules(current, new, prune=True)

    assert (diff.added, diff.changed, diff.unchanged, diff.removed) == (["New"], ["Edit"], ["Keep"], ["Gone"])
    assert [w["Id"] for w in diff.writes] == ["Edit", "New"]
    assert len(diff.rejected) == 1
    assert diff_rules(current, new).removed == []  # without prune nothing is deleted


def test_counts_per_pattern_add_up_over_hosts_and_statuses():
    assert by_pattern([("a", "P", 200, 2), ("b", "P", 404, 3), ("a", "Q", 200, 1)]) == {"P": 5, "Q": 1}

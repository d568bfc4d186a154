"""URL-pattern rules: validation, precedence and matching, run through the real aggregation SQL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from edgesense.aggregate import Aggregator, ReadOptions, SourceFile
from edgesense.rules import MAX_REGEX_BYTES, SAMPLE_RULES, read_csv_rules, sample_rule_set, validate_items


def pattern_of(tmp_path: Path, path: str, rules) -> str:
    line = json.dumps({"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": "h", "reqPath": path})
    f = tmp_path / "one.gz"
    f.write_bytes(gzip.compress(line.encode()))
    with Aggregator() as agg:
        agg.process([SourceFile(f, "k")], rules)
        return agg.minute_metrics()[0]["url_pattern"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/test_productbrand_3001050747.html", "Productbrand", id="brand-beats-product-by-rank"),
        pytest.param("/test_index_c123456.html", "Category", id="category"),
        pytest.param("/test_product_123456.html", "Product", id="product"),
        pytest.param("/product-overview/shoes", "ProductOverview", id="anchored"),
        pytest.param("/json/checkout/api.js", "Api", id="api"),
        pytest.param("/somewhere/else", "Unmatched", id="unmatched"),
        pytest.param("/a/product-overview/x", "Unmatched", id="anchor-respected"),
    ],
)
def test_the_originals_sample_rules_name_paths_by_ascending_rank(tmp_path, path, expected):
    assert pattern_of(tmp_path, path, sample_rule_set()) == expected


def test_a_rule_matches_anywhere_in_the_percent_decoded_path_but_not_the_query(tmp_path):
    rules = validate_items(
        [{"Id": "Space", "Regex": "a b", "Rank": 1}, {"Id": "Q", "Regex": "secret", "Rank": 2}]
    )
    assert pattern_of(tmp_path, "/x/a%20b/y", rules) == "Space"
    line = json.dumps({"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": "h", "reqPath": "/p",
                       "queryStr": "secret=1"})  # fmt: skip
    f = tmp_path / "q.gz"
    f.write_bytes(gzip.compress(line.encode()))
    with Aggregator() as agg:
        agg.process([SourceFile(f, "k")], rules)
        assert agg.minute_metrics()[0]["url_pattern"] == "Unmatched"


def test_equal_ranks_are_broken_by_id(tmp_path):
    rules = validate_items(
        [{"Id": "Zeta", "Regex": "x", "Rank": 1}, {"Id": "Alpha", "Regex": "x", "Rank": 1}]
    )
    assert [r.id for r in rules.rules] == ["Alpha", "Zeta"]
    assert pattern_of(tmp_path, "/x", rules) == "Alpha"


def test_the_unmatched_name_is_configurable(tmp_path):
    line = json.dumps({"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": "h", "reqPath": "/nope"})
    f = tmp_path / "u.gz"
    f.write_bytes(gzip.compress(line.encode()))
    with Aggregator(ReadOptions(unmatched="undefined")) as agg:
        agg.process([SourceFile(f, "k")], sample_rule_set())
        assert agg.minute_metrics()[0]["url_pattern"] == "undefined"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param({"Id": "A", "Regex": "([a-z]", "Rank": 1}, "invalid RE2 regex", id="invalid"),
        pytest.param({"Id": "A", "Regex": "foo(?=bar)", "Rank": 1}, "lookaround", id="lookahead"),
        pytest.param({"Id": "A", "Regex": "(?<!x)y", "Rank": 1}, "lookaround", id="lookbehind"),
        pytest.param({"Id": "A", "Regex": r"(a)\1", "Rank": 1}, "backreferences", id="backreference"),
        pytest.param({"Id": "A", "Regex": "", "Rank": 1}, "empty regex", id="empty"),
        pytest.param(
            {"Id": "A", "Regex": "a" * (MAX_REGEX_BYTES + 1), "Rank": 1}, "longer than", id="too-long"
        ),
        pytest.param({"Id": "A", "Regex": "a", "Rank": "first"}, "is not a number", id="rank-not-numeric"),
        pytest.param({"Id": "", "Regex": "a", "Rank": 1}, "Id is empty", id="empty-id"),
        pytest.param({"Id": "Bad\tId", "Regex": "a", "Rank": 1}, "control characters", id="id-control-char"),
    ],
)
def test_a_bad_rule_is_rejected_by_name_and_never_stops_the_others(item, reason):
    rs = validate_items([item, {"Id": "Good", "Regex": "ok", "Rank": 2}])
    assert [r.id for r in rs.rules] == ["Good"]
    assert len(rs.rejected) == 1
    assert reason in rs.rejected[0].reason
    assert str(rs.rejected[0]).startswith("rule ")


def test_a_duplicate_id_is_rejected():
    rs = validate_items([{"Id": "A", "Regex": "a", "Rank": 1}, {"Id": "A", "Regex": "b", "Rank": 2}])
    assert [r.regex for r in rs.rules] == ["a"]
    assert rs.rejected[0].reason == "duplicate Id"


def test_dynamodb_typed_attributes_are_understood():
    rs = validate_items([{"Id": {"S": "A"}, "Regex": {"S": "a"}, "Rank": {"N": "1.5"}}])
    assert rs.rules[0].id == "A"
    assert rs.rules[0].rank == 1.5


def test_the_version_is_a_content_hash_independent_of_input_order():
    items = [{"Id": i, "Regex": r, "Rank": k} for i, r, k in SAMPLE_RULES]
    assert validate_items(items).version == validate_items(reversed(items)).version
    changed = [*items[:-1], {"Id": "Api", "Regex": "/json2/(.*)", "Rank": 5}]
    assert validate_items(changed).version != validate_items(items).version


def test_rules_csv_in_the_originals_format_is_read_and_a_missing_column_named():
    rs = read_csv_rules("Id,Regex,Rank\nProduct,(.*)_product_(.*),3\nApi,/json/(.*),5\n")
    assert [r.id for r in rs.rules] == ["Product", "Api"]
    with pytest.raises(ValueError, match="Rank"):
        read_csv_rules("Id,Regex\nA,b\n")


def test_rule_text_travels_as_bound_parameters_never_as_sql(tmp_path):
    """A rule whose regex looks like SQL is still only a regex."""
    rules = validate_items([{"Id": "Evil", "Regex": "x'; DROP TABLE stage; --", "Rank": 1}])
    assert rules.rules
    assert pattern_of(tmp_path, "/x'; DROP TABLE stage; --", rules) == "Evil"


def patterns_by_host(tmp_path: Path, pairs: list[tuple[str, str]], rules) -> dict[tuple[str, str], str]:
    lines = [
        json.dumps({"reqTimeSec": "1700000000", "statusCode": "200", "reqHost": h, "reqPath": p})
        for h, p in pairs
    ]
    f = tmp_path / "hosts.gz"
    f.write_bytes(gzip.compress("\n".join(lines).encode()))
    with Aggregator() as agg:
        agg.process([SourceFile(f, "k")], rules)
        rows = agg.con.execute("SELECT host, path, url_pattern FROM requests").fetchall()
    return {(h, p): u for h, p, u in rows}


def test_a_host_scoped_rule_applies_only_to_its_host_exact_or_by_regex(tmp_path):
    rules = validate_items([
        {"Id": "ShopApi", "Regex": "^/api/", "Rank": 1, "Host": "Shop.Example.com"},
        {"Id": "CdnApi", "Regex": "^/api/", "Rank": 2, "Host": r"cdn[0-9]+\.example\.com"},
        {"Id": "AnyApi", "Regex": "^/api/", "Rank": 3},
    ])  # fmt: skip
    got = patterns_by_host(tmp_path, [("shop.example.com", "/api/x"), ("cdn7.example.com", "/api/x"),
                                      ("cdn7.example.com.evil", "/api/x"), ("other.example", "/api/x")], rules)  # fmt: skip
    assert got == {
        ("shop.example.com", "/api/x"): "ShopApi",
        ("cdn7.example.com", "/api/x"): "CdnApi",
        ("cdn7.example.com.evil", "/api/x"): "AnyApi",  # a host regex must match the whole host
        ("other.example", "/api/x"): "AnyApi",
    }


def test_a_disabled_rule_is_kept_and_versioned_but_never_matches(tmp_path):
    on = validate_items([{"Id": "A", "Regex": "x", "Rank": 1}])
    off = validate_items([{"Id": "A", "Regex": "x", "Rank": 1, "Enabled": "false"}])
    assert [r.id for r in off.rules] == ["A"]
    assert off.active == ()
    assert off.version != on.version
    assert pattern_of(tmp_path, "/x", off) == "Unmatched"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param(
            {"Id": "A", "Regex": "a", "Rank": 1, "Host": "(bad"}, "Host: invalid RE2 regex", id="bad-host"
        ),
        pytest.param(
            {"Id": "A", "Regex": "a", "Rank": 1, "Enabled": "maybe"}, "is not true or false", id="enabled"
        ),
    ],
)
def test_bad_optional_attributes_reject_the_rule_by_name(item, reason):
    rs = validate_items([item])
    assert rs.rules == ()
    assert reason in rs.rejected[0].reason


def test_rules_without_optional_attributes_keep_the_version_they_had():
    """Adding Host/Enabled/Description support must not re-version existing tables."""
    assert sample_rule_set().version == "0694ca10d2c7e7c7"

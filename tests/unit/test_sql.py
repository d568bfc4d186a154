"""The SQL loader (plugins/edgesense/sql.py), the SQL files, and how the code uses them.

Values only ever reach DuckDB as bound parameters; the only text rendered into a
statement is an allow-listed identifier or a list of numbered placeholders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb
import pytest

from edgesense import sql
from helpers import ROOT

DUCKDB_DIR = ROOT / "include" / "sql" / "duckdb"
DUCKDB_FILES = sorted(p.relative_to(DUCKDB_DIR).as_posix() for p in DUCKDB_DIR.rglob("*.sql"))
CODE_FILES = sorted(
    p for folder in ("plugins", "dags") for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts
)

# SQL text built at the call site: an f-string, or a concatenation, passed to execute/sql.
DYNAMIC_SQL = [
    re.compile(r"""\.(execute|sql)\(\s*f["']"""),
    re.compile(r"""\.(execute|sql)\([^)]*\+"""),
]


def test_there_are_duckdb_sql_files():
    assert len(DUCKDB_FILES) >= 10


@pytest.mark.parametrize("name", DUCKDB_FILES)
def test_every_duckdb_sql_file_loads_and_parses(name):
    statements = sql.statements(f"duckdb/{name}", rule_count=2)

    assert statements, f"{name} has no statement"
    con = duckdb.connect()
    try:
        for stmt in statements:
            assert "{{" not in stmt
            assert "}}" not in stmt
            assert len(con.extract_statements(stmt)) == 1, stmt
    finally:
        con.close()


@pytest.mark.parametrize("name", DUCKDB_FILES)
def test_every_duckdb_sql_file_opens_by_naming_what_it_reads_and_writes(name):
    first = (DUCKDB_DIR / name).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("-- Reads: "), first
    assert ". Writes: " in first, first


def test_the_sql_is_grouped_by_purpose_and_every_macro_lives_in_macros_sql():
    folders = {p.parent.relative_to(DUCKDB_DIR).as_posix() for p in DUCKDB_DIR.rglob("*.sql")}
    assert folders == {".", "ingest", "archive", "line", "relabel", "cli", "ops"}
    with_macros = [n for n in DUCKDB_FILES if "MACRO" in (DUCKDB_DIR / n).read_text(encoding="utf-8")]
    assert with_macros == ["macros.sql"]


def test_a_rule_cases_slot_needs_a_rule_count():
    with pytest.raises(KeyError, match="rule_count"):
        sql.load("duckdb/match_patterns.sql")


def test_no_rules_still_give_a_valid_case():
    text = sql.load("duckdb/match_patterns.sql", rule_count=0)

    assert "WHEN false THEN NULL" in text
    assert "$rule_" not in text


def test_a_name_outside_the_sql_folder_is_refused():
    with pytest.raises(ValueError, match="escapes"):
        sql.load("../../pyproject.toml")


@pytest.mark.parametrize("value", sorted(sql.ALLOWED_IDENTIFIERS))
def test_check_identifier_accepts_the_allow_list(value):
    assert sql.check_identifier(value) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("requests; DROP TABLE x", id="injection"),
        pytest.param("requests --", id="comment"),
        pytest.param('"requests"', id="quoted"),
        pytest.param("Requests", id="case"),
        pytest.param("requests ", id="trailing-space"),
        pytest.param("users", id="valid-but-not-allowed"),
        pytest.param("", id="empty"),
    ],
)
def test_check_identifier_refuses_anything_not_in_the_allow_list(value):
    with pytest.raises(ValueError, match="allow-list"):
        sql.check_identifier(value)


def test_rule_cases_holds_only_numbered_placeholders():
    text = sql.rule_cases(3)
    lines = text.splitlines()

    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line == (
            f"WHEN ($rule_hostexact_{i} IS NULL OR host = $rule_hostexact_{i})"
            f" AND ($rule_hostre_{i} IS NULL OR regexp_full_match(host, $rule_hostre_{i}))"
            f" AND regexp_matches(decoded_path, $rule_regex_{i}) THEN $rule_id_{i}"
        )
    kinds = ("regex", "id", "hostexact", "hostre")
    assert set(re.findall(r"\$\w+", text)) == {f"$rule_{k}_{i}" for k in kinds for i in range(3)}
    assert "'" not in text
    assert '"' not in text


def test_rule_cases_renders_into_match_patterns_as_placeholders():
    text = sql.load("duckdb/match_patterns.sql", rule_count=3)

    assert sql.rule_cases(3) in text
    assert "$rule_regex_2" in text
    assert "$rule_regex_3" not in text


@pytest.mark.parametrize("count", [0, 1, 50])
def test_rule_cases_has_one_when_per_rule(count):
    assert sql.rule_cases(count).count("WHEN ") == count


def test_rule_cases_refuses_a_negative_count():
    with pytest.raises(ValueError, match="count"):
        sql.rule_cases(-1)


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param('con.execute(f"SELECT * FROM {table}")', id="f-string"),
        pytest.param("con.sql( f'SELECT {x}')", id="f-string-spaced"),
        pytest.param('con.execute("SELECT * FROM " + table)', id="concat"),
        pytest.param('con.sql(\n    "SELECT " +\n    col\n)', id="concat-multiline"),
    ],
)
def test_the_dynamic_sql_guard_catches_built_sql(snippet):
    """The guard below is only worth something if its patterns match the bad cases."""
    assert any(p.search(snippet) for p in DYNAMIC_SQL)


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param('con.execute("SELECT $a", {"a": 1})', id="bound"),
        pytest.param('con.sql(sql.load("duckdb/x.sql"))', id="loaded"),
    ],
)
def test_the_dynamic_sql_guard_lets_bound_sql_through(snippet):
    assert not any(p.search(snippet) for p in DYNAMIC_SQL)


def test_no_code_builds_sql_with_f_strings_or_concatenation():
    assert CODE_FILES
    offenders = []
    for path in CODE_FILES:
        text = path.read_text(encoding="utf-8")
        for pattern in DYNAMIC_SQL:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)[:80]!r}")

    assert not offenders, "SQL built from strings:\n" + "\n".join(offenders)


def test_the_core_modules_import_without_airflow_or_boto3():
    """The CLI and the DuckDB core must run where neither Airflow nor boto3 is installed."""
    code = (
        "import sys\n"
        "import edgesense.aggregate, edgesense.rules, edgesense.formats\n"
        "import edgesense.metrics, edgesense.cli, edgesense.config\n"
        "bad = sorted(m for m in ('airflow', 'boto3', 'botocore') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = "plugins"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr

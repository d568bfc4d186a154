"""The Athena SQL shipped for users: the table DDL and the example queries.

Athena cannot run here (moto executes no SQL), so these checks are textual: the DDL must
declare the columns the Parquet writer produces, in order, and every example query must
prune partitions by ``dt`` and read only the two edgesense tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgesense.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
ATHENA_DIR = ROOT / "include" / "sql" / "athena"
QUERY_DIR = ATHENA_DIR / "queries"
QUERY_FILES = sorted(QUERY_DIR.glob("*.sql"))
#: The tables the example queries may read.
QUERIED_TABLES = {"requests", "minute_metrics"}

_LINE_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")


def _code(sql: str) -> str:
    """The SQL without comments and with string literals emptied."""
    return _STRING.sub("''", _LINE_COMMENT.sub("", sql))


def _referenced_tables(sql: str) -> set[str]:
    code = _code(sql)
    code = re.sub(r"\bextract\s*\(\s*\w+\s+from\b", "extract(", code, flags=re.IGNORECASE)
    ctes = {m.lower() for m in re.findall(r"(?:\bwith|,)\s*(\w+)\s+as\s*\(", code, flags=re.IGNORECASE)}
    names = re.findall(r"\b(?:from|join)\s+([A-Za-z_][\w.]*)", code, flags=re.IGNORECASE)
    return {n.lower().removeprefix("edgesense.") for n in names} - ctes - {"unnest"}


def _columns(ddl: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(columns, partition keys) of a CREATE EXTERNAL TABLE statement."""
    code = _code(ddl)
    code = re.sub(r"\bcomment\s+''", "", code, flags=re.IGNORECASE)
    m = re.search(
        r"create\s+external\s+table\s+if\s+not\s+exists\s+\w+\s*\((?P<cols>.*?)\)\s*"
        r"partitioned\s+by\s*\((?P<parts>.*?)\)",
        code,
        flags=re.IGNORECASE | re.DOTALL,
    )
    assert m, "no CREATE EXTERNAL TABLE IF NOT EXISTS ... PARTITIONED BY (...)"

    def pairs(text: str) -> list[tuple[str, str]]:
        return [tuple(part.split()) for part in text.split(",") if part.strip()]

    return pairs(m["cols"]), pairs(m["parts"])


def test_there_is_one_query_per_example_question_of_the_original():
    assert [p.name[:3] for p in QUERY_FILES] == [f"{i:02d}_" for i in range(1, 16)]
    assert QUERY_FILES[0].name == "01_top_client_ips.sql"
    assert QUERY_FILES[-1].name == "15_requests_to_one_url_per_hour.sql"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_has_a_header_comment_and_a_body(path):
    sql = path.read_text(encoding="utf-8")
    assert sql.strip(), "empty file"
    first = sql.lstrip().splitlines()[0]
    assert first.startswith("--"), "no header comment"
    assert "question" in first.lower()
    assert re.search(r"\bselect\b", _code(sql), flags=re.IGNORECASE)


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_prunes_partitions_by_dt(path):
    """Without a dt predicate Athena scans (and bills) every partition of the table."""
    code = _code(path.read_text(encoding="utf-8"))
    assert re.search(r"\bdt\s+(?:between|like|in|=|>=|>|<=|<)", code, flags=re.IGNORECASE)


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_reads_only_the_edgesense_tables(path):
    tables = _referenced_tables(path.read_text(encoding="utf-8"))
    assert tables, "no table referenced"
    assert tables <= QUERIED_TABLES


@pytest.mark.parametrize("name", ["13_errors_by_url_pattern", "14_total_counts_by_hour_per_metric"])
def test_the_aggregated_table_questions_use_minute_metrics(name):
    assert _referenced_tables((QUERY_DIR / f"{name}.sql").read_text(encoding="utf-8")) == {"minute_metrics"}


def test_query_readme_lists_every_file():
    readme = (QUERY_DIR / "README.md").read_text(encoding="utf-8")
    for path in QUERY_FILES:
        assert f"`{path.name}`" in readme


@pytest.mark.parametrize("table", sorted(TABLES))
def test_create_table_declares_the_parquet_columns_in_order(table):
    """The DDL against edgesense.tables.TABLES, the one source of the schemas (Glue is made from it)."""
    expected = [(name, type_) for name, type_, _ in TABLES[table]]
    ddl = (ATHENA_DIR / f"create_table_{table}.sql").read_text(encoding="utf-8")
    columns, partitions = _columns(ddl)
    assert [name for name, _ in columns] == [name for name, _ in expected]
    assert [(name, type_.lower()) for name, type_ in columns] == expected
    assert partitions == [("dt", "string"), ("hour", "string")]
    assert re.search(r"\bstored\s+as\s+parquet\b", ddl, flags=re.IGNORECASE)
    assert f"LOCATION 's3://${{store_bucket}}/{table}/'" in ddl
    header = "\n".join(line for line in ddl.splitlines() if line.startswith("--"))
    assert "Glue API" in header
    assert "MSCK REPAIR TABLE" in header


def test_create_database_is_idempotent():
    sql = _code((ATHENA_DIR / "create_database.sql").read_text(encoding="utf-8"))
    assert re.fullmatch(r"\s*CREATE DATABASE IF NOT EXISTS edgesense;\s*", sql)

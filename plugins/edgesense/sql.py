"""Load SQL from ``include/sql`` and render the few templated identifiers safely.

Values are always bound parameters (``$name`` in DuckDB). The only text substituted
into a statement is:

* an identifier, written ``{{ident:name}}`` in the file, checked against an allow-list;
* a generated list of numbered placeholders (``{{rule_cases}}``), built from integers
  only, so that ranked rules compile as constants (see performance notes) while the
  rule text itself still travels as bound values.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SLOT = re.compile(r"\{\{\s*(ident:)?([a-z_]+)\s*\}\}")

#: Identifiers a statement may be rendered with. Anything else is refused.
ALLOWED_IDENTIFIERS: frozenset[str] = frozenset({"requests", "minute_metrics", "unmatched_paths"})


def sql_dir() -> Path:
    """Where the SQL files live: ``EDGESENSE_SQL_DIR``, else next to the package or the repo."""
    env = os.environ.get("EDGESENSE_SQL_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates += [
        here / "sql",  # bundled inside the package (MWAA plugins.zip)
        here.parents[1] / "include" / "sql",  # repository checkout: plugins/edgesense -> include/sql
        Path.cwd() / "include" / "sql",
    ]
    for c in candidates:
        if (c / "duckdb").is_dir():
            return c
    raise FileNotFoundError(f"include/sql not found; looked in {', '.join(map(str, candidates))}")


@cache
def _read(name: str) -> str:
    path = (sql_dir() / name).resolve()
    if sql_dir().resolve() not in path.parents:
        raise ValueError(f"SQL name escapes the SQL folder: {name}")
    return path.read_text(encoding="utf-8")


def check_identifier(value: str) -> str:
    if value not in ALLOWED_IDENTIFIERS or not _IDENT.match(value):
        raise ValueError(f"identifier {value!r} is not in the allow-list")
    return value


def rule_cases(count: int, prefix: str = "rule") -> str:
    """One ``WHEN <host scope> AND regexp_matches(decoded_path, $rule_regex_N) THEN $rule_id_N`` per rule.

    Built from integers only: rule text, ids and host scopes are bound parameters
    (``rule_regex_N``, ``rule_id_N``, ``rule_hostexact_N``, ``rule_hostre_N``).
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    p = prefix
    return "\n".join(
        f"WHEN (${p}_hostexact_{i} IS NULL OR host = ${p}_hostexact_{i})"
        f" AND (${p}_hostre_{i} IS NULL OR regexp_full_match(host, ${p}_hostre_{i}))"
        f" AND regexp_matches(decoded_path, ${p}_regex_{i}) THEN ${p}_id_{i}"
        for i in range(count)
    )


def load(name: str, *, rule_count: int | None = None, **identifiers: str) -> str:
    """Return the statement in ``include/sql/<name>`` with its slots filled."""
    text = _read(name)

    def fill(m: re.Match[str]) -> str:
        is_ident, slot = m.group(1), m.group(2)
        if is_ident:
            if slot not in identifiers:
                raise KeyError(f"{name}: identifier slot {slot!r} not given")
            return check_identifier(identifiers[slot])
        if slot == "rule_cases":
            if rule_count is None:
                raise KeyError(f"{name}: rule_count not given")
            # A CASE needs at least one WHEN; a never-true one keeps the SQL valid with no rules.
            return rule_cases(rule_count) or "WHEN false THEN NULL"
        raise KeyError(f"{name}: unknown slot {slot!r}")

    return _SLOT.sub(fill, text)


def statements(name: str, **kwargs: str) -> list[str]:
    """Split a multi-statement file on ``;`` at line ends (our files never put ``;`` in strings)."""
    text = load(name, **kwargs)
    parts = re.split(r";\s*(?:\n|$)", text)
    out = []
    for p in parts:
        body = "\n".join(line for line in p.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            out.append(p.strip())
    return out

"""URL-pattern rules: the model, validation, snapshots and the original's samples.

A rule is the original's DynamoDB item, ``Id`` (S), ``Regex`` (S), ``Rank`` (N). Rules are
applied by ascending Rank (ties by Id); the first whose regex matches anywhere in the
percent-decoded path wins.

Regexes are RE2, the dialect DuckDB evaluates, so validation compiles each one with
DuckDB itself: what passes here is exactly what the aggregation accepts, and nothing
can backtrack exponentially.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from edgesense.metrics import dimension_value_problem

MAX_REGEX_BYTES = 4096
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_LOOKAROUND = re.compile(r"\(\?<?[=!]")
_BACKREF = re.compile(r"(?<!\\)(?:\\\\)*\\(?:[1-9]|k<|k\{|g\{|g<)")

#: The original's Init function seeded these (Id, Regex, Rank).
SAMPLE_RULES: tuple[tuple[str, str, int], ...] = (
    ("Productbrand", "(.*)productbrand_(.*).html(.*)", 1),
    ("Category", "(.*)index_c(.*).html", 2),
    ("Product", "(.*)_product_(.*)", 3),
    ("ProductOverview", "^/product-overview/(.*)", 4),
    ("Api", "/json/(.*)", 5),
)


@dataclass(frozen=True, order=True)
class Rule:
    rank: float
    id: str
    regex: str = field(compare=False)
    #: Only requests to this host: an exact name, or an RE2 regex matched against the whole host.
    host: str = field(default="", compare=False)
    enabled: bool = field(default=True, compare=False)
    description: str = field(default="", compare=False)

    @property
    def host_exact(self) -> str | None:
        return self.host.lower() if self.host and _PLAIN_HOST.fullmatch(self.host) else None

    @property
    def host_regex(self) -> str | None:
        return self.host if self.host and not _PLAIN_HOST.fullmatch(self.host) else None

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item; optional attributes only when set, so original tables hash the same."""
        item: dict[str, Any] = {"Id": self.id, "Regex": self.regex, "Rank": _rank_out(self.rank)}
        if self.host:
            item["Host"] = self.host
        if not self.enabled:
            item["Enabled"] = False
        if self.description:
            item["Description"] = self.description
        return item


@dataclass(frozen=True)
class Rejection:
    rule_id: str
    reason: str

    def __str__(self) -> str:
        return f"rule {self.rule_id!r}: {self.reason}"


@dataclass(frozen=True)
class RuleSet:
    """Validated rules in match order, plus what was rejected and why."""

    rules: tuple[Rule, ...]
    rejected: tuple[Rejection, ...] = ()

    @property
    def active(self) -> tuple[Rule, ...]:
        """The enabled rules, in match order."""
        return tuple(r for r in self.rules if r.enabled)

    @property
    def version(self) -> str:
        """Content hash: the same rules give the same version, whatever order they came in."""
        body = json.dumps([r.to_item() for r in self.rules], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "rules": [r.to_item() for r in self.rules],
            "rejected": [asdict(r) for r in self.rejected],
        }

    @classmethod
    def from_snapshot(cls, doc: Mapping[str, Any]) -> RuleSet:
        rs = validate_items(doc.get("rules", []))
        rejected = tuple(Rejection(**r) for r in doc.get("rejected", ())) + rs.rejected
        return cls(rules=rs.rules, rejected=rejected)

    def params(self, prefix: str = "rule") -> dict[str, str | None]:
        """Bound parameters for the ``{{rule_cases}}`` slot of the aggregation SQL."""
        out: dict[str, str | None] = {}
        for i, r in enumerate(self.active):
            out[f"{prefix}_regex_{i}"] = r.regex
            out[f"{prefix}_id_{i}"] = r.id
            out[f"{prefix}_hostexact_{i}"] = r.host_exact
            out[f"{prefix}_hostre_{i}"] = r.host_regex
        return out


def _rank_out(rank: float) -> int | float:
    return int(rank) if float(rank).is_integer() else rank


def _attr(item: Mapping[str, Any], name: str) -> Any:
    """Read an attribute from a plain item, a CSV row, or DynamoDB's typed JSON ({"S": ...})."""
    v = item.get(name)
    if isinstance(v, Mapping) and len(v) == 1:
        v = next(iter(v.values()))
    return v


def regex_problem(regex: str) -> str | None:
    """Why ``regex`` cannot be used, or None if it compiles as RE2."""
    if regex is None or regex == "":
        return "empty regex"
    if len(regex.encode("utf-8")) > MAX_REGEX_BYTES:
        return f"regex is longer than {MAX_REGEX_BYTES} bytes"
    if _LOOKAROUND.search(regex):
        return "lookaround assertions ((?=, (?!, (?<=, (?<!) are not supported by RE2"
    if _BACKREF.search(regex):
        return "backreferences are not supported by RE2"
    import duckdb  # local: keeps `import edgesense.rules` cheap

    from edgesense import sql

    try:
        duckdb.execute(sql.load("duckdb/cli/regex_check.sql"), {"re": regex}).fetchone()
    except duckdb.Error as exc:
        msg = str(exc).split("\n", 1)[0]
        return f"invalid RE2 regex: {msg}"
    return None


def validate_items(items: Iterable[Mapping[str, Any]]) -> RuleSet:
    """Validate raw items; a bad rule is rejected with its reason and never stops the others."""
    good: list[Rule] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        rid = _attr(item, "Id")
        rid = str(rid) if rid is not None else ""
        label = rid or f"#{n}"
        problem = dimension_value_problem(rid)
        if problem:
            rejected.append(Rejection(label, f"Id {problem}"))
            continue
        if rid in seen:
            rejected.append(Rejection(rid, "duplicate Id"))
            continue
        seen.add(rid)
        raw_rank = _attr(item, "Rank")
        try:
            rank = float(Decimal(str(raw_rank).strip()))
            if rank != rank or rank in (float("inf"), float("-inf")):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            rejected.append(Rejection(rid, f"Rank {raw_rank!r} is not a number"))
            continue
        regex = _attr(item, "Regex")
        problem = regex_problem("" if regex is None else str(regex))
        if problem:
            rejected.append(Rejection(rid, problem))
            continue
        host = str(_attr(item, "Host") or "").strip()
        if host and not _PLAIN_HOST.fullmatch(host) and (problem := regex_problem(host)):
            rejected.append(Rejection(rid, f"Host: {problem}"))
            continue
        enabled = _attr(item, "Enabled")
        if isinstance(enabled, str) and enabled.strip() == "":
            enabled = None
        if enabled is not None and not isinstance(enabled, bool):
            text = str(enabled).strip().lower()
            if text not in _TRUE | _FALSE:
                rejected.append(Rejection(rid, f"Enabled {enabled!r} is not true or false"))
                continue
            enabled = text in _TRUE
        description = str(_attr(item, "Description") or "")
        good.append(Rule(rank=rank, id=rid, regex=str(regex), host=host,
                         enabled=True if enabled is None else enabled, description=description))  # fmt: skip
    return RuleSet(rules=tuple(sorted(good)), rejected=tuple(rejected))


#: The original's CSV columns, and the optional ones edgesense adds.
CSV_COLUMNS = ("Id", "Regex", "Rank")
OPTIONAL_COLUMNS = ("Host", "Enabled", "Description")


def read_csv_rules(text: str) -> RuleSet:
    """Rules from the original's CSV: header ``Id,Regex,Rank``, optionally Host, Enabled, Description."""
    reader = csv.DictReader(io.StringIO(text))
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"rules CSV lacks column(s) {', '.join(sorted(missing))}; expected Id,Regex,Rank")
    return validate_items(reader)


def csv_text(rules: Iterable[Rule]) -> str:
    """The original's CSV (``Id,Regex,Rank``), plus optional columns only if a rule uses them."""
    rules = list(rules)
    extra = [c for c in OPTIONAL_COLUMNS if any(c in r.to_item() for r in rules)]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=[*CSV_COLUMNS, *extra], lineterminator="\n")
    w.writeheader()
    for r in rules:
        w.writerow({k: ("false" if v is False else v) for k, v in r.to_item().items()})
    return out.getvalue()


def sample_rule_set() -> RuleSet:
    return validate_items({"Id": i, "Regex": r, "Rank": k} for i, r, k in SAMPLE_RULES)

"""What a change of rules does, before it is made: the import's changes, which rules match
a path, and the counts per pattern with the current and a new rule set.

Core only (DuckDB and local files): the CLI's ``rules`` verbs print these, and tests call
them directly. Matching runs ``match_patterns.sql``, the aggregation's own SQL, so that
what ``edgesense rules test`` says is what the pipeline does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgesense.duck import Session
from edgesense.relabel import History
from edgesense.rules import RuleSet, validate_items


@dataclass(frozen=True)
class RulesDiff:
    """What writing a rule set into the table changes, by rule id."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    #: The items to write (added and changed), in the CSV's order.
    writes: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"added {len(self.added)}, changed {len(self.changed)}, unchanged {len(self.unchanged)}, "
            f"removed {len(self.removed)}, rejected {len(self.rejected)}"
        ]
        out += [f"  + {i}" for i in self.added] + [f"  ~ {i}" for i in self.changed]
        out += [f"  - {i}" for i in self.removed] + [f"  ! {r}" for r in self.rejected]
        return out


def diff_rules(current_items: Iterable[Mapping[str, Any]], new: RuleSet, *, prune: bool = False) -> RulesDiff:
    """The changes from the table's items to ``new``; ``prune`` also removes rules not in it."""
    current = {r.id: r.to_item() for r in validate_items(current_items).rules}
    diff = RulesDiff(rejected=[str(r) for r in new.rejected])
    for r in new.rules:
        item = r.to_item()
        if r.id not in current:
            diff.added.append(r.id)
        elif current[r.id] != item:
            diff.changed.append(r.id)
        else:
            diff.unchanged.append(r.id)
            continue
        diff.writes.append(item)
    if prune:
        wanted = {r.id for r in new.rules} | {r.rule_id for r in new.rejected}
        diff.removed.extend(sorted(set(current) - wanted))
    return diff


def which_rules_match(rules: RuleSet, path: str, host: str = "", *, unmatched: str = "Unmatched"
                      ) -> tuple[str | None, list[str]]:  # fmt: skip
    """(winning rule id, every enabled rule that matches) for a request's path and host.

    ``path`` is the request's path as the CDN logs it (a query string after ``?`` is
    dropped: the logs carry it in a field of its own). Each rule is tried alone, and the
    whole set once for the winner, all through the aggregation's ``match_patterns.sql``.
    """
    with Session(threads=1, memory_limit="256MB") as s:
        s.con.execute("CREATE TEMP TABLE paths_to_name AS SELECT req_host($host) AS host, req_path($path) AS path_raw",
                      {"host": host or None, "path": path.split("?", 1)[0]})  # fmt: skip

        def winner(rs: RuleSet) -> str | None:
            s.run("match_patterns.sql", {"unmatched": unmatched, **rs.params()}, rule_count=len(rs.active))
            got = s.con.execute("SELECT url_pattern FROM path_patterns").fetchall()[0][0]
            return None if got == unmatched else got

        hits = [r.id for r in rules.active if winner(RuleSet((r,))) == r.id]
        return winner(rules) if hits else None, hits


@dataclass(frozen=True)
class DryRun:
    """Requests per pattern under the current and the new rules, and the top unmatched paths of each."""

    current: RuleSet
    new: RuleSet
    before: dict[str, int]
    after: dict[str, int]
    top_before: list[tuple[str, str, int]]
    top_after: list[tuple[str, str, int]]

    @property
    def requests(self) -> int:
        return sum(self.before.values())

    def changes(self) -> list[tuple[str, int, int]]:
        """(pattern, before, after), the biggest change first."""
        names = set(self.before) | set(self.after)
        rows = [(p, self.before.get(p, 0), self.after.get(p, 0)) for p in names]
        return sorted(rows, key=lambda r: (-abs(r[2] - r[1]), r[0]))


def dry_run(history: History, current: RuleSet, new: RuleSet, *, top: int) -> DryRun:
    before, top_before = by_pattern(history.label(current).counts()), history.top_unmatched(top)
    after, top_after = by_pattern(history.label(new).counts()), history.top_unmatched(top)
    return DryRun(current, new, before, after, top_before, top_after)


def by_pattern(counts: Iterable[tuple[str, str, int, int]]) -> dict[str, int]:
    """Requests per pattern from (host, pattern, status, requests) counts."""
    out: dict[str, int] = {}
    for _, pattern, _, n in counts:
        out[pattern] = out.get(pattern, 0) + n
    return out

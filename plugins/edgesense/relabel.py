"""Re-label history: ``minute_metrics`` recomputed from ``requests`` Parquet with other rules.

Core only (DuckDB, local files). Each original batch's minute_metrics file is rebuilt
under the same name, so re-labelling replaces rather than adds, and running it twice
gives the same files.
"""

from __future__ import annotations

from pathlib import Path

from edgesense.aggregate import Aggregator
from edgesense.rules import RuleSet


def relabel(files: list[Path], rules: RuleSet, out_dir: Path, *, unmatched: str, threads: int = 2,
            memory_limit: str = "1GB") -> dict[str, Path]:  # fmt: skip
    """Write new minute_metrics for the requests in ``files``; returns {relative S3 key: local file}."""
    with Aggregator(threads=threads, memory_limit=memory_limit, unmatched=unmatched) as agg:
        agg.run("relabel_load.sql", {"files": [str(f) for f in files]})
        params = {"unmatched": unmatched, **rules.params()}
        agg.run("relabel_patterns.sql", params, rule_count=len(rules.active))
        agg.run("relabel_minute_metrics.sql", {"rules_version": rules.version})
        staging = out_dir / "staging"
        rel = agg.con.table("minute_metrics")
        if rel.aggregate("count(*)").fetchall()[0][0] == 0:
            return {}
        staging.mkdir(parents=True, exist_ok=True)
        rel.to_parquet(str(staging), partition_by=["dt", "hour", "file_batch"], filename_pattern="part-{i}",
                       overwrite=True, compression="zstd")  # fmt: skip
    written: dict[str, Path] = {}
    for f in sorted(staging.rglob("*.parquet")):
        parts = dict(p.split("=", 1) for p in f.relative_to(staging).parts[:-1])
        index = f.stem.rsplit("-", 1)[-1]
        key = (
            f"minute_metrics/dt={parts['dt']}/hour={parts['hour']}/part-{parts['file_batch']}-{index}.parquet"
        )
        written[key] = f
    return written


class History:
    """Requests (from Parquet or from local log files) to evaluate rule sets against."""

    def __init__(self, *, unmatched: str, threads: int = 2, memory_limit: str = "1GB") -> None:
        self.agg = Aggregator(threads=threads, memory_limit=memory_limit, unmatched=unmatched)
        self.unmatched = unmatched

    @classmethod
    def from_parquet(cls, files: list[Path], **kw) -> History:
        h = cls(**kw)
        h.agg.run("relabel_load.sql", {"files": [str(f) for f in files]})
        return h

    @classmethod
    def from_logs(cls, files: list[Path], **kw) -> History:
        from edgesense.aggregate import SourceFile

        h = cls(**kw)
        h.agg.process([SourceFile(f, str(f)) for f in files], RuleSet(()))
        h.agg.run("history_from_stage.sql")
        return h

    def counts(self, rules: RuleSet) -> list[tuple[str, str, int, int]]:
        """(host, pattern, status, requests) under ``rules``."""
        self.agg.run("relabel_patterns.sql", {"unmatched": self.unmatched, **rules.params()},
                     rule_count=len(rules.active))  # fmt: skip
        return self.agg.run("relabel_counts.sql").fetchall()

    def top_unmatched(self, rules: RuleSet, top: int) -> list[tuple[str, str, int]]:
        self.agg.run("relabel_patterns.sql", {"unmatched": self.unmatched, **rules.params()},
                     rule_count=len(rules.active))  # fmt: skip
        return self.agg.run("relabel_unmatched.sql", {"unmatched": self.unmatched, "top": top}).fetchall()

    def close(self) -> None:
        self.agg.close()

"""Re-label history: requests (Parquet or local log files) named again with other rules.

Core only (DuckDB, local files). Used by the ``edgesense_relabel`` DAG, which rebuilds each
original batch's minute_metrics file under the same name (re-labelling replaces rather
than adds, and running it twice gives the same files), and by ``edgesense rules
dry-run``/``cost``, which compare rule sets on the same requests.
"""

from __future__ import annotations

from pathlib import Path

from edgesense.aggregate import Aggregator, ReadOptions, SourceFile
from edgesense.duck import Session
from edgesense.rules import RuleSet


class History:
    """Requests to evaluate rule sets against. ``label()`` names every distinct (host, path)
    once; the queries after it read that labelling."""

    def __init__(self, *, unmatched: str, threads: int = 2, memory_limit: str = "1GB") -> None:
        self.agg = Aggregator(ReadOptions(unmatched=unmatched), threads=threads, memory_limit=memory_limit)
        self.unmatched = unmatched
        self.rules: RuleSet | None = None

    @classmethod
    def from_parquet(cls, files: list[Path], **kw) -> History:
        h = cls(**kw)
        h.agg.run("relabel/relabel_load.sql", {"files": [str(f) for f in files]})
        return h

    @classmethod
    def from_logs(cls, files: list[Path], **kw) -> History:
        h = cls(**kw)
        h.agg.process([SourceFile(f, str(f)) for f in files], RuleSet(()))
        h.agg.run("relabel/history_from_stage.sql")
        return h

    def label(self, rules: RuleSet) -> History:
        self.agg.run("relabel/relabel_patterns.sql", {"unmatched": self.unmatched, **rules.params()},
                     rule_count=len(rules.active))  # fmt: skip
        self.rules = rules
        return self

    def counts(self) -> list[tuple[str, str, int, int]]:
        """(host, pattern, status, requests) under the current labelling."""
        return self.agg.run("relabel/relabel_counts.sql").fetchall()

    def top_unmatched(self, top: int) -> list[tuple[str, str, int]]:
        return self.agg.run(
            "relabel/relabel_unmatched.sql", {"unmatched": self.unmatched, "top": top}
        ).fetchall()

    def write_minute_metrics(self, out_dir: Path) -> dict[str, Path]:
        """minute_metrics under the current labelling, one file per original batch.

        Returns {S3 key: local file}, keys named like the ingest DAG's own files.
        """
        assert self.rules is not None, "label() first"
        self.agg.run("relabel/relabel_minute_metrics.sql", {"rules_version": self.rules.version})
        self.agg.run("line/minute_metrics.sql")
        rel = self.agg.con.sql("SELECT *, batch_id AS file_batch FROM minute_metrics")
        if rel.shape[0] == 0:
            return {}
        staging = out_dir / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        rel.to_parquet(str(staging), partition_by=["dt", "hour", "file_batch"], filename_pattern="part-{i}",
                       overwrite=True, compression="zstd")  # fmt: skip
        written: dict[str, Path] = {}
        for f in sorted(staging.rglob("*.parquet")):
            parts = dict(p.split("=", 1) for p in f.relative_to(staging).parts[:-1])
            index = f.stem.rsplit("-", 1)[-1]
            key = f"minute_metrics/dt={parts['dt']}/hour={parts['hour']}/part-{parts['file_batch']}-{index}.parquet"
            written[key] = f
        return written

    def close(self) -> None:
        self.agg.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def top_unmatched_of_day(files: list[Path], top: int) -> list[tuple[str, str, int]]:
    """The top unmatched (host, path, requests) of a day's ``unmatched_paths`` files."""
    if not files:
        return []
    with Session(threads=2, memory_limit="1GB") as s:
        return s.run("cli/unmatched_report.sql", {"files": [str(f) for f in files], "top": top}).fetchall()

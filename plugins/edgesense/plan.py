"""The contract between the aggregate and publish tasks: a batch's plan, and its summary.

A plan freezes everything CloudWatch will ever get from one batch (its PutMetricData
calls, in order) with what the batch wrote (its outputs) and a summary for people. It
is built purely from what the aggregation computed (:func:`build_plan`), stored once
(:mod:`edgesense.aws.plans`) and sent call by call (:mod:`edgesense.aws.publish`). A
plan names itself by a hash of its calls, which every ledger marker carries.

Nothing here does I/O, and nothing knows about Airflow or AWS.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edgesense.aggregate import BatchResult
from edgesense.config import Settings
from edgesense.metrics import Call, build_datums, pack, pipeline_datums, sort_datums


class PlanConflict(RuntimeError):
    """A plan or ledger that does not belong together; publishing it could double count."""


@dataclass(frozen=True)
class BatchSummary:
    """What one batch counted, for the task's return value, logs and the DAG run's XCom."""

    batch_id: str
    objects: int = 0
    requests: int = 0
    datums: int = 0
    datums_out_of_window: int = 0
    calls: int = 0
    lines_valid: int = 0
    lines_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    files_processed: int = 0
    files_rejected: list[dict[str, str]] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    rules_version: str = ""
    rules_rejected: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sentence(self) -> str:
        """The summary as a person reads it in a task log (the JSON is the task's return value)."""
        rejected = f"{self.lines_rejected:,} rejected"
        if self.lines_rejected:
            rejected += f" ({self.lines_rejected / (self.lines_valid + self.lines_rejected):.1%})"
        reasons = "; ".join(
            f"{n:,} {r}" for r, n in sorted(self.reject_reasons.items(), key=lambda kv: -kv[1])[:3]
        )
        files = f", {len(self.files_rejected)} file(s) rejected" if self.files_rejected else ""
        late = (
            f" ({self.datums_out_of_window:,} outside CloudWatch's window)"
            if self.datums_out_of_window
            else ""
        )
        return (
            f"batch {self.batch_id}: {self.objects} object(s), {self.lines_valid:,} valid line(s), {rejected}"
            f"{f' [{reasons}]' if reasons else ''}{files} -> {self.requests:,} request(s), {self.datums:,} "
            f"datum(s){late} in {self.calls} call(s); rules {self.rules_version or '?'}"
        )

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BatchSummary:
        """Lenient: a plan from an earlier version may lack fields (defaults) or carry others (dropped)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(frozen=True)
class BatchPlan:
    batch_id: str
    created_at: str
    calls: tuple[Call, ...]
    outputs: tuple[str, ...]
    summary: BatchSummary
    #: The rules snapshot the batch was aggregated with (None: a plan from before rules keys).
    rules_key: str | None = None
    #: The batch's requests were archived by the ingest DAG of earlier versions.
    legacy_requests: bool = False
    #: The hash of the calls (None: a plan from before hashes; its ledger markers carry none).
    plan_hash: str | None = None
    #: Which run stored the plan (not part of the hash): tells our own retried write from a rival's.
    writer: str | None = None

    @property
    def archived_by_ingest(self) -> bool:
        """True when the ingest of an earlier version wrote its ``requests/``: the archive leaves it alone."""
        return self.legacy_requests or any(k.startswith("requests/") for k in self.outputs)

    @property
    def metrics_outputs(self) -> tuple[str, ...]:
        """The outputs the ingest owns today (``requests/`` files of legacy plans are the archive's)."""
        return tuple(k for k in self.outputs if not k.startswith("requests/"))

    def hashed(self, writer: str) -> BatchPlan:
        return dataclasses.replace(self, plan_hash=calls_hash(self.calls), writer=writer)

    def verified(self) -> BatchPlan:
        """The plan, after checking that its calls match its hash (a plan from before hashes has none)."""
        if self.plan_hash is not None and calls_hash(self.calls) != self.plan_hash:
            raise PlanConflict(
                f"batch {self.batch_id}: the plan's calls do not match its hash {self.plan_hash}; refusing to publish"
            )
        return self

    def keeping_calls_of(self, stored: BatchPlan) -> BatchPlan:
        """This (reprocessed) plan with the stored plan's calls and hash: CloudWatch may have them already.

        Only the outputs and the rest of the summary change; a batch archived by an earlier
        ingest stays marked as such.
        """
        summary = dataclasses.replace(
            self.summary, datums=stored.summary.datums, calls=stored.summary.calls,
            datums_out_of_window=stored.summary.datums_out_of_window,
        )  # fmt: skip
        return dataclasses.replace(
            self, calls=stored.calls, summary=summary, plan_hash=stored.plan_hash,
            legacy_requests=self.legacy_requests or stored.archived_by_ingest, writer=stored.writer,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "batch_id": self.batch_id,
            "created_at": self.created_at,
            "calls": [c.to_json() for c in self.calls],
            "outputs": list(self.outputs),
            "summary": self.summary.to_json(),
        }
        optional = {"rules_key": self.rules_key, "plan_hash": self.plan_hash, "writer": self.writer,
                    "legacy_requests": self.legacy_requests or None}  # fmt: skip
        return doc | {k: v for k, v in optional.items() if v is not None}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BatchPlan:
        return cls(
            batch_id=doc["batch_id"],
            created_at=doc.get("created_at", ""),
            calls=tuple(Call.from_json(c) for c in doc["calls"]),
            outputs=tuple(doc.get("outputs", ())),
            summary=BatchSummary.from_json(doc.get("summary") or {"batch_id": doc["batch_id"]}),
            rules_key=doc.get("rules_key"),
            legacy_requests=bool(doc.get("legacy_requests")),
            plan_hash=doc.get("plan_hash"),
            writer=doc.get("writer"),
        )


def calls_hash(calls: tuple[Call, ...] | list[Call]) -> str:
    """A short content hash of a plan's calls (namespace and datums, in order)."""
    canonical = json.dumps([c.to_json() for c in calls], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Aggregated:
    """What the aggregation of one batch computed: the inputs of its plan."""

    batch_id: str
    objects: list[dict[str, Any]]
    result: BatchResult
    minute_rows: list[dict[str, Any]]
    latency_rows: list[dict[str, Any]]
    outputs: list[str]


def build_plan(
    settings: Settings, agg: Aggregated, *, now: datetime, rules_key: str | None, rules_fallback: bool = False,
    cloudwatch_rows: list[dict[str, Any]] | None = None, rolled: list[tuple[str, str]] = (),
) -> BatchPlan:  # fmt: skip
    """The batch's calls and summary, from what was computed: no I/O, so it can be tested alone.

    ``cloudwatch_rows`` are the minute rows after the cardinality budget (patterns past
    it rolled into ``Other``, those patterns in ``rolled``); by default the minute rows.
    """
    rows = agg.minute_rows if cloudwatch_rows is None else cloudwatch_rows
    datums = build_datums(rows, agg.latency_rows, shape=settings.metrics_shape,
                          unmatched=settings.effective_unmatched)  # fmt: skip
    keep, skipped = settings.cloudwatch_window.split(datums, now)
    arrivals = [datetime.fromisoformat(o["last_modified"]) for o in agg.objects]
    health = {
        "LinesProcessed": agg.result.lines_valid,
        "LinesRejected": agg.result.lines_rejected,
        "FilesProcessed": agg.result.files_processed,
        "FilesRejected": len(agg.result.files_rejected),
        "RulesRejected": len(agg.result.rules_rejected),
        "DatumsOutOfWindow": len(skipped),
        "IngestLagSeconds": max((now - t).total_seconds() for t in arrivals) if arrivals else 0.0,
    }
    if rules_fallback:
        health["RulesSnapshotFallback"] = 1
    if settings.max_patterns_per_host > 0:
        health["PatternsOverBudget"] = len(rolled)
    calls = pack(settings.effective_namespace, sort_datums(keep))
    calls += pack(settings.pipeline_namespace, pipeline_datums(health, now))
    summary = BatchSummary(
        batch_id=agg.batch_id,
        objects=len(agg.objects),
        requests=sum(r["requests"] for r in agg.minute_rows),
        datums=sum(len(c.datums) for c in calls),
        datums_out_of_window=len(skipped),
        calls=len(calls),
        **agg.result.as_report(),
    )
    return BatchPlan(batch_id=agg.batch_id, created_at=now.isoformat(), calls=tuple(calls),
                     outputs=tuple(agg.outputs), summary=summary, rules_key=rules_key)  # fmt: skip

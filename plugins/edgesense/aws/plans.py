"""Publish plans in S3: a batch has exactly one, ever.

A plan freezes the PutMetricData calls of a batch before any is sent. It is created with
``If-None-Match: *``: when two runs aggregate the same batch at once (rules may have
changed between them), the second to finish loses the write, adopts the winner's plan
and sends nothing of its own. A plan names itself by a hash of its calls; every ledger
marker carries that hash, so a publisher can tell a ledger that belongs to another plan.
A rewrite (``reprocess``) keeps the calls and is conditional on the version it read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from edgesense.aws import STATE_PREFIX, create_once, is_not_found

PLAN_PREFIX = f"{STATE_PREFIX}plans/"


class PlanConflict(RuntimeError):
    """A plan or ledger that does not belong together; publishing it could double count."""


def plan_key(bid: str) -> str:
    return f"{PLAN_PREFIX}{bid}.json.gz"


def plan_hash(calls: list[dict[str, Any]]) -> str:
    """A short content hash of a plan's calls (namespace and datums, in order)."""
    canonical = json.dumps(calls, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def check(plan: dict[str, Any], bid: str) -> str | None:
    """The plan's hash after checking it matches its calls; None for a plan from before hashes."""
    stored = plan.get("plan_hash")
    if stored is None:
        return None
    if plan_hash(plan["calls"]) != stored:
        raise PlanConflict(
            f"batch {bid}: the plan's calls do not match its hash {stored}; refusing to publish"
        )
    return stored


@dataclass(frozen=True)
class StoredPlan:
    doc: dict[str, Any]
    etag: str


class PlanStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self.s3, self.bucket = s3_client, bucket

    def get(self, bid: str) -> StoredPlan | None:
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=plan_key(bid))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        body = got["Body"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        return StoredPlan(json.loads(body), got["ETag"])

    def load(self, bid: str) -> dict[str, Any] | None:
        stored = self.get(bid)
        return stored.doc if stored else None

    def create(self, bid: str, plan: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``plan`` unless the batch already has one; return the batch's plan and whether it is ours."""
        # The writer token (not part of the hash) tells our own retried write from a rival's.
        plan = {**plan, "plan_hash": plan_hash(plan["calls"]), "writer": uuid.uuid4().hex}
        if create_once(self.s3, self.bucket, plan_key(bid), _body(plan), ContentType="application/json"):
            return plan, True
        winner = self.load(bid)
        if winner is None:  # plans are never deleted
            raise PlanConflict(f"batch {bid}: a plan exists and does not")
        return winner, winner.get("writer") == plan["writer"]

    def rewrite(self, bid: str, plan: dict[str, Any], read: StoredPlan) -> dict[str, Any]:
        """Replace outputs and summary of a plan; its calls, and so its hash, never change."""
        if plan["calls"] != read.doc["calls"]:
            raise PlanConflict(f"batch {bid}: a rewrite may not change the plan's calls")
        # A plan from before hashes stays without one: its ledger markers carry none.
        plan = {k: v for k, v in plan.items() if k != "plan_hash"}
        if read.doc.get("plan_hash"):
            plan["plan_hash"] = read.doc["plan_hash"]
        self.s3.put_object(Bucket=self.bucket, Key=plan_key(bid), Body=_body(plan), IfMatch=read.etag,
                           ContentType="application/json")  # fmt: skip
        return plan


def _body(plan: dict[str, Any]) -> bytes:
    return gzip.compress(
        json.dumps(plan, sort_keys=True, separators=(",", ":"), default=str).encode(), mtime=0
    )

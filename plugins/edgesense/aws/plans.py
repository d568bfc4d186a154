"""Publish plans in S3: a batch has exactly one, ever.

A plan (:class:`~edgesense.plan.BatchPlan`) freezes the PutMetricData calls of a batch
before any is sent. It is created with ``If-None-Match: *``: when two runs aggregate the
same batch at once (rules may have changed between them), the second to finish loses the
write, adopts the winner's plan and sends nothing of its own. A rewrite (``reprocess``)
keeps the calls and is conditional on the version it read.
"""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from edgesense.aws.s3 import STATE_PREFIX, create_once, exists, is_not_found
from edgesense.plan import BatchPlan, PlanConflict

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PLAN_PREFIX = f"{STATE_PREFIX}plans/"


def plan_key(bid: str) -> str:
    return f"{PLAN_PREFIX}{bid}.json.gz"


@dataclass(frozen=True)
class StoredPlan:
    """A plan as read, with the ETag a conditional rewrite needs."""

    plan: BatchPlan
    etag: str


class PlanStore:
    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self.s3, self.bucket = s3_client, bucket

    def get(self, bid: str) -> StoredPlan | None:
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=plan_key(bid))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        body = got["Body"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        return StoredPlan(BatchPlan.from_json(json.loads(body)), got["ETag"])

    def exists(self, bid: str) -> bool:
        """Whether the batch has a plan (a HEAD: cheaper than reading it)."""
        return exists(self.s3, self.bucket, plan_key(bid))

    def load(self, bid: str) -> BatchPlan | None:
        stored = self.get(bid)
        return stored.plan if stored else None

    def create(self, plan: BatchPlan) -> tuple[BatchPlan, bool]:
        """Store ``plan`` unless its batch already has one; return the batch's plan and whether it is ours."""
        plan = plan.hashed(writer=uuid.uuid4().hex)
        if create_once(
            self.s3, self.bucket, plan_key(plan.batch_id), _body(plan), ContentType="application/json"
        ):
            return plan, True
        winner = self.load(plan.batch_id)
        if winner is None:  # plans are never deleted
            raise PlanConflict(f"batch {plan.batch_id}: a plan exists and does not")
        return winner, winner.writer == plan.writer

    def rewrite(self, plan: BatchPlan, read: StoredPlan) -> BatchPlan:
        """Replace the outputs and summary of a stored plan; its calls, and so its hash, never change."""
        if plan.calls != read.plan.calls or plan.plan_hash != read.plan.plan_hash:
            raise PlanConflict(f"batch {plan.batch_id}: a rewrite may not change the plan's calls")
        self.s3.put_object(Bucket=self.bucket, Key=plan_key(plan.batch_id), Body=_body(plan), IfMatch=read.etag,
                           ContentType="application/json")  # fmt: skip
        return plan


def _body(plan: BatchPlan) -> bytes:
    return gzip.compress(
        json.dumps(plan.to_json(), sort_keys=True, separators=(",", ":"), default=str).encode(), mtime=0
    )

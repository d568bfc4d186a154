"""Publish a batch's plan to CloudWatch exactly once, with a ledger in S3.

CloudWatch has no idempotency key: a datum sent twice is summed twice. So a batch's
datums are frozen into a *plan* (a fixed list of PutMetricData calls) before anything
is sent, and each call that succeeds is recorded as a marker object in the ledger.
A retry, a cleared task, a re-run or a backfill replays the same plan and skips every
call that has a marker. The only window left is a worker killed between a successful
call and its marker write (milliseconds); the README says so.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from edgesense.aws import STATE_PREFIX, get_json, put_json
from edgesense.metrics import Call, to_boto

log = logging.getLogger(__name__)

PLAN_PREFIX = f"{STATE_PREFIX}plans/"
LEDGER_PREFIX = f"{STATE_PREFIX}ledger/"
RETRYABLE = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalFailure",
}


class CloudWatchMetricsHook(AwsBaseHook):
    """CloudWatch (metrics) through the amazon provider's connection handling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "cloudwatch"
        super().__init__(*args, **kwargs)

    @cached_property
    def client(self) -> Any:
        return self.get_conn()


def plan_key(bid: str) -> str:
    return f"{PLAN_PREFIX}{bid}.json.gz"


def marker_key(bid: str, index: int) -> str:
    return f"{LEDGER_PREFIX}{bid}/call-{index:05d}.done"


class Publisher:
    """Sends the calls of a plan that the ledger has not seen yet."""

    def __init__(
        self,
        cloudwatch: Any,
        s3_client: Any,
        store_bucket: str,
        *,
        base_delay: float = 0.3,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cw = cloudwatch
        self.s3 = s3_client
        self.bucket = store_bucket
        self.base_delay = base_delay
        self.max_attempts = max_attempts
        self.sleep = sleep

    def load_plan(self, bid: str) -> dict[str, Any] | None:
        return get_json(self.s3, self.bucket, plan_key(bid))

    def save_plan(self, bid: str, plan: dict[str, Any]) -> None:
        put_json(self.s3, self.bucket, plan_key(bid), plan, compress=True)

    def published(self, bid: str) -> set[int]:
        done: set[int] = set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{LEDGER_PREFIX}{bid}/"):
            for obj in page.get("Contents", ()):
                name = obj["Key"].rsplit("/", 1)[-1]
                if name.startswith("call-") and name.endswith(".done"):
                    done.add(int(name[5:10]))
        return done

    def publish(self, bid: str, plan: dict[str, Any]) -> dict[str, int]:
        calls = [Call.from_json(c) for c in plan["calls"]]
        done = self.published(bid)
        sent = skipped = datums = 0
        for i, call in enumerate(calls):
            if i in done:
                skipped += 1
                continue
            self._put(call)
            # The marker goes out right after the call succeeds; see the module docstring.
            put_json(
                self.s3,
                self.bucket,
                marker_key(bid, i),
                {"published_at": datetime.now(UTC).isoformat(), "datums": len(call.datums),
                 "namespace": call.namespace},
            )  # fmt: skip
            sent += 1
            datums += len(call.datums)
        log.info("batch %s: %d call(s) sent (%d datums), %d already published", bid, sent, datums, skipped)
        return {
            "calls_sent": sent,
            "calls_skipped": skipped,
            "datums_sent": datums,
            "calls_total": len(calls),
        }

    def _put(self, call: Call) -> None:
        """PutMetricData with exponential back-off and full jitter on throttling.

        A throttled call was not applied, so sending it again cannot double count.
        """
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.cw.put_metric_data(
                    Namespace=call.namespace, MetricData=[to_boto(d) for d in call.datums]
                )
                return
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code not in RETRYABLE or attempt == self.max_attempts:
                    raise
                delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
                log.warning("PutMetricData %s (attempt %d/%d); retrying in %.2fs", code, attempt,
                            self.max_attempts, delay)  # fmt: skip
                self.sleep(delay)

"""Publish a batch's plan to CloudWatch at most once per call, with a ledger in S3.

CloudWatch has no idempotency key: a datum sent twice is summed twice. So a batch's
datums are frozen into a *plan* (a fixed list of PutMetricData calls) before anything is
sent, and every call is bracketed by ledger markers in S3:

* ``call-N.<plan hash>.intent`` is created (``If-None-Match``) just before the call, so of
  two publishers of one batch only one can ever send a call;
* ``call-N.<plan hash>.done`` just after CloudWatch accepted it;
* the intent is removed again only when the call certainly did not reach CloudWatch
  (an error response such as throttling, or no connection at all).

Markers name the plan they belong to; a publisher refuses a ledger with markers of
another plan. No lease is needed, so a publisher killed mid-call leaves only its call's
intent behind, and the retry goes on at once.

A retry, clear, re-run or backfill replays the same plan: ``done`` calls are skipped, and
so are calls whose fate is unknown (an intent without ``done``: the worker died, or the
connection dropped after sending). Those are reported as *ambiguous*, never re-sent: in
the rare crash the choice is a possibly missing datapoint over a doubled one. Botocore's
own retries are switched off for this client, because it would re-send after a read
timeout.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from edgesense.aws.s3 import STATE_PREFIX, create_once, error_code, get_json, list_keys
from edgesense.metrics import Call, Window, to_boto
from edgesense.plan import BatchPlan, PlanConflict

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

LEDGER_PREFIX = f"{STATE_PREFIX}ledger/"
#: Error responses after which the call was certainly not applied and may be sent again.
RETRYABLE = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable"}
#: A datum this close to the end of CloudWatch's window is dropped at send time rather
#: than letting CloudWatch reject the whole call.
SEND_WINDOW_MARGIN = timedelta(minutes=15)


class LedgerWriteFailed(RuntimeError):
    """A call went out but its ``done`` marker could not be written; it will not be re-sent."""


def marker_key(bid: str, index: int, kind: str = "done", plan_hash: str | None = None,
               prefix: str = LEDGER_PREFIX) -> str:  # fmt: skip
    """``call-N.<hash>.<kind>``; plans from before hashes have ``call-N.<kind>``."""
    tag = f".{plan_hash}" if plan_hash else ""
    return f"{prefix}{bid}/call-{index:06d}{tag}.{kind}"


def describe(call: Call) -> str:
    """What one call carries, as a user looks for it: namespace, minutes and metrics."""
    minutes = sorted({d["Timestamp"] for d in call.datums})
    names = sorted({d["MetricName"] for d in call.datums})
    span = minutes[0] if len(minutes) == 1 else f"{minutes[0]} to {minutes[-1]}"
    return f"{len(call.datums)} datums in {call.namespace}, minutes {span}, metrics {', '.join(names)}"


def certainly_not_sent(exc: BaseException) -> bool:
    """True when CloudWatch cannot have applied the call: an error response, or no connection."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        return status < 500 or error_code(exc) in RETRYABLE
    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError))


class Publisher:
    """Sends the calls of a plan that the ledger has not seen yet."""

    def __init__(
        self,
        cloudwatch: CloudWatchClient,
        s3_client: S3Client,
        store_bucket: str,
        *,
        window: Window | None = None,
        base_delay: float = 0.3,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        ledger_prefix: str = LEDGER_PREFIX,
    ) -> None:
        """``ledger_prefix``: where the markers live (the repair keeps a ledger of its own)."""
        self.prefix = ledger_prefix
        self.cw = cloudwatch
        self.s3 = s3_client
        self.bucket = store_bucket
        self.window = window or Window()
        self.base_delay = base_delay
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.token = uuid.uuid4().hex

    def ledger(self, bid: str, plan_hash: str | None = None) -> dict[str, set[int]]:
        """Call numbers with a ``done`` and with an ``intent`` marker, all of plan ``plan_hash``."""
        out: dict[str, set[int]] = {"done": set(), "intent": set()}
        foreign: set[str] = set()
        for key in list_keys(self.s3, self.bucket, f"{self.prefix}{bid}/"):
            name = key.rsplit("/", 1)[-1]
            if not name.startswith("call-"):
                continue  # e.g. the lease object of older versions
            stem, _, kind = name.rpartition(".")
            number, _, tag = stem.partition(".")
            if kind not in out:
                continue
            if (tag or None) != plan_hash:
                foreign.add(tag or "<none>")
                continue
            out[kind].add(int(number[5:]))
        if foreign:
            raise PlanConflict(
                f"batch {bid}: its ledger holds markers of plan(s) {', '.join(sorted(foreign))}, but its plan is "
                f"{plan_hash or '<none>'}; refusing to publish (see README, repairing a batch)"
            )
        return out

    def publish(self, plan: BatchPlan) -> dict[str, Any]:
        bid, h, calls = plan.batch_id, plan.verified().plan_hash, plan.calls
        led = self.ledger(bid, h)
        ambiguous = sorted(led["intent"] - led["done"])
        for i in ambiguous:
            log.error("batch %s: call %d may or may not have reached CloudWatch (an earlier attempt died mid-call, "
                      "or another publisher is sending it); it is never re-sent, so these datapoints may be "
                      "missing: %s", bid, i, describe(calls[i]))  # fmt: skip
        sent = skipped = datums = dropped = taken = 0
        for i, call in enumerate(calls):
            if i in led["done"] or i in led["intent"]:
                skipped += 1
                continue
            kept = self.send_call(bid, i, call, h)
            if kept is None:
                taken += 1  # another publisher of this batch holds this call
                continue
            dropped += len(call.datums) - kept
            sent += 1
            datums += kept
        log.info("batch %s: %d call(s) sent (%d datums), %d already published, %d ambiguous, %d taken by another "
                 "publisher, %d datum(s) out of CloudWatch's window dropped", bid, sent, datums,
                 skipped - len(ambiguous), len(ambiguous), taken, dropped)  # fmt: skip
        return {
            "calls_sent": sent,
            "calls_skipped": skipped + taken,
            "calls_ambiguous": len(ambiguous),
            "datums_sent": datums,
            "datums_dropped": dropped,
            "calls_total": len(calls),
            "plan_hash": h or "",
            "ambiguous": [describe(calls[i]) for i in ambiguous],
        }

    def send_call(self, bid: str, i: int, call: Call, h: str | None) -> int | None:
        """Send call ``i`` between its intent and done markers; the datums sent, or None when
        another publisher holds its intent. Only a certainly-unsent call loses its intent."""
        keep = self._in_window(call)
        if not self._mark(bid, i, "intent", call, h):
            return None
        try:
            if keep:
                self._put(Call(call.namespace, tuple(keep)))
        except BaseException as exc:
            if certainly_not_sent(exc):
                self.s3.delete_object(Bucket=self.bucket, Key=marker_key(bid, i, "intent", h, self.prefix))
            raise
        self._mark(bid, i, "done", call, h, retries=10)
        return len(keep)

    def _in_window(self, call: Call) -> list[dict[str, Any]]:
        """The call's datums as boto3 wants them, minus those that aged out of CloudWatch's window."""
        floor = self.window.send_floor(datetime.now(UTC), SEND_WINDOW_MARGIN)
        return [b for d in call.datums if (b := to_boto(d))["Timestamp"] >= floor]

    def _mark(self, bid: str, i: int, kind: str, call: Call, h: str | None, retries: int = 3) -> bool:
        """Create a marker (``If-None-Match``); False when the intent was already someone else's.

        The body carries this publisher's token, so an intent that exists because botocore
        retried our own landed write is recognised as ours.
        """
        key = marker_key(bid, i, kind, h, self.prefix)
        body = json.dumps({"at": datetime.now(UTC).isoformat(), "datums": len(call.datums),
                           "namespace": call.namespace, "plan_hash": h, "publisher": self.token}).encode()  # fmt: skip
        for attempt in range(1, retries + 1):
            try:
                if create_once(self.s3, self.bucket, key, body):
                    return True
                if kind == "done":
                    return True  # only the intent's owner writes done: an earlier try of ours landed
                held = get_json(self.s3, self.bucket, key) or {}
                return held.get("publisher") == self.token
            except (ClientError, BotoCoreError) as exc:
                if attempt == retries:
                    if kind == "done":
                        raise LedgerWriteFailed(
                            f"batch {bid}: call {i} reached CloudWatch but its ledger marker could not be written "
                            f"({exc}); its intent marker stays, so it will not be sent again"
                        ) from exc
                    raise
                self.sleep(min(30.0, self.base_delay * 2**attempt))
        return False

    def _put(self, call: Call) -> None:
        """PutMetricData (datums already in boto3's shape) with back-off and full jitter on throttling.

        Only error responses that mean "not applied" are retried here.
        """
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.cw.put_metric_data(Namespace=call.namespace, MetricData=list(call.datums))
                return
            except ClientError as exc:
                code = error_code(exc)
                if code not in RETRYABLE or attempt == self.max_attempts:
                    raise
                delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
                log.warning("PutMetricData %s (attempt %d/%d); retrying in %.2fs", code, attempt,
                            self.max_attempts, delay)  # fmt: skip
                self.sleep(delay)

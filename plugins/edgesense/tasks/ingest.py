"""Task bodies of ``edgesense_ingest`` (and the rules sync that relabel shares).

sync_rules -> wait_for_batch (claim_batches) -> aggregate (:mod:`.aggregate`) -> publish
-> add_partitions. The aggregate task's body has its own module: it is the one that
holds the exactly-once order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from edgesense.aws.clients import AwsClients
from edgesense.aws.plans import PlanStore
from edgesense.aws.publish import Publisher
from edgesense.aws.rules_store import RulesStore, Snapshots
from edgesense.config import Settings
from edgesense.interval import Interval, describe, resolve
from edgesense.rules import RuleSet
from edgesense.tables import partitions_of
from edgesense.tasks.common import add_partitions_for, batch_source, clients_for

log = logging.getLogger(__name__)


def resolve_interval(
    params: dict[str, Any] | None, start: datetime | None, end: datetime | None, *, check_clock: bool = True
) -> Interval:
    """The run's interval (see :func:`edgesense.interval.resolve`), logged; bad params raise ParamError."""
    interval = resolve(params, start, end, check_clock=check_clock)
    log.info(describe(params, start, end, interval))
    return interval


def no_new_objects(claimed: dict[str, Any], prefix: str | None) -> str:
    """Why a claim found nothing to do, in words: an unknown prefix must not look like "no data"."""
    window = "[{}, {})".format(*claimed["interval"])
    if claimed["owned_objects"]:
        return f"no new objects in {window}: {claimed['owned_objects']} landed, all counted by other batches"
    where = (
        f"prefix {prefix!r}" if prefix
        else f"the key layout's folder(s) {', '.join(repr(p) for p in claimed['prefixes'][:3])}"
        + (f" and {len(claimed['prefixes']) - 3} more" if len(claimed["prefixes"]) > 3 else "")
    )  # fmt: skip
    if not claimed["keys_listed"]:
        hint = (" (an S3 key prefix of the ingest bucket such as logs/2026/12/01/07/; check its spelling)"
                if prefix else " (check EDGESENSE_KEY_LAYOUT against where the CDN writes)")  # fmt: skip
        return f"no objects landed in {window}: {where} of s3://{claimed['bucket']} holds no keys{hint}"
    return (f"no objects landed in {window}: {where} of s3://{claimed['bucket']} holds "
            f"{claimed['keys_listed']} key(s), none with LastModified in the window")  # fmt: skip


def sync_rules(settings: Settings, clients: AwsClients | None = None) -> dict[str, Any]:
    """Read the rules table, validate, pin a content-addressed snapshot; fall back to the last one."""
    clients = clients_for(settings, clients)
    snaps = Snapshots(clients.s3, settings.store_bucket)
    try:
        rules = RulesStore(clients.dynamodb, settings.rules_table).read()
    except (BotoCoreError, ClientError) as exc:
        last = snaps.latest()
        if last is None:
            raise RuntimeError(
                f"rules table {settings.rules_table} is unreadable ({exc}) and no earlier snapshot exists"
            ) from exc
        key, rules = last
        log.warning(
            "rules table %s unreadable (%s); using last good snapshot %s", settings.rules_table, exc, key
        )
        return _rules_summary(key, rules, reused=True, fallback=True)
    key, reused = snaps.save(rules)
    log.info("rules version %s (%d rules, %d rejected)%s", rules.version, len(rules.rules),
             len(rules.rejected), ", snapshot reused" if reused else "")  # fmt: skip
    return _rules_summary(key, rules, reused=reused, fallback=False)


def _rules_summary(key: str, rules: RuleSet, *, reused: bool, fallback: bool) -> dict[str, Any]:
    return {
        "key": key,
        "version": rules.version,
        "rules": len(rules.rules),
        "rejected": [{"rule_id": r.rule_id, "reason": r.reason} for r in rules.rejected],
        "reused": reused,
        "fallback": fallback,
    }


def settled_at(interval_end: datetime, settle_seconds: int) -> datetime:
    return interval_end + timedelta(seconds=settle_seconds)


def claim_batches(
    settings: Settings, interval: Interval, *, prefix: str | None = None, now: datetime | None = None,
    clients: AwsClients | None = None, wait_up_to: float = 0.0, sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:  # fmt: skip
    """None until the interval has settled; then freeze its objects into batches.

    If it settles within ``wait_up_to`` seconds, wait here instead: a sensor's reschedule
    costs a poke interval plus a task start, which is most of the metric latency.
    """
    now = now or datetime.now(UTC)
    ready = settled_at(interval.end, settings.settle_seconds)
    remaining = (ready - now).total_seconds()
    if 0 < remaining <= wait_up_to:
        log.info("interval settles in %.1f s; waiting here rather than rescheduling", remaining)
        sleep(remaining)
    elif remaining > 0:
        log.info("interval ends %s; waiting until %s for uploads in flight to land", interval.end, ready)
        return None
    claimed = batch_source(settings, clients_for(settings, clients)).claim(interval, prefix=prefix or None)
    claimed["interval"] = [interval.start.isoformat(), interval.end.isoformat()]
    return claimed


def publish_batches(
    settings: Settings, batch_ids: list[str], *, clients: AwsClients | None = None
) -> dict[str, Any]:
    """Send each batch's plan, skipping the calls its ledger has seen."""
    clients = clients_for(settings, clients)
    plans = PlanStore(clients.s3, settings.store_bucket)
    pub = Publisher(
        clients.cloudwatch, clients.s3, settings.store_bucket,
        window=settings.cloudwatch_window,
        base_delay=settings.publish_base_delay, max_attempts=settings.publish_max_attempts,
    )  # fmt: skip
    out = {}
    for bid in batch_ids:
        plan = plans.load(bid)
        if plan is None:
            raise RuntimeError(f"batch {bid} has no plan; run aggregate_batch first")
        out[bid] = pub.publish(plan)
    return out


def update_partitions(
    settings: Settings, batch_ids: list[str], *, clients: AwsClients | None = None
) -> dict[str, Any]:
    """Register the Glue partitions of every table the batches wrote to."""
    clients = clients_for(settings, clients)
    plans = PlanStore(clients.s3, settings.store_bucket)
    keys = [k for bid in batch_ids if (plan := plans.load(bid)) for k in plan.outputs]
    return {
        t: add_partitions_for(settings, t, sorted(p), clients=clients) for t, p in partitions_of(keys).items()
    }

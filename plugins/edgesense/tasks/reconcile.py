"""Task bodies of ``edgesense_reconcile``: a day of CloudWatch against ``minute_metrics``, a
report in S3, ``MinutesMismatched``, and the repair of calls that certainly never landed.

The repair sends a lost call's datums again, exactly as planned, through a
:class:`~edgesense.aws.publish.Publisher` whose ledger is its own (``_edgesense/repair/``):
a call is repaired at most once, ever, and a repair whose own reply is lost is never
tried again. It waits ``EDGESENSE_REPAIR_SETTLE_MINUTES`` after the lost call was sent,
because CloudWatch may take up to 2 h to make late points queryable.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from edgesense.aws.clients import AwsClients
from edgesense.aws.metric_reads import requests_per_minute
from edgesense.aws.plans import PlanStore
from edgesense.aws.publish import LEDGER_PREFIX, Publisher, marker_key
from edgesense.aws.s3 import STATE_PREFIX, get_json, put_json
from edgesense.config import Settings
from edgesense.metrics import Call, datum_time, pipeline_datums, to_boto
from edgesense.plan import PlanConflict
from edgesense.reconcile import Ledgers, Report, compare, landed, repairable, requests_of
from edgesense.tasks.common import clients_for, minute_history

log = logging.getLogger(__name__)

REPORT_PREFIX = f"{STATE_PREFIX}reconcile/"
REPAIR_PREFIX = f"{STATE_PREFIX}repair/"
#: CloudWatch keeps one-minute points for 15 days; older days cannot be compared minute by minute.
MAX_AGE = timedelta(days=14)


class DayOutOfReach(ValueError):
    """The day is in the future, today, or past CloudWatch's one-minute retention."""


def report_key(day: date) -> str:
    return f"{REPORT_PREFIX}dt={day.isoformat()}.json"


def day_to_reconcile(raw: str | None, interval_end: datetime | None, now: datetime | None = None) -> date:
    """The ``day`` param, else the day before the run's interval end (the 03:00 UTC run: yesterday)."""
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise DayOutOfReach(f"day {raw!r} is not a date (YYYY-MM-DD)") from exc
    return ((interval_end or now or datetime.now(UTC)) - timedelta(days=1)).date()


def check_day(day: date, now: datetime) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    if end > now:
        raise DayOutOfReach(f"{day} has not ended yet (now {now:%Y-%m-%d %H:%M} UTC): reconcile a past day")
    if now - start > MAX_AGE:
        raise DayOutOfReach(
            f"{day} is more than 14 days ago: CloudWatch no longer holds its one-minute points"
        )
    return start, end


def _ledgers(c: AwsClients, settings: Settings, batches: list[str], namespace: str) -> Ledgers:
    plans, ledgers = PlanStore(c.s3, settings.store_bucket), Ledgers()
    reader = Publisher(c.cloudwatch, c.s3, settings.store_bucket)
    for bid in batches:
        plan = plans.load(bid)
        if plan is None:
            log.warning(
                "batch %s: in minute_metrics but without a plan: its minutes cannot be explained", bid
            )
            continue
        try:
            led = reader.ledger(bid, plan.plan_hash)
        except PlanConflict as exc:
            log.error("%s: its calls are left out of the explanation", exc)
            continue
        for i, call in enumerate(plan.calls):
            if call.namespace == namespace:
                ledgers.add_call((bid, i), call, done=i in led["done"], intent=i in led["intent"])
    return ledgers


def reconcile_day(settings: Settings, day: date, *, clients: AwsClients | None = None,
                  now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Compare a past day, write its report (``_edgesense/reconcile/dt=<day>.json``), publish ``MinutesMismatched``."""
    now = now or datetime.now(UTC)
    start, end = check_day(day, now)
    return reconcile_range(
        settings, start, end, report_key(day), clients=clients, now=now, label=day.isoformat()
    )


def reconcile_range(settings: Settings, start: datetime, end: datetime, key: str, *, label: str,
                    clients: AwsClients | None = None, now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Compare ``[start, end)`` (the daily run, or the demo's minutes) and write the report to ``key``."""
    c, now = clients_for(settings, clients), now or datetime.now(UTC)
    ns = settings.effective_namespace
    with minute_history(settings, c, start, end) as h:
        counted = {(m.minute, m.host): float(m.requests) for m in h.host_minutes(start, end)}
        batches, files = h.batches(), h.files
    ledgers = _ledgers(c, settings, batches, ns)
    held = requests_per_minute(c.cloudwatch, ns, list(ledgers.series.values()), start, end)
    mismatches = compare(counted, held, ledgers)
    compared = set(counted) | set(held)
    report = Report(label, ns, len(compared), tuple(mismatches),
                    landed=tuple(f"{b}#{i}" for b, i in landed(mismatches, ledgers, compared)))  # fmt: skip
    doc = report.to_json() | {"repairable": [f"{b}#{i}" for b, i in repairable(mismatches, ledgers)],
                              "batches": len(batches), "files": files, "generated_at": now.isoformat(),
                              "series": list(ledgers.series.values()),
                              "sentence": report.sentence()}  # fmt: skip
    put_json(c.s3, settings.store_bucket, key, doc)
    # A level, stamped now: a retry publishes the same value again, and the dashboard takes the Maximum.
    [datum] = pipeline_datums({"MinutesMismatched": len(mismatches)}, now)
    c.cloudwatch.put_metric_data(Namespace=settings.pipeline_namespace, MetricData=[to_boto(datum)])
    log.info("%s (report s3://%s/%s)", report.sentence(), settings.store_bucket, key)
    for m in mismatches[:20]:
        log.info("  %s %s: CloudWatch %g, minute_metrics %g: %s", m.minute.isoformat(), m.host, m.cloudwatch,
                 m.counted, m.reason)  # fmt: skip
    return doc


def settle_time(call: Call, sent_at: datetime, settings: Settings) -> timedelta:
    """How long after a call CloudWatch's sums can be trusted: points a day old or more when
    sent can take 48 h to become queryable (PutMetricData's documentation), 3-24 h old 2 h."""
    oldest = min((datum_time(d) for d in call.datums), default=sent_at)
    if sent_at - oldest >= timedelta(hours=24):
        return timedelta(hours=settings.repair_settle_old_hours)
    return timedelta(minutes=settings.repair_settle_minutes)


def still_short(c: AwsClients, namespace: str, call: Call, doc: dict[str, Any]) -> bool:
    """Re-read the call's minutes now: CloudWatch must hold exactly what the report read there
    (every series of the call's hosts), or the report is stale and nothing may be sent."""
    carried = requests_of(call)
    reported = {(datetime.fromisoformat(m["minute"]), m["host"]): m["cloudwatch"] for m in doc["mismatches"]}
    if not set(carried) <= set(reported):
        return False
    hosts = {h for _, h in carried}
    series = [
        dims
        for dims in doc.get("series", [])
        if any(d["Name"] == "Host" and d["Value"] in hosts for d in dims)
    ]
    minutes = [m for m, _ in carried]
    held = requests_per_minute(
        c.cloudwatch, namespace, series, min(minutes), max(minutes) + timedelta(minutes=1)
    )
    return all(held.get(k, 0.0) == reported[k] for k in carried)


def repair_day(settings: Settings, day: date, *, clients: AwsClients | None = None,
               now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Send again, once, each call the day's report found certainly lost, once it has settled
    (measured against the report's own read) and CloudWatch still lacks it."""
    c, now = clients_for(settings, clients), now or datetime.now(UTC)
    doc = get_json(c.s3, settings.store_bucket, report_key(day))
    if doc is None:
        raise DayOutOfReach(f"no reconciliation report for {day}: run reconcile first")
    read_at = datetime.fromisoformat(doc["generated_at"])
    plans = PlanStore(c.s3, settings.store_bucket)
    repairer = Publisher(c.cloudwatch, c.s3, settings.store_bucket, window=settings.cloudwatch_window,
                         base_delay=settings.publish_base_delay, max_attempts=settings.publish_max_attempts,
                         ledger_prefix=REPAIR_PREFIX)  # fmt: skip
    repaired, waiting, already, changed = [], [], [], []
    for ref in doc.get("repairable", []):
        bid, _, index = ref.rpartition("#")
        i, plan = int(index), plans.load(bid)
        if plan is None or i >= len(plan.calls):
            log.error("%s: its plan is gone or shorter than the report says: not repaired", ref)
            continue
        plan, h = plan.verified(), plan.plan_hash
        intent = get_json(c.s3, settings.store_bucket, marker_key(bid, i, "intent", h, LEDGER_PREFIX)) or {}
        sent_at = datetime.fromisoformat(intent["at"]) if intent.get("at") else now
        settle = settle_time(plan.calls[i], sent_at, settings)
        if read_at - sent_at < settle:
            waiting.append(ref)
            log.info("%s: sent at %s; the report's read (%s) is too early to trust until %s: reconcile again "
                     "after that", ref, sent_at, read_at, sent_at + settle)  # fmt: skip
            continue
        led = repairer.ledger(bid, h)
        if i in led["intent"] or i in led["done"]:
            already.append(ref)
            log.info("%s: repaired before (or its repair's fate is unknown): never sent again", ref)
            continue
        if not still_short(c, settings.effective_namespace, plan.calls[i], doc):
            changed.append(ref)
            log.warning("%s: CloudWatch holds more than the report read: not repaired (reconcile again)", ref)
            continue
        kept = repairer.send_call(bid, i, plan.calls[i], h)
        if kept is not None:
            repaired.append(ref)
            log.warning("%s: repaired: %d of its %d datums sent again exactly as planned (%d past CloudWatch's "
                        "window)", ref, kept, len(plan.calls[i].datums), len(plan.calls[i].datums) - kept)  # fmt: skip
    doc |= {"repaired": sorted(set(doc.get("repaired", [])) | set(repaired)), "repair_waiting": waiting}
    put_json(c.s3, settings.store_bucket, report_key(day), doc)
    log.info("%s: %d call(s) repaired, %d waiting to settle, %d repaired before, %d changed since the report",
             day, len(repaired), len(waiting), len(already), len(changed))  # fmt: skip
    return {"repaired": repaired, "waiting": waiting, "already": already, "changed": changed}

"""Task bodies of ``edgesense_ops``: the hosts of ``minute_metrics``, and the dashboards and
alarms that follow them.

The host registry (``_edgesense/ops/hosts.json``) remembers when each host was last seen,
so an hourly run reads only the last hours of ``minute_metrics``, and a host keeps its
alarms until it has been quiet for ``EDGESENSE_HOST_QUIET_HOURS``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from edgesense.alarms import desired
from edgesense.anomaly import SIGNALS
from edgesense.aws.alarms import AlarmSync, sync_alarms
from edgesense.aws.clients import AwsClients
from edgesense.aws.dashboards import sync_dashboards
from edgesense.aws.s3 import get_json, put_json
from edgesense.config import Settings
from edgesense.dashboards import Target, bodies
from edgesense.tasks.common import clients_for, minute_history

log = logging.getLogger(__name__)

HOSTS_KEY = "_edgesense/ops/hosts.json"
#: How far back each run reads ``minute_metrics`` (late files land in their event hour).
LOOKBACK = timedelta(hours=2)
#: Event hours ahead of now that may hold minutes (the publisher sends up to 2 h ahead).
LOOKAHEAD = timedelta(hours=2)


def target(settings: Settings, clients: AwsClients) -> Target:
    region = clients.cloudwatch.meta.region_name
    return Target(settings.effective_namespace, settings.pipeline_namespace, settings.metrics_shape, region)


def merge_hosts(registry: dict[str, Any], seen: list[Any], now: datetime, quiet: timedelta) -> dict[str, Any]:
    """The registry with ``seen`` merged in (latest minute wins), hosts quiet for ``quiet`` dropped."""
    hosts = dict(registry.get("hosts", {}))
    for h in seen:
        old = hosts.get(h.host, {})
        last = max(h.last_minute.isoformat(), old.get("last_minute", ""))
        hosts[h.host] = {"last_minute": last, "requests": h.requests}
    fresh = {name: v for name, v in hosts.items() if datetime.fromisoformat(v["last_minute"]) >= now - quiet}
    for name in sorted(set(hosts) - set(fresh)):
        log.info("host %s unseen since %s (quiet %s): its alarms and dashboard lines go", name,
                 hosts[name]["last_minute"], quiet)  # fmt: skip
    return {"version": 1, "hosts": dict(sorted(fresh.items()))}


def refresh_hosts(
    settings: Settings, *, clients: AwsClients | None = None, now: datetime | None = None
) -> list[str]:
    """Hosts seen within the quiet period, busiest of the last hours first."""
    now = now or datetime.now(UTC)
    c = clients_for(settings, clients)
    s3 = c.s3
    with minute_history(settings, c, now - LOOKBACK, now + LOOKAHEAD) as h:
        seen, files = h.hosts(), h.files
    registry = merge_hosts(get_json(s3, settings.store_bucket, HOSTS_KEY) or {}, seen, now,
                           timedelta(hours=settings.host_quiet_hours))  # fmt: skip
    put_json(s3, settings.store_bucket, HOSTS_KEY, registry)
    hosts = sorted(registry["hosts"], key=lambda n: (-registry["hosts"][n]["requests"], n))
    log.info("%d host(s) in %d minute_metrics file(s) of the last %s; %d within the quiet period of %d h",
             len(seen), files, LOOKBACK, len(hosts), settings.host_quiet_hours)  # fmt: skip
    return hosts


def put_dashboards(
    settings: Settings, hosts: list[str], *, clients: AwsClients | None = None
) -> dict[str, str]:
    c = clients_for(settings, clients)
    wanted = bodies(
        target(settings, c), settings.stage, hosts=hosts, anomaly_threshold=settings.anomaly_threshold
    )
    return sync_dashboards(c.cloudwatch, wanted)


def put_alarms(settings: Settings, hosts: list[str], *, clients: AwsClients | None = None) -> AlarmSync:
    c = clients_for(settings, clients)
    if not settings.alert_topic_arn:
        log.warning("EDGESENSE_ALERT_TOPIC_ARN is not set: the alarms change state but notify no one")
    wanted = desired(settings.stage, settings.effective_namespace, settings.pipeline_namespace, hosts,
                     settings.thresholds, shape=settings.metrics_shape, signals=SIGNALS)  # fmt: skip
    return sync_alarms(c.cloudwatch, settings.stage, wanted, settings.alert_topic_arn)

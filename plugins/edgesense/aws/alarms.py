"""CloudWatch alarms kept in step with :func:`edgesense.alarms.desired` (PutMetricAlarm, DeleteAlarms).

Only alarms whose description carries :data:`~edgesense.alarms.MANAGED` are ever changed or
deleted; an alarm whose digest and actions match is left alone, so a run that changes
nothing makes no write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edgesense.alarms import Alarm, managed_digest

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

log = logging.getLogger(__name__)
DELETE_BATCH = 100  # DeleteAlarms takes at most 100 names


@dataclass
class AlarmSync:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        return (f"alarms: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.deleted)} deleted")  # fmt: skip


def existing(client: CloudWatchClient, stage: str) -> dict[str, dict]:
    """Our metric alarms of ``stage``: name -> the described alarm."""
    out = {}
    for page in client.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix(stage), AlarmTypes=["MetricAlarm"]
    ):
        for alarm in page.get("MetricAlarms", ()):
            if managed_digest(alarm.get("AlarmDescription"), stage) is not None:
                out[alarm["AlarmName"]] = alarm
    return out


def prefix(stage: str) -> str:
    return f"edgesense-{stage}-"


def sync_alarms(client: CloudWatchClient, stage: str, wanted: Sequence[Alarm], topic_arn: str) -> AlarmSync:
    """Put the alarms that are new or changed, delete ours (this stage's) that are no longer wanted."""
    have, result = existing(client, stage), AlarmSync()
    actions = [topic_arn] if topic_arn else []
    for alarm in wanted:
        current = have.pop(alarm.name, None)
        if (current is not None and managed_digest(current.get("AlarmDescription"), stage) == alarm.digest
                and current.get("AlarmActions", []) == actions):  # fmt: skip
            result.unchanged.append(alarm.name)
            continue
        client.put_metric_alarm(**alarm.put_request(topic_arn))
        (result.created if current is None else result.updated).append(alarm.name)
    stale = sorted(have)
    for i in range(0, len(stale), DELETE_BATCH):
        client.delete_alarms(AlarmNames=stale[i : i + DELETE_BATCH])
    result.deleted = stale
    for name in result.created + result.updated + result.deleted:
        log.info("alarm %s %s", name, "deleted" if name in stale else "put")
    log.info("%s", result.sentence())
    return result


def states(client: CloudWatchClient, stage: str) -> dict[str, str]:
    """Name -> StateValue of every metric alarm of ``stage`` (the demo's read-back)."""
    out = {}
    for page in client.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix(stage), AlarmTypes=["MetricAlarm"]
    ):
        out |= {a["AlarmName"]: a["StateValue"] for a in page.get("MetricAlarms", ())}
    return out

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
    #: Wanted names already taken by an alarm that is not ours: left alone.
    taken: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        return (f"alarms: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.deleted)} deleted"
                + (f", {len(self.taken)} left alone (the name is another alarm's)" if self.taken else ""))  # fmt: skip


def existing(client: CloudWatchClient, stage: str) -> tuple[dict[str, dict], set[str]]:
    """Our alarms of ``stage`` (name -> the described alarm), and the names under the prefix
    that are someone else's: never overwritten, never deleted."""
    ours: dict[str, dict] = {}
    theirs: set[str] = set()
    for page in client.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix(stage), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        for alarm in [*page.get("MetricAlarms", ()), *page.get("CompositeAlarms", ())]:
            if managed_digest(alarm.get("AlarmDescription"), stage) is not None:
                ours[alarm["AlarmName"]] = alarm
            else:
                theirs.add(alarm["AlarmName"])
    return ours, theirs


def prefix(stage: str) -> str:
    return f"edgesense-{stage}-"


def sync_alarms(client: CloudWatchClient, stage: str, wanted: Sequence[Alarm], topic_arn: str) -> AlarmSync:
    """Put the alarms that are new or changed, delete ours (this stage's) that are no longer wanted."""
    (have, theirs), result = existing(client, stage), AlarmSync()
    actions = [topic_arn] if topic_arn else []
    for alarm in wanted:
        if alarm.name in theirs:
            result.taken.append(alarm.name)
            log.warning("alarm %s exists and is not edgesense_ops's: left alone (rename or delete it to let "
                        "edgesense manage it)", alarm.name)  # fmt: skip
            continue
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

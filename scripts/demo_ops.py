"""The operations part of ``make demo``: dashboards, alarms, anomaly scores and the
reconciliation, read back from the embedded AWS after ``edgesense_ops`` has run."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import boto3

from edgesense.aws.alarms import states
from edgesense.aws.clients import AwsClients
from edgesense.config import Settings
from edgesense.tasks.reconcile import REPORT_PREFIX, reconcile_range


def alert_topic(endpoint: str, stage: str) -> str:
    """The alarm topic the stack would create (``edgesense-<stage>-alarms``)."""
    sns = boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1")
    return sns.create_topic(Name=f"edgesense-{stage}-alarms")["TopicArn"]


def read_back(env: dict[str, str], endpoint: str, start: datetime, end: datetime,
              say: Callable[[str], None]) -> dict[str, float]:  # fmt: skip
    """Print one line per dashboard and alarm, the anomaly scores and the reconciliation."""
    settings = Settings.from_env(env)
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    say("dashboards and alarms (edgesense_ops), read back from CloudWatch")
    prefix = f"edgesense-{settings.stage}-"
    for entry in cw.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]:
        body = json.loads(cw.get_dashboard(DashboardName=entry["DashboardName"])["DashboardBody"])
        print(f"    dashboard {entry['DashboardName']}: {len(body['widgets'])} widgets")
    for name, state in sorted(states(cw, settings.stage).items()):
        print(f"    alarm {name}: {state}")

    say(f"reconciliation of {start:%H:%M}-{end:%H:%M} UTC: CloudWatch against minute_metrics")
    key = f"{REPORT_PREFIX}demo/{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.json"
    report = reconcile_range(settings, start, end, key, label=f"{start:%H:%M}-{end:%H:%M}",
                             clients=AwsClients.default_chain())  # fmt: skip
    print(f"    reconciliation: {report['sentence']} (s3://{settings.store_bucket}/{key})")
    return {"mismatched": report["minutes_mismatched"], "compared": report["minutes_compared"]}

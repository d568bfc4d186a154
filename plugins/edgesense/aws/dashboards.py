"""CloudWatch dashboards kept in step with their generated bodies (PutDashboard, idempotent)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from edgesense.aws.s3 import error_code

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

log = logging.getLogger(__name__)


def sync_dashboards(client: CloudWatchClient, bodies: dict[str, str]) -> dict[str, str]:
    """Put each dashboard whose stored body differs; name -> "created", "updated" or "unchanged"."""
    out = {}
    for name, body in bodies.items():
        try:
            current = client.get_dashboard(DashboardName=name)["DashboardBody"]
        except ClientError as exc:
            if error_code(exc) not in ("ResourceNotFound", "ResourceNotFoundException"):
                raise
            current = None
        if current is not None and json.loads(current) == json.loads(body):
            out[name] = "unchanged"
            continue
        answer = client.put_dashboard(DashboardName=name, DashboardBody=body)
        for problem in answer.get("DashboardValidationMessages", []):
            log.warning("dashboard %s: %s (%s)", name, problem.get("Message"), problem.get("DataPath"))
        out[name] = "created" if current is None else "updated"
        log.info("dashboard %s %s (%d widgets)", name, out[name], len(json.loads(body)["widgets"]))
    return out

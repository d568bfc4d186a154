"""``on_failure_callback`` of every edgesense task: the failure, published to the alarm topic.

Imported by the DAG files at parse time, so it imports nothing heavy until a task fails;
then it sends through the amazon provider's SnsHook (:class:`~edgesense.aws.clients.AwsClients`,
``aws_conn_id`` from the settings).
A notification that cannot be sent is logged, never raised: it must not hide the failure.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def failure_from(context: dict[str, Any]):
    """The :class:`~edgesense.notify.Failure` of an Airflow callback context (3.x and 2.11 alike)."""
    from edgesense.notify import Failure

    ti = context["ti"]
    run = context.get("dag_run")
    exception = context.get("exception")
    try:
        log_url = ti.log_url
    except Exception:  # not every runtime can build it (no base URL configured)
        log_url = None
    return Failure(
        dag_id=ti.dag_id, task_id=ti.task_id, run_id=getattr(run, "run_id", None) or ti.run_id,
        try_number=int(ti.try_number or 0), error=f"{type(exception).__name__}: {exception}" if exception else "",
        map_index=int(getattr(ti, "map_index", -1) if getattr(ti, "map_index", -1) is not None else -1),
        log_url=log_url,
    )  # fmt: skip


def on_task_failure(context: dict[str, Any]) -> None:
    from edgesense.config import Settings

    try:
        settings = Settings.from_env()
        failure = failure_from(context)
        if not settings.alert_topic_arn:
            log.info("task failure not notified: EDGESENSE_ALERT_TOPIC_ARN is not set")
            return
        from edgesense.aws.clients import AwsClients

        AwsClients(settings.aws_conn_id).sns.publish(
            TopicArn=settings.alert_topic_arn, Message=failure.message(), Subject=failure.subject()
        )
        log.info("task failure published to %s", settings.alert_topic_arn)
    except Exception:
        log.exception("could not publish the task failure to the alarm topic")

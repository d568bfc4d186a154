"""A failed task tells the alarm topic, against a real moto_server: SNS delivers to an SQS
queue subscribed to the topic, and the test reads what a person would receive."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from tests.e2e.test_ingest_dag import run_window

pytestmark = pytest.mark.e2e


@pytest.fixture
def topic(catalog, monkeypatch):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="edgesense-test-alarms")["TopicArn"]
    url = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("EDGESENSE_ALERT_TOPIC_ARN", arn)

    def received() -> list[dict]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    return received


def test_a_failed_task_publishes_dag_task_run_try_and_the_errors_first_line(topic):
    dr = run_window(datetime(2026, 12, 1, 8, 5, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert dr.state == "failed"

    [note] = topic()
    assert note["Subject"] == "edgesense: edgesense_ingest.sync_rules failed (try 1)"
    body = note["Message"]
    assert "DAG:   edgesense_ingest\n" in body
    assert "Task:  sync_rules\n" in body
    assert f"Run:   {dr.run_id}\n" in body
    assert "Try:   1\n" in body
    assert (
        "Error: AirflowFailException: window_end (2026-12-01T08:00:00+00:00) is before window_start" in body
    )

"""One factory for the AWS clients of a task or a CLI command.

Tasks build their clients from the amazon provider's hooks with ``aws_conn_id``, so the
Airflow connection (on MWAA, the execution role) decides credentials, region and
endpoint. The CLI uses boto3's default chain (``AWS_ENDPOINT_URL`` points it at a local
moto_server). Each client is created once, on first use; adapters take clients, never
hooks, so they run the same under both.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

#: One attempt per PutMetricData: botocore would otherwise re-send after a read timeout,
#: when CloudWatch may already have applied the datums. The publisher retries only what
#: certainly did not land (see :mod:`edgesense.aws.publish`).
CLOUDWATCH_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})


class AwsClients:
    """The s3, dynamodb, glue, cloudwatch and sns clients of one task (or CLI command)."""

    def __init__(self, aws_conn_id: str | None) -> None:
        """``aws_conn_id``: an Airflow connection; None: boto3's default chain (the CLI)."""
        self.aws_conn_id = aws_conn_id

    @classmethod
    def default_chain(cls) -> AwsClients:
        return cls(None)

    @cached_property
    def s3(self) -> S3Client:
        if self.aws_conn_id is None:
            return boto3.client("s3")
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id).get_conn()

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """A DynamoDB *resource's* client: it takes and returns plain Python values (Decimal for N)."""
        if self.aws_conn_id is None:
            return boto3.resource("dynamodb").meta.client
        from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

        return DynamoDBHook(aws_conn_id=self.aws_conn_id).get_conn().meta.client

    @cached_property
    def glue(self) -> GlueClient:
        if self.aws_conn_id is None:
            return boto3.client("glue")
        from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

        return GlueCatalogHook(aws_conn_id=self.aws_conn_id).get_conn()

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        """CloudWatch with botocore's retries off (:data:`CLOUDWATCH_CONFIG`)."""
        if self.aws_conn_id is None:
            return boto3.client("cloudwatch", config=CLOUDWATCH_CONFIG)
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(
            aws_conn_id=self.aws_conn_id, client_type="cloudwatch", config=CLOUDWATCH_CONFIG
        ).get_conn()

    @cached_property
    def sns(self) -> SNSClient:
        """SNS for the alarm topic (task failures); the provider's SnsHook under Airflow."""
        if self.aws_conn_id is None:
            return boto3.client("sns")
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        return SnsHook(aws_conn_id=self.aws_conn_id).get_conn()

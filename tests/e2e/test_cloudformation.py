"""deploy/cloudformation/edgesense.yaml deployed with CloudFormation on a real moto_server.

moto's CloudFormation creates the S3 buckets, the DynamoDB table, the IAM role and the SNS
topic. It has no model for AWS::Glue::Database and AWS::S3::BucketPolicy (nor AWS::MWAA::Environment, whose condition is false here anyway):
it logs "No Moto CloudFormation support" and skips them (moto/cloudformation/parsing.py,
``resource_class_from_type``). The tests assert that they are missing rather than ignore
them; tests/unit/test_iam_policy.py checks their properties in the template.
"""

from __future__ import annotations

import ast
import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import ROOT, load_cfn

pytestmark = pytest.mark.e2e

TEMPLATE = ROOT / "deploy" / "cloudformation" / "edgesense.yaml"
ACCOUNT = "123456789012"  # moto's default account
SOURCE = "arn:aws:s3:::x"
SUPPORTED = {"IngestBucket", "StoreBucket", "RulesTable", "AlarmTopic", "ExecutionRole"}
# Types moto skips.
NOT_EMULATED = {
    "GlueDatabase",
    "IngestBucketPolicy",
    "StoreBucketPolicy",
}
CONDITION_FALSE = {"MwaaEnvironment", "AlarmEmailSubscription"}


def clients(endpoint: str) -> dict[str, Any]:
    kw = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    names = ("cloudformation", "s3", "dynamodb", "iam", "sns", "glue", "cloudwatch")
    return {n: boto3.client(n, **kw) for n in names}


def deploy(cf, name: str, **params: str) -> dict[str, Any]:
    cf.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return stack


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def stack_resources(cf, name: str) -> dict[str, dict[str, Any]]:
    """Resources moto created, by logical id (a skipped one is listed with an empty id)."""
    summaries = cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r for r in summaries if r["LogicalResourceId"]}


def role_statements(iam, role_arn: str) -> dict[str, dict[str, Any]]:
    role = role_arn.rsplit("/", 1)[1]
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    doc = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    if isinstance(doc, str):
        # Real IAM (and boto3) give a dict. moto keeps the Policies of an AWS::IAM::Role
        # created by CloudFormation as a dict (Role.put_policy in moto/iam/models.py) and
        # answers GetRolePolicy with its Python repr, which botocore cannot decode.
        doc = ast.literal_eval(doc)
    return {s["Sid"]: s for s in doc["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_stack_creates_buckets_table_role_and_topic(moto):
    moto.reset()
    c = clients(moto.endpoint)
    stack = deploy(c["cloudformation"], "edgesense-test", Stage="test", MwaaSourceBucketArn=SOURCE)
    out = outputs(stack)
    ingest, store = f"edgesense-test-ingest-{ACCOUNT}", f"edgesense-test-store-{ACCOUNT}"

    assert out["IngestBucketName"] == ingest
    assert out["StoreBucketName"] == store
    assert out["RulesTableName"] == "edgesense-test-rules"
    assert out["GlueDatabaseName"] == "edgesense"

    # Buckets, with the encryption moto applies.
    assert {b["Name"] for b in c["s3"].list_buckets()["Buckets"]} == {ingest, store}
    for bucket in (ingest, store):
        rules = c["s3"].get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto's AWS::S3::Bucket applies only BucketEncryption and Tags
    # (FakeBucket.create_from_cloudformation_json): the lifecycle rule is not emulated.
    with pytest.raises(ClientError) as err:
        c["s3"].get_bucket_lifecycle_configuration(Bucket=ingest)
    assert err.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    # So check what CloudFormation applies instead: the rule's expiry is the parameter
    # (tests/unit/test_iam_policy.py), and the stack resolved that parameter to 1 day.
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["IngestExpirationDays"] == "1"
    body = c["cloudformation"].get_template(StackName="edgesense-test")["TemplateBody"]
    template = load_cfn(body)
    (rule,) = template["Resources"]["IngestBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "IngestExpirationDays"}
    # Nor is the store bucket's versioning (moto leaves it unset)...
    assert "Status" not in c["s3"].get_bucket_versioning(Bucket=store)
    assert template["Resources"]["StoreBucket"]["Properties"]["VersioningConfiguration"] == {
        "Status": "Enabled"
    }
    # ...nor the bucket policies (deny without TLS; conditional writes on the state), which
    # moto's CloudFormation skips: the unit tests evaluate them in the template.
    for bucket in (ingest, store):
        with pytest.raises(ClientError) as err:
            c["s3"].get_bucket_policy(Bucket=bucket)
        assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    policies = {r["Properties"]["Bucket"]["Ref"] for r in template["Resources"].values()
                if r["Type"] == "AWS::S3::BucketPolicy"}  # fmt: skip
    assert policies == {"IngestBucket", "StoreBucket"}

    # The rules table.
    table = c["dynamodb"].describe_table(TableName=out["RulesTableName"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "Id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # (moto's AWS::DynamoDB::Table ignores PointInTimeRecoverySpecification; the unit tests
    # check it in the template.)

    # The execution role, its trust policy and its statements.
    role = c["iam"].get_role(RoleName=out["ExecutionRoleArn"].rsplit("/", 1)[1])["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"]["Service"] == ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    statements = role_statements(c["iam"], out["ExecutionRoleArn"])
    assert set(statements) == {
        "MwaaPublishMetrics", "MwaaLogs", "MwaaCeleryQueues", "MwaaCeleryQueueKeys", "MwaaSourceBucketRead",
        "MwaaAccountPublicAccessBlock", "IngestBucketList", "IngestObjectsRead", "StoreBucketList",
        "StoreObjectsReadWrite", "StoreObjectsDeleteStale", "RulesTable", "GlueCatalog", "CloudWatchMetrics",
        "AlarmTopicPublish", "CloudWatchAlarms", "CloudWatchDashboards", "CloudWatchRead",
    }  # fmt: skip
    assert (
        statements["CloudWatchAlarms"]["Resource"]
        == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:edgesense-test-*"
    )
    assert statements["AlarmTopicPublish"]["Resource"] == out["AlarmTopicArn"]
    assert statements["IngestObjectsRead"]["Resource"] == f"arn:aws:s3:::{ingest}/*"
    assert statements["StoreObjectsReadWrite"]["Resource"] == f"arn:aws:s3:::{store}/*"
    assert "s3:DeleteObject" not in statements["StoreObjectsReadWrite"]["Action"]
    assert statements["StoreObjectsDeleteStale"]["Action"] == "s3:DeleteObject"
    assert statements["StoreObjectsDeleteStale"]["Resource"] == [
        f"arn:aws:s3:::{store}/{pattern}"
        for pattern in (
            "requests/*",
            "minute_metrics/*",
            "unmatched_paths/*",
            "_edgesense/ledger/*.intent",
            "_edgesense/repair/*.intent",
        )
    ]
    assert statements["RulesTable"]["Resource"] == table["TableArn"]
    assert statements["RulesTable"]["Action"] == [
        "dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:BatchWriteItem",
    ]  # fmt: skip
    assert statements["GlueCatalog"]["Resource"] == [
        f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog",
        f"arn:aws:glue:us-east-1:{ACCOUNT}:database/edgesense",
        f"arn:aws:glue:us-east-1:{ACCOUNT}:table/edgesense/*",
    ]
    assert statements["MwaaPublishMetrics"]["Resource"] == (
        f"arn:aws:airflow:us-east-1:{ACCOUNT}:environment/edgesense-test"
    )
    assert statements["MwaaSourceBucketRead"]["Resource"] == [SOURCE, f"{SOURCE}/*"]
    assert statements["CloudWatchMetrics"]["Condition"]["StringLike"]["cloudwatch:namespace"] == [
        "edgesense/test", "edgesense/test/*", "edgesense-test/totals", "edgesense-test/totals/*",
    ]  # fmt: skip

    # The alarm topic.
    attrs = c["sns"].get_topic_attributes(TopicArn=out["AlarmTopicArn"])["Attributes"]
    assert attrs["TopicArn"].endswith(":edgesense-test-alarms")
    assert c["sns"].list_subscriptions_by_topic(TopicArn=out["AlarmTopicArn"])["Subscriptions"] == []

    # What moto created, and what it skipped on purpose.
    created = stack_resources(c["cloudformation"], "edgesense-test")
    assert set(created) == SUPPORTED
    assert set(template["Resources"]) == SUPPORTED | NOT_EMULATED | CONDITION_FALSE
    assert {r["ResourceStatus"] for r in created.values()} == {"CREATE_COMPLETE"}
    summaries = c["cloudformation"].list_stack_resources(StackName="edgesense-test")["StackResourceSummaries"]
    skipped = [r for r in summaries if not r["LogicalResourceId"]]  # moto lists them without id or type
    assert len(skipped) == len(NOT_EMULATED | CONDITION_FALSE)
    # Not emulated by moto, so absent from the account (real CloudFormation creates them):
    assert "edgesense" not in {d["Name"] for d in c["glue"].get_databases()["DatabaseList"]}
    # The stack defines no alarm: edgesense_ops owns them all (tests/e2e/test_ops_dag.py).
    assert c["cloudwatch"].describe_alarms()["MetricAlarms"] == []


def test_given_bucket_names_are_used_and_no_bucket_is_created(moto):
    moto.reset()
    c = clients(moto.endpoint)
    for bucket in ("cdn-delivery", "cdn-store"):
        c["s3"].create_bucket(Bucket=bucket)

    stack = deploy(
        c["cloudformation"],
        "edgesense-existing",
        Stage="test",
        MwaaSourceBucketArn=SOURCE,
        IngestBucketName="cdn-delivery",
        StoreBucketName="cdn-store",
    )
    out = outputs(stack)
    created = stack_resources(c["cloudformation"], "edgesense-existing")

    assert "AWS::S3::Bucket" not in {r["ResourceType"] for r in created.values()}
    assert {"IngestBucket", "StoreBucket"}.isdisjoint(created)
    assert {b["Name"] for b in c["s3"].list_buckets()["Buckets"]} == {"cdn-delivery", "cdn-store"}
    # The bucket policies are only for buckets the stack creates.
    assert {"IngestBucketPolicy", "StoreBucketPolicy"}.isdisjoint(created)
    assert (out["IngestBucketName"], out["StoreBucketName"]) == ("cdn-delivery", "cdn-store")

    statements = role_statements(c["iam"], out["ExecutionRoleArn"])
    s3 = {
        sid: as_list(s["Resource"])
        for sid, s in statements.items()
        if any(a.startswith("s3:") for a in as_list(s["Action"])) and s["Resource"] != "*"
    }
    assert s3 == {
        "IngestBucketList": ["arn:aws:s3:::cdn-delivery"],
        "IngestObjectsRead": ["arn:aws:s3:::cdn-delivery/*"],
        "StoreBucketList": ["arn:aws:s3:::cdn-store"],
        "StoreObjectsReadWrite": ["arn:aws:s3:::cdn-store/*"],
        "StoreObjectsDeleteStale": [
            "arn:aws:s3:::cdn-store/requests/*",
            "arn:aws:s3:::cdn-store/minute_metrics/*",
            "arn:aws:s3:::cdn-store/unmatched_paths/*",
            "arn:aws:s3:::cdn-store/_edgesense/ledger/*.intent",
            "arn:aws:s3:::cdn-store/_edgesense/repair/*.intent",
        ],
        "MwaaSourceBucketRead": [SOURCE, f"{SOURCE}/*"],
    }
    assert "edgesense-test" not in json.dumps(s3)

"""The CloudFormation template (deploy/cloudformation/edgesense.yaml): least privilege and lint.

The template is read with a YAML loader that knows CloudFormation's short tags, and its
intrinsic functions are evaluated here for concrete parameter values, so the tests look at
the ARNs CloudFormation would put into the execution role's policy.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mwaa_bundle import MWAA_VERSIONS

from edgesense.config import Settings
from helpers import ROOT, load_cfn

TEMPLATE = ROOT / "deploy" / "cloudformation" / "edgesense.yaml"
ACCOUNT, REGION, PARTITION = "123456789012", "eu-west-1", "aws"
SOURCE_BUCKET = "mwaa-source-bucket"

# The single statement allowed on Resource "*" without a condition (see the template).
PUBLIC_ACCESS_BLOCK = "s3:GetAccountPublicAccessBlock"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return load_cfn(path.read_text())


class Stack:
    """The template with parameter values: evaluates Ref, Sub, If, Join, GetAtt and conditions."""

    def __init__(self, template: dict[str, Any], **params: str) -> None:
        self.template = template
        declared = template["Parameters"]
        unknown = set(params) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.params = {k: str(v.get("Default", "")) for k, v in declared.items()} | params
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": "edgesense-test",
        }

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(x) for x in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, {k: self.resolve(v) for k, v in names.items()})
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            assert not key.startswith("Fn::"), f"{key} is not evaluated by this test"
        return {k: self.resolve(v) for k, v in node.items()}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            kind = self.template["Parameters"][name]["Type"]
            value = self.params[name]
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return [v for v in value.split(",") if v]
            return value
        resource = self.template["Resources"][name]
        if "Condition" in resource:
            assert self.condition(resource["Condition"]), f"Ref to {name}, which is not created"
        props = resource.get("Properties", {})
        # Ref of a bucket or table is its name, which this template always sets.
        name_prop = {"AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName"}
        if resource["Type"] in name_prop:
            return self.resolve(props[name_prop[resource["Type"]]])
        return f"<{name}>"

    def get_att(self, name: str, attribute: str) -> str:
        resource = self.template["Resources"][name]
        if (resource["Type"], attribute) == ("AWS::DynamoDB::Table", "Arn"):
            return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{self.ref(name)}"
        if (resource["Type"], attribute) == ("AWS::S3::Bucket", "Arn"):
            return f"arn:{PARTITION}:s3:::{self.ref(name)}"
        return f"<{name}.{attribute}>"

    def sub(self, text: str, names: dict[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in names:
                return str(names[var])
            if "." in var and not var.startswith("AWS::"):
                return self.get_att(*var.split(".", 1))
            return str(self.ref(var))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    @property
    def role(self) -> dict[str, Any]:
        return self.resolve(self.template["Resources"]["ExecutionRole"]["Properties"])

    @property
    def statements(self) -> list[dict[str, Any]]:
        (policy,) = self.role["Policies"]
        return policy["PolicyDocument"]["Statement"]

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        """The resolved policy document this stack attaches to ``bucket`` (a logical id), if any."""
        found = [
            r
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
        ]
        assert len(found) <= 1, f"more than one policy for {bucket}"
        created = [r for r in found if "Condition" not in r or self.condition(r["Condition"])]
        return self.resolve(created[0]["Properties"]["PolicyDocument"]) if created else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(stmt: dict[str, Any]) -> list[str]:
    return as_list(stmt.get("Action", []))


def resources(stmt: dict[str, Any]) -> list[str]:
    return as_list(stmt.get("Resource", []))


def allows(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's answer for one call, for Allow statements with Resource and StringLike conditions."""
    for s in statements:
        if s["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in actions(s)):
            continue
        if "NotResource" in s or not any(fnmatch.fnmatchcase(resource, r) for r in resources(s)):
            continue
        conditions = s.get("Condition", {})
        assert set(conditions) <= {"StringLike"}, "this helper only evaluates StringLike"
        if all(
            key in context and any(fnmatch.fnmatchcase(context[key], p) for p in as_list(patterns))
            for key, patterns in conditions.get("StringLike", {}).items()
        ):
            return True
    return False


def denies(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether a Deny statement of a bucket policy matches one call (Bool and Null conditions)."""
    for s in policy["Statement"]:
        if s["Effect"] != "Deny" or not any(fnmatch.fnmatchcase(action, a) for a in actions(s)):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in resources(s)):
            continue
        conditions = s.get("Condition", {})
        assert set(conditions) <= {"Bool", "Null"}, "this helper only evaluates Bool and Null"
        # Bool on an absent key does not match; Null "true" matches an absent key.
        bool_ok = all(
            key in context and context[key].lower() == str(value).lower()
            for key, value in conditions.get("Bool", {}).items()
        )
        null_ok = all(
            (key not in context) == (str(value).lower() == "true")
            for key, value in conditions.get("Null", {}).items()
        )
        if bool_ok and null_ok:
            return True
    return False


#: Where the DAGs delete: stale Parquet of a reprocessed or relabelled batch, and the
#: "intent" marker of a CloudWatch call that certainly did not reach CloudWatch.
DELETABLE = ("requests/*", "minute_metrics/*", "unmatched_paths/*", "_edgesense/ledger/*.intent",
             "_edgesense/repair/*.intent")  # fmt: skip
#: The exactly-once state the code writes only with If-None-Match or If-Match.
CONDITIONAL_PREFIXES = (
    "_edgesense/manifests/",
    "_edgesense/objects/",
    "_edgesense/ledger/",
    "_edgesense/plans/",
    "_edgesense/budget/",
    "_edgesense/repair/",
)
TLS = {"aws:SecureTransport": "true"}
#: A PutObject (or CompleteMultipartUpload) request, as S3 sets its condition keys.
CREATE = {**TLS, "s3:ObjectCreationOperation": "true"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(
    params=[
        {"Stage": "dev", "MwaaSourceBucketArn": f"arn:aws:s3:::{SOURCE_BUCKET}"},
        {
            "Stage": "prod",
            "MwaaSourceBucketArn": f"arn:aws:s3:::{SOURCE_BUCKET}",
            "IngestBucketName": "cdn-logs-in",
            "StoreBucketName": "cdn-logs-out",
            "RulesTableName": "my-rules",
            "GlueDatabaseName": "edgesense_prod",
            "MwaaEnvironmentName": "analytics",
        },
    ],
    ids=["created-resources", "given-names"],
)
def stack(request: pytest.FixtureRequest, template: dict[str, Any]) -> Stack:
    return Stack(template, **request.param)


def names(stack: Stack) -> dict[str, str]:
    p = stack.params
    return {
        "ingest": p["IngestBucketName"] or f"edgesense-{p['Stage']}-ingest-{ACCOUNT}",
        "store": p["StoreBucketName"] or f"edgesense-{p['Stage']}-store-{ACCOUNT}",
        "table": p["RulesTableName"] or f"edgesense-{p['Stage']}-rules",
        "db": p["GlueDatabaseName"],
        "env": p["MwaaEnvironmentName"] or f"edgesense-{p['Stage']}",
    }


def test_the_template_passes_cfn_lint():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)

    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_statement_allows_every_action_or_a_whole_service(stack):
    for s in stack.statements:
        assert "NotAction" not in s, s["Sid"]
        for a in actions(s):
            assert a != "*", s["Sid"]
            assert not re.fullmatch(r"[a-z0-9-]+:\*", a), f"{s['Sid']}: {a}"


def test_every_statement_has_a_sid_and_allows(stack):
    sids = [s.get("Sid") for s in stack.statements]

    assert all(sids)
    assert len(set(sids)) == len(sids)
    assert {s["Effect"] for s in stack.statements} == {"Allow"}


def test_resource_star_is_only_the_documented_exception_or_conditioned(stack):
    unconditioned = [s for s in stack.statements if "*" in resources(s) and "Condition" not in s]

    assert len(unconditioned) == 1, [s["Sid"] for s in unconditioned]
    (exception,) = unconditioned
    assert actions(exception) == [PUBLIC_ACCESS_BLOCK]
    assert resources(exception) == ["*"]
    for s in stack.statements:
        if "NotResource" in s:
            assert s.get("Condition"), f"{s['Sid']}: NotResource without a Condition"
        for r in resources(s):
            if r != "*":
                assert r.startswith(f"arn:{PARTITION}:"), f"{s['Sid']}: {r}"


def test_the_kms_statement_is_only_for_mwaas_sqs_queues(stack):
    (kms,) = [s for s in stack.statements if any(a.startswith("kms:") for a in actions(s))]

    assert kms["NotResource"] == f"arn:{PARTITION}:kms:*:{ACCOUNT}:key/*"
    assert kms["Condition"] == {"StringLike": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}}


def test_put_metric_data_has_a_namespace_condition_for_this_stage_in_both_shapes(stack):
    (stmt,) = [s for s in stack.statements if "cloudwatch:PutMetricData" in actions(s)]
    stage = stack.params["Stage"]

    assert actions(stmt) == ["cloudwatch:PutMetricData"]
    patterns = stmt["Condition"]["StringLike"]["cloudwatch:namespace"]
    for shape in ("default", "original"):
        mine = Settings(stage=stage, metrics_shape=shape)
        other = Settings(stage=f"{stage}x", metrics_shape=shape)
        for ns in (mine.effective_namespace, mine.pipeline_namespace):
            assert allows(stack.statements, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": ns}), ns
        for ns in (other.effective_namespace, other.pipeline_namespace):
            assert not any(fnmatch.fnmatchcase(ns, p) for p in patterns), ns


def test_s3_statements_name_only_the_data_buckets_and_the_mwaa_source_bucket(stack):
    n = names(stack)
    for s in stack.statements:
        if not any(a.startswith("s3:") for a in actions(s)) or actions(s) == [PUBLIC_ACCESS_BLOCK]:
            continue
        matches = [
            re.fullmatch(r"arn:aws:s3:::([a-z0-9.-]+)(/([a-z0-9_]+/)*\*(\.intent)?)?", r)
            for r in resources(s)
        ]
        assert all(matches), f"{s['Sid']}: {resources(s)}"
        buckets = {m.group(1) for m in matches}
        expected = {SOURCE_BUCKET} if s["Sid"] == "MwaaSourceBucketRead" else {n["ingest"], n["store"]}
        assert buckets, s["Sid"]
        assert buckets <= expected, f"{s['Sid']}: {buckets}"


def test_the_ingest_bucket_is_read_only_and_the_store_bucket_read_write(stack):
    n = names(stack)
    ingest_obj = f"arn:aws:s3:::{n['ingest']}/logs/2026/11/01/00/x.gz"
    store_state = f"arn:aws:s3:::{n['store']}/_edgesense/manifests/x.json"
    store_parquet = f"arn:aws:s3:::{n['store']}/requests/dt=2026-11-01/hour=00/x.parquet"

    assert allows(stack.statements, "s3:GetObject", ingest_obj, {})
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert not allows(stack.statements, action, ingest_obj, {}), action
        assert allows(stack.statements, action, store_parquet, {}), action
    for action in ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"):
        assert allows(stack.statements, action, store_state, {}), action


def test_the_role_allows_every_call_the_dags_make(stack):
    n = names(stack)
    ingest, store = f"arn:aws:s3:::{n['ingest']}", f"arn:aws:s3:::{n['store']}"
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n['table']}"
    calls = [
        *[(a, ingest) for a in ("s3:ListBucket", "s3:GetBucketLocation")],
        ("s3:GetObject", f"{ingest}/logs/x.gz"),
        *[(a, store) for a in ("s3:ListBucket", "s3:GetBucketLocation")],
        *[
            (a, f"{store}/requests/dt=2026-11-01/hour=00/x.parquet")
            for a in (
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            )
        ],
        *[
            ("s3:DeleteObject", f"{store}/{p}dt=2026-11-01/x.parquet")
            for p in ("requests/", "minute_metrics/", "unmatched_paths/")
        ],
        (
            "s3:DeleteObject",
            f"{store}/_edgesense/ledger/20261101T000000-20261101T000100-0/call-000000.intent",
        ),
        *[("s3:PutObject", f"{store}/{p}x.json") for p in CONDITIONAL_PREFIXES],
        ("s3:PutObject", f"{store}/quarantine/logs/x.gz"),
        *[(f"dynamodb:{a}", table) for a in ("Scan", "BatchWriteItem", "DescribeTable")],
        *[
            (f"glue:{a}", arn)
            for a in ("GetDatabase", "CreateDatabase")
            for arn in (f"{glue}:catalog", f"{glue}:database/{n['db']}")
        ],
        *[
            (f"glue:{a}", arn)
            for a in (
                "GetTable",
                "CreateTable",
                "UpdateTable",
                "GetPartition",
                "GetPartitions",
                "BatchCreatePartition",
                "CreatePartition",
            )
            for arn in (f"{glue}:catalog", f"{glue}:database/{n['db']}", f"{glue}:table/{n['db']}/requests")
        ],
        ("airflow:PublishMetrics", f"arn:aws:airflow:{REGION}:{ACCOUNT}:environment/{n['env']}"),
        (
            "logs:PutLogEvents",
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:airflow-{n['env']}-Task:log-stream:x",
        ),
        ("sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:999999999999:airflow-celery-abc"),
        ("s3:GetObject", f"arn:aws:s3:::{SOURCE_BUCKET}/plugins.zip"),
        (PUBLIC_ACCESS_BLOCK, "*"),
    ]
    missing = [(a, r) for a, r in calls if not allows(stack.statements, a, r, {})]

    assert not missing


def test_dynamodb_statements_name_only_the_rules_table(stack):
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names(stack)['table']}"
    ddb = [s for s in stack.statements if any(a.startswith("dynamodb:") for a in actions(s))]

    assert ddb
    for s in ddb:
        assert resources(s) == [table], s["Sid"]


def test_glue_statements_name_only_the_catalog_the_database_and_its_tables(stack):
    db = names(stack)["db"]
    prefix = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    allowed = {f"{prefix}:catalog", f"{prefix}:database/{db}", f"{prefix}:table/{db}/*"}
    glue = [s for s in stack.statements if any(a.startswith("glue:") for a in actions(s))]

    assert glue
    for s in glue:
        assert set(resources(s)) <= allowed, s["Sid"]


def test_only_mwaa_for_this_environment_and_account_can_assume_the_role(stack):
    (trust,) = stack.role["AssumeRolePolicyDocument"]["Statement"]
    env = names(stack)["env"]

    assert trust["Principal"] == {"Service": ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]}
    assert trust["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:airflow:{REGION}:{ACCOUNT}:environment/{env}"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }


def test_the_ingest_bucket_lifecycle_expiry_uses_the_ingest_expiration_days_parameter(template):
    (rule,) = template["Resources"]["IngestBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    assert rule["ExpirationInDays"] == {"Ref": "IngestExpirationDays"}
    assert rule["Status"] == "Enabled"
    assert "Prefix" not in rule  # the whole bucket
    assert "Filter" not in rule
    assert template["Parameters"]["IngestExpirationDays"]["Default"] == 1


def test_the_store_bucket_expires_rejects_but_never_the_state_or_the_tables(template):
    rules = template["Resources"]["StoreBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if "ExpirationInDays" in r or "ExpirationDate" in r]

    assert [(r["Prefix"], r["ExpirationInDays"]) for r in expiring] == [("rejects/", 30)]
    for r in rules:
        assert not str(r.get("Prefix", "-")).startswith("_edgesense"), r


def test_buckets_block_public_access_and_encrypt(template):
    for name in ("IngestBucket", "StoreBucket"):
        props = template["Resources"][name]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", name
    # The ingest bucket is not versioned: its expiry would only turn logs into noncurrent
    # versions that nothing expires (the store bucket, versioned, has a rule for them).
    assert "VersioningConfiguration" not in template["Resources"]["IngestBucket"]["Properties"]


def test_the_rules_table_is_keyed_by_id_on_demand_with_point_in_time_recovery(template):
    props = template["Resources"]["RulesTable"]["Properties"]

    assert props["KeySchema"] == [{"AttributeName": "Id", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_airflow_versions_are_the_ones_the_mwaa_bundle_builds(template):
    param = template["Parameters"]["AirflowVersion"]

    assert param["AllowedValues"] == list(MWAA_VERSIONS)
    assert param["Default"] in MWAA_VERSIONS


def test_the_role_may_read_metrics_back_in_its_own_region_only(stack):
    """GetMetricData (the reconciliation) has no resource type: a region condition bounds it."""
    assert allows(stack.statements, "cloudwatch:GetMetricData", "*", {"aws:RequestedRegion": REGION})
    assert not allows(
        stack.statements, "cloudwatch:GetMetricData", "*", {"aws:RequestedRegion": "ap-south-1"}
    )


def test_the_role_may_manage_exactly_the_alarms_and_dashboards_the_ops_dag_names_for_its_stage(stack):
    """Names from the code that makes them (edgesense.alarms, edgesense.dashboards), so the
    policy and the ops DAG cannot drift apart; another stage's or a user's alarm is out of reach."""
    from edgesense.alarms import Thresholds, desired
    from edgesense.dashboards import Target, bodies

    stage = stack.params["Stage"]
    names = [a.name for a in desired(stage, f"edgesense/{stage}", f"edgesense/{stage}/pipeline",
                                     ["www.example.com"], Thresholds(), shape="default", signals=("Requests",))]  # fmt: skip
    alarm_arn = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{{}}"
    for action in ("cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"):
        for name in names:
            assert allows(stack.statements, action, alarm_arn.format(name), {}), (action, name)
        assert not allows(stack.statements, action, alarm_arn.format("edgesense-other-ingest-lag"), {})
        assert not allows(stack.statements, action, alarm_arn.format("billing-alarm"), {})
    for name in bodies(Target(f"edgesense/{stage}", f"edgesense/{stage}/pipeline"), stage):
        arn = f"arn:{PARTITION}:cloudwatch::{ACCOUNT}:dashboard/{name}"
        assert allows(stack.statements, "cloudwatch:PutDashboard", arn, {}), name
        assert allows(stack.statements, "cloudwatch:GetDashboard", arn, {}), name
    assert not allows(stack.statements, "cloudwatch:PutDashboard",
                      f"arn:{PARTITION}:cloudwatch::{ACCOUNT}:dashboard/finance", {})  # fmt: skip


def test_the_mwaa_environment_is_optional_and_needs_a_network(template):
    enabled = {"Stage": "dev", "MwaaSourceBucketArn": f"arn:aws:s3:::{SOURCE_BUCKET}"}

    assert template["Resources"]["MwaaEnvironment"]["Condition"] == "MwaaEnvironmentEnabled"
    assert not Stack(template, **enabled).condition("MwaaEnvironmentEnabled")
    assert not Stack(template, **enabled, CreateMwaaEnvironment="true").condition("MwaaEnvironmentEnabled")
    networked = Stack(template, **enabled, CreateMwaaEnvironment="true", SubnetIds="subnet-1,subnet-2",
                      SecurityGroupIds="sg-1")  # fmt: skip
    assert networked.condition("MwaaEnvironmentEnabled")
    env = networked.resolve(template["Resources"]["MwaaEnvironment"]["Properties"])
    assert env["NetworkConfiguration"] == {
        "SubnetIds": ["subnet-1", "subnet-2"],
        "SecurityGroupIds": ["sg-1"],
    }
    assert (env["DagS3Path"], env["PluginsS3Path"], env["RequirementsS3Path"], env["StartupScriptS3Path"]) == (
        "dags", "plugins.zip", "requirements.txt", "startup.sh"
    )  # fmt: skip
    assert env["ExecutionRoleArn"] == "<ExecutionRole.Arn>"
    # With CreateMwaaEnvironment=true and no network, the stack fails on this rule
    # instead of silently skipping the environment.
    assert "MwaaEnvironmentNeedsNetwork" in template["Rules"]


def test_delete_object_is_allowed_only_on_the_stale_parquet_tables_and_the_ledger(stack):
    store = f"arn:aws:s3:::{names(stack)['store']}"
    deleting = [
        s for s in stack.statements if any(fnmatch.fnmatchcase("s3:DeleteObject", a) for a in actions(s))
    ]

    assert [actions(s) for s in deleting] == [["s3:DeleteObject"]]
    assert sorted(r for s in deleting for r in resources(s)) == sorted(f"{store}/{p}" for p in DELETABLE)
    for key in (
        "requests/dt=2026-11-01/hour=00/20261101T000000-20261101T000100-0.parquet",
        "minute_metrics/dt=2026-11-01/x.parquet",
        "unmatched_paths/dt=2026-11-01/hour=00/x.parquet",
        "_edgesense/ledger/20261101T000000-20261101T000100-0/call-000003.intent",
        "_edgesense/repair/20261101T000000-20261101T000100-0/call-000003.0123456789abcdef.intent",
    ):
        assert allows(stack.statements, "s3:DeleteObject", f"{store}/{key}", {}), key


def test_delete_object_is_not_allowed_on_the_manifests_plans_objects_or_any_other_state(stack):
    n = names(stack)
    store = f"arn:aws:s3:::{n['store']}"
    for key in (
        "_edgesense/manifests/x.json",
        "_edgesense/plans/x.json.gz",
        "_edgesense/objects/logs/2026/11/01/00/x.gz.json",
        "_edgesense/budget/volumes.json",
        "_edgesense/ledger/20261101T000000-20261101T000100-0/call-000003.0123456789abcdef.done",
        "_edgesense/repair/20261101T000000-20261101T000100-0/call-000003.0123456789abcdef.done",
        "_edgesense/locks/claim.lock",
        "_edgesense/rules/latest.json",
        "quarantine/logs/x.gz",
        "rejects/x.jsonl.gz",
        "requests",  # the prefixes need their slash
        "requests.parquet",
        "minute_metrics_old/x.parquet",
    ):
        assert not allows(stack.statements, "s3:DeleteObject", f"{store}/{key}", {}), key
    assert not allows(stack.statements, "s3:DeleteObject", f"arn:aws:s3:::{n['ingest']}/requests/x", {})
    assert not any("s3:DeleteObjectVersion" in actions(s) for s in stack.statements)


def test_the_role_has_only_the_dynamodb_actions_the_dags_call(stack):
    ddb = {a for s in stack.statements for a in actions(s) if a.startswith("dynamodb:")}

    assert ddb == {"dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:BatchWriteItem"}
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names(stack)['table']}"
    for unused in ("PutItem", "DeleteItem", "GetItem", "Query", "UpdateItem", "BatchGetItem"):
        assert not allows(stack.statements, f"dynamodb:{unused}", table, {}), unused


def test_the_store_bucket_is_versioned_and_noncurrent_versions_expire(template):
    props = template["Resources"]["StoreBucket"]["Properties"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}

    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    noncurrent = rules["ExpireNoncurrentVersions"]
    assert noncurrent["Status"] == "Enabled"
    assert 1 <= noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 90
    assert "Prefix" not in noncurrent  # the whole bucket
    assert "Filter" not in noncurrent
    # Only noncurrent versions: the current state and tables never expire.
    assert "ExpirationInDays" not in noncurrent
    assert "ExpirationDate" not in noncurrent
    assert {"ExpireRejectSamples", "AbortIncompleteUploads"} <= set(rules)


def test_every_bucket_the_stack_creates_denies_requests_without_tls(stack):
    n = names(stack)
    for logical, created, bucket in (
        ("IngestBucket", stack.condition("CreateIngestBucket"), n["ingest"]),
        ("StoreBucket", stack.condition("CreateStoreBucket"), n["store"]),
    ):
        policy = stack.bucket_policy(logical)
        if not created:
            assert policy is None, logical  # an existing bucket keeps its owner's policy
            continue
        assert policy is not None, logical
        (tls,) = [
            s for s in policy["Statement"] if "aws:SecureTransport" in s.get("Condition", {}).get("Bool", {})
        ]
        assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
        assert sorted(resources(tls)) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
        for action, resource in (
            ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            ("s3:GetObject", f"arn:aws:s3:::{bucket}/logs/x.gz"),
            ("s3:PutObject", f"arn:aws:s3:::{bucket}/requests/x.parquet"),
        ):
            assert denies(policy, action, resource, {"aws:SecureTransport": "false"}), (logical, action)
            assert not denies(policy, action, resource, TLS), (logical, action)


def test_bucket_policies_exist_only_for_the_two_buckets_the_stack_creates(template):
    stack = Stack(template, Stage="dev", MwaaSourceBucketArn=f"arn:aws:s3:::{SOURCE_BUCKET}")
    policies = {r["Properties"]["Bucket"]["Ref"]: r for r in template["Resources"].values()
                if r["Type"] == "AWS::S3::BucketPolicy"}  # fmt: skip

    assert set(policies) == {"IngestBucket", "StoreBucket"}
    assert policies["IngestBucket"]["Condition"] == "CreateIngestBucket"
    assert policies["StoreBucket"]["Condition"] == "CreateStoreBucket"
    assert stack.bucket_policy("IngestBucket")
    assert stack.bucket_policy("StoreBucket")


def test_put_object_on_the_exactly_once_state_is_denied_without_a_conditional_header(template):
    stack = Stack(template, Stage="dev", MwaaSourceBucketArn=f"arn:aws:s3:::{SOURCE_BUCKET}")
    policy = stack.bucket_policy("StoreBucket")
    store = f"arn:aws:s3:::{names(stack)['store']}"

    for prefix in CONDITIONAL_PREFIXES:
        obj = f"{store}/{prefix}20261101T000000-20261101T000100-0.json"
        assert denies(policy, "s3:PutObject", obj, CREATE), prefix
        assert not denies(policy, "s3:PutObject", obj, {**CREATE, "s3:if-none-match": "*"}), prefix
        assert not denies(policy, "s3:PutObject", obj, {**CREATE, "s3:if-match": '"0123abcd"'}), prefix
        # CreateMultipartUpload and UploadPart authorise as s3:PutObject but cannot carry
        # the headers; S3 sets s3:ObjectCreationOperation false for them.
        part = {**TLS, "s3:ObjectCreationOperation": "false"}
        assert not denies(policy, "s3:PutObject", obj, part), prefix
        # The role still allows the conditional write itself.
        assert allows(stack.statements, "s3:PutObject", obj, {}), prefix


def test_conditional_write_enforcement_leaves_the_tables_quarantine_and_other_state_alone(template):
    stack = Stack(template, Stage="dev", MwaaSourceBucketArn=f"arn:aws:s3:::{SOURCE_BUCKET}")
    policy = stack.bucket_policy("StoreBucket")
    store = f"arn:aws:s3:::{names(stack)['store']}"
    (stmt,) = [s for s in policy["Statement"] if "Null" in s.get("Condition", {})]

    assert (stmt["Effect"], stmt["Principal"], stmt["Action"]) == ("Deny", "*", "s3:PutObject")
    assert stmt["Condition"] == {
        "Null": {"s3:if-none-match": "true", "s3:if-match": "true"},
        "Bool": {"s3:ObjectCreationOperation": "true"},
    }
    assert sorted(resources(stmt)) == sorted(f"{store}/{p}*" for p in CONDITIONAL_PREFIXES)
    # Written with plain PutObject, upload_file (multipart) or CopyObject (quarantine).
    for key in (
        "requests/dt=2026-11-01/hour=00/x.parquet",
        "minute_metrics/dt=2026-11-01/x.parquet",
        "unmatched_paths/dt=2026-11-01/hour=00/x.parquet",
        "quarantine/logs/x.gz",
        "rejects/x.jsonl.gz",
        "_edgesense/rules/latest.json",
        "_edgesense/manifests",  # only what is under the prefix
    ):
        assert not denies(policy, "s3:PutObject", f"{store}/{key}", CREATE), key


def test_the_role_may_publish_only_to_this_stacks_alarm_topic(stack):
    (stmt,) = [s for s in stack.statements if "sns:Publish" in actions(s)]
    assert actions(stmt) == ["sns:Publish"]
    assert resources(stmt) == [
        f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:edgesense-{stack.params['Stage']}-alarms"
    ]

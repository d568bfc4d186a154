"""Settings, read from ``EDGESENSE_*`` environment variables at task run time.

Nothing here is read at DAG parse time. Every field has a default that works with the
local embedded AWS; production deployments set the variables (MWAA: a startup script or
environment configuration). ``tests/unit/test_config.py`` checks that the README's
configuration table lists every field of :data:`FIELDS`, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from edgesense.alarms import Thresholds
from edgesense.anomaly import THRESHOLD
from edgesense.metrics import Window

MetricsShape = Literal["default", "original"]


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know that is not in the DAG run's params."""

    aws_conn_id: str = field(default="aws_default", metadata={"doc": "Airflow connection for every AWS hook"})
    stage: str = field(default="dev", metadata={"doc": "Deployment stage, used in default names"})
    ingest_bucket: str = field(default="edgesense-ingest", metadata={"doc": "Bucket the CDN delivers to"})
    key_layout: str = field(
        default="logs/{%Y}/{%m}/{%d}/{%H}/",
        metadata={"doc": "Folder layout of delivered objects, with DataStream time variables"},
    )
    prefix_lookback_minutes: int = field(
        default=60,
        metadata={"doc": "How far before an interval the folder time of an object may lie"},
    )
    settle_seconds: int = field(
        default=120, metadata={"doc": "Wait after an interval ends before listing it (late uploads)"}
    )
    store_bucket: str = field(
        default="edgesense-store", metadata={"doc": "Bucket for Parquet, rejects, quarantine and state"}
    )
    rules_table: str = field(
        default="edgesense-rules", metadata={"doc": "DynamoDB table of URL-pattern rules"}
    )
    glue_database: str = field(default="edgesense", metadata={"doc": "Glue (Athena) database"})
    namespace: str = field(
        default="", metadata={"doc": "CloudWatch namespace; empty means `edgesense/<stage>`"}
    )
    metrics_shape: MetricsShape = field(
        default="default",
        metadata={"doc": "`default`, or `original` for the original's namespace and dimensions"},
    )
    unmatched_name: str = field(
        default="", metadata={"doc": "Pattern id for unmatched paths (default `Unmatched`)"}
    )
    max_patterns_per_host: int = field(
        default=0,
        metadata={"doc": "Cardinality budget: UrlPatternId values per host in CloudWatch (0 = no limit)"},
    )
    budget_window_hours: int = field(
        default=24, metadata={"doc": "Window of traffic volume that ranks patterns for the budget"}
    )
    unmatched_top: int = field(
        default=1000, metadata={"doc": "Unmatched paths kept per batch and hour in `unmatched_paths/`"}
    )
    alert_topic_arn: str = field(
        default="",
        metadata={
            "doc": "SNS topic for task failures (and, with the ops DAG, alarms); empty: failures are only "
            "logged. The stack's AlarmTopicArn output"
        },
    )
    alarm_error_rate_percent: float = field(
        default=5.0,
        metadata={"doc": "Per-host alarm: 5XX above this % of a host's requests in 3 of 5 minutes"},
    )
    alarm_error_rate_min_requests: int = field(
        default=20,
        metadata={"doc": "Minutes of a host with fewer requests do not count for its 5XX-rate alarm"},
    )
    alarm_stopped_minutes: int = field(
        default=10,
        metadata={"doc": "Alarm when no line was processed for this many minutes (missing = breaching)"},
    )
    alarm_reject_ratio: float = field(
        default=0.01, metadata={"doc": "Alarm when rejected / all lines of 5 minutes exceed this"}
    )
    alarm_ingest_lag_seconds: int = field(
        default=600, metadata={"doc": "Alarm when IngestLagSeconds stays above this for 15 minutes"}
    )
    anomaly_threshold: float = field(
        default=THRESHOLD,
        metadata={"doc": "AnomalyScore (robust deviations) at which a host's anomaly alarm fires"},
    )
    host_quiet_hours: int = field(
        default=24,
        metadata={"doc": "A host unseen in `minute_metrics` this long loses its alarms and dashboard lines"},
    )
    repair_settle_minutes: int = field(
        default=150,
        metadata={
            "doc": "The repair waits this long after a lost call was sent (CloudWatch may take 2 h to settle)"
        },
    )
    repair_settle_old_hours: float = field(
        default=50.0,
        metadata={"doc": "The same wait for a call whose points were a day old or more when sent (CloudWatch may "
                         "take 48 h to show those)"},
    )  # fmt: skip
    reject_threshold: float = field(
        default=0.05, metadata={"doc": "Fail a run when rejected lines / all lines exceed this"}
    )
    archive_interval_minutes: int = field(
        default=60,
        metadata={"doc": "Length of an `edgesense_archive` interval: the batches claimed in it become one "
                         "file set per event hour in `requests/`"},
    )  # fmt: skip
    archive_grace_minutes: int = field(
        default=20,
        metadata={"doc": "How long after an archive interval ends it waits for that interval's batches to be "
                         "aggregated; batches still without a plan are then left out, with a warning"},
    )  # fmt: skip
    reject_sample_size: int = field(default=100, metadata={"doc": "Rejected lines sampled per batch"})
    max_age_days: float = field(default=14.0, metadata={"doc": "Older datums are not sent to CloudWatch"})
    max_future_hours: float = field(default=2.0, metadata={"doc": "Datums further ahead are not sent"})
    publish_base_delay: float = field(default=0.3, metadata={"doc": "First back-off delay (s) on throttling"})
    publish_max_attempts: int = field(default=8, metadata={"doc": "Attempts per PutMetricData call"})
    shard_mb: float = field(
        default=256.0,
        metadata={"doc": "Compressed MB per shard: an interval's new objects become batches of at most this "
                         "size, each aggregated and published by its own mapped task (Airflow 3; one "
                         "task in turn on 2.11)"},
    )  # fmt: skip
    max_inflate_ratio: float = field(
        default=200.0,
        metadata={"doc": "An object that inflates to more than this many times its compressed size (and more "
                         "than 16 MiB) is quarantined as a possible gzip bomb"},
    )  # fmt: skip
    max_object_inflated_mb: float = field(
        default=4096.0, metadata={"doc": "An object that inflates to more MiB than this is quarantined"}
    )
    max_batch_inflated_mb: float = field(
        default=4096.0,
        metadata={
            "doc": "Inflated MiB per batch; objects past it are quarantined (replay them from there). "
            "Hostile input read line by line takes ~100 s per GiB, so the default fits "
            "aggregate_batch's 10-minute execution_timeout"
        },
    )
    max_event_age_days: float = field(
        default=30.0,
        metadata={"doc": "Lines whose event time is more than this before their object landed are rejected"},
    )
    max_event_ahead_hours: float = field(
        default=24.0,
        metadata={"doc": "Lines whose event time is more than this after their object landed are rejected"},
    )
    duckdb_threads: int = field(default=2, metadata={"doc": "DuckDB threads per task"})
    duckdb_memory_limit: str = field(default="1GB", metadata={"doc": "DuckDB memory limit per task"})
    structured_fields: str = field(
        default="",
        metadata={"doc": "Comma-separated DS2 field keys, in stream order, to read STRUCTURED logs"},
    )
    work_dir: str = field(default="", metadata={"doc": "Local scratch directory (default: system temp)"})

    @property
    def effective_namespace(self) -> str:
        if self.metrics_shape == "original":
            return self.namespace or f"edgesense-{self.stage}/totals"
        return self.namespace or f"edgesense/{self.stage}"

    @property
    def pipeline_namespace(self) -> str:
        return f"{self.effective_namespace}/pipeline"

    @property
    def effective_unmatched(self) -> str:
        if self.unmatched_name:
            return self.unmatched_name
        return "undefined" if self.metrics_shape == "original" else "Unmatched"

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            error_rate_percent=self.alarm_error_rate_percent,
            error_rate_min_requests=self.alarm_error_rate_min_requests,
            stopped_minutes=self.alarm_stopped_minutes, reject_ratio=self.alarm_reject_ratio,
            ingest_lag_seconds=self.alarm_ingest_lag_seconds, anomaly_score=self.anomaly_threshold,
        )  # fmt: skip

    @property
    def cloudwatch_window(self) -> Window:
        """What is sent to CloudWatch: the plan leaves out the rest, the publisher checks again."""
        return Window(
            max_age=timedelta(days=self.max_age_days), max_future=timedelta(hours=self.max_future_hours)
        )

    @property
    def structured_field_list(self) -> list[str]:
        return [f.strip() for f in self.structured_fields.split(",") if f.strip()]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``EDGESENSE_<FIELD>`` variables; ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"EDGESENSE_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.metrics_shape not in ("default", "original"):
            raise ValueError(
                f"EDGESENSE_METRICS_SHAPE must be 'default' or 'original', not {self.metrics_shape!r}"
            )
        if not 0 <= self.reject_threshold <= 1:
            raise ValueError("EDGESENSE_REJECT_THRESHOLD must be between 0 and 1")
        if not 1 <= self.archive_interval_minutes <= 1440 or 1440 % self.archive_interval_minutes:
            raise ValueError("EDGESENSE_ARCHIVE_INTERVAL_MINUTES must divide a day (e.g. 15, 30, 60)")
        if self.archive_grace_minutes < 0:
            raise ValueError("EDGESENSE_ARCHIVE_GRACE_MINUTES must be >= 0")
        if self.settle_seconds < 0 or self.prefix_lookback_minutes < 0:
            raise ValueError("EDGESENSE_SETTLE_SECONDS and EDGESENSE_PREFIX_LOOKBACK_MINUTES must be >= 0")
        if self.duckdb_threads < 1:
            raise ValueError("EDGESENSE_DUCKDB_THREADS must be >= 1")
        if self.repair_settle_minutes < 0 or self.repair_settle_old_hours < 0:
            raise ValueError(
                "EDGESENSE_REPAIR_SETTLE_MINUTES and EDGESENSE_REPAIR_SETTLE_OLD_HOURS must be >= 0"
            )
        if not 1 <= self.alarm_stopped_minutes <= 1440:
            raise ValueError(
                "EDGESENSE_ALARM_STOPPED_MINUTES must be from 1 to 1440 (an alarm looks back a day at most)"
            )
        if not 0 <= self.alarm_reject_ratio <= 1:
            raise ValueError("EDGESENSE_ALARM_REJECT_RATIO must be between 0 and 1")
        if not self.shard_mb > 0:
            raise ValueError("EDGESENSE_SHARD_MB must be > 0")
        for name in ("max_inflate_ratio", "max_object_inflated_mb", "max_batch_inflated_mb",
                     "max_event_age_days", "max_event_ahead_hours", "host_quiet_hours",
                     "alarm_ingest_lag_seconds", "anomaly_threshold", "alarm_error_rate_percent"):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ValueError(f"EDGESENSE_{name.upper()} must be > 0")


FIELDS = dataclasses.fields(Settings)


def _coerce(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"EDGESENSE_{f.name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw

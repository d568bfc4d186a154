"""Recent request volume per host and pattern, kept in S3 for the cardinality budget.

One small JSON document, updated by every batch with optimistic concurrency
(If-Match on its ETag), so concurrent runs never overwrite each other's counts.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from edgesense.aws.s3 import STATE_PREFIX, is_not_found, is_precondition_failed
from edgesense.budget import Volumes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

VOLUMES_KEY = f"{STATE_PREFIX}budget/volumes.json"


class VolumeStore:
    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self.s3, self.bucket = s3_client, bucket

    def read(self) -> Volumes:
        try:
            return json.loads(self.s3.get_object(Bucket=self.bucket, Key=VOLUMES_KEY)["Body"].read())
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            return {}

    def update(self, change: Callable[[Volumes], Volumes], attempts: int = 20) -> Volumes:
        for _ in range(attempts):
            try:
                got = self.s3.get_object(Bucket=self.bucket, Key=VOLUMES_KEY)
                current, cond = json.loads(got["Body"].read()), {"IfMatch": got["ETag"]}
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                current, cond = {}, {"IfNoneMatch": "*"}
            new = change(current)
            try:
                self.s3.put_object(Bucket=self.bucket, Key=VOLUMES_KEY, Body=json.dumps(new).encode(), **cond)
                return new
            except ClientError as exc:
                if not is_precondition_failed(exc):
                    raise
                time.sleep(0.05 + random.random() * 0.2)
        raise RuntimeError(f"s3://{self.bucket}/{VOLUMES_KEY} kept changing under {attempts} attempts")

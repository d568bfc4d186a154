"""A lease on an S3 object, built only from conditional writes (If-None-Match / If-Match).

Every transition is a single conditional PUT, so two workers can never both believe they
hold the lease: taking a free lease, taking over an expired one, renewing and releasing
all fail with PreconditionFailed if anyone else wrote the object in between. The object
is never deleted; a released lease is one whose expiry lies in the past.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from edgesense.aws import is_not_found, is_precondition_failed

log = logging.getLogger(__name__)


class LockLost(RuntimeError):
    """The lease expired and someone else took it; the work done under it must not be committed."""


class S3Lease:
    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        ttl: timedelta = timedelta(minutes=5),
        wait: float = 300.0,
    ) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.ttl, self.wait = ttl, wait
        self.owner = uuid.uuid4().hex
        self.etag: str | None = None
        self.expires: datetime | None = None

    def _body(self, expires: datetime) -> bytes:
        return json.dumps({"owner": self.owner, "expires": expires.isoformat()}).encode()

    def _put(self, expires: datetime, **cond: str) -> str:
        return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(expires), **cond)[
            "ETag"
        ]

    def acquire(self) -> S3Lease:
        deadline = time.monotonic() + self.wait
        while True:
            expires = datetime.now(UTC) + self.ttl
            try:
                self.etag, self.expires = self._put(expires, IfNoneMatch="*"), expires
                return self
            except Exception as exc:
                if not is_precondition_failed(exc):
                    raise
            try:
                held = self.client.get_object(Bucket=self.bucket, Key=self.key)
                doc = json.loads(held["Body"].read())
                if datetime.fromisoformat(doc["expires"]) < datetime.now(UTC):
                    # Free (released) or abandoned: take it over only if nobody wrote it since we read it.
                    self.etag, self.expires = self._put(expires, IfMatch=held["ETag"]), expires
                    return self
            except Exception as exc:
                if not (is_precondition_failed(exc) or is_not_found(exc)):
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"lease s3://{self.bucket}/{self.key} still held after {self.wait:.0f}s")
            time.sleep(0.1 + random.random() * 0.3)

    def ensure(self, margin: timedelta = timedelta(seconds=30)) -> None:
        """Renew the lease (raising LockLost if it is gone) unless it has plenty of time left."""
        if self.expires and self.expires - datetime.now(UTC) > self.ttl / 2 + margin:
            return
        expires = datetime.now(UTC) + self.ttl
        try:
            self.etag, self.expires = self._put(expires, IfMatch=self.etag), expires
        except Exception as exc:
            if is_precondition_failed(exc):
                raise LockLost(f"lost the lease s3://{self.bucket}/{self.key}") from exc
            raise

    def release(self) -> None:
        try:
            self._put(datetime(1970, 1, 1, tzinfo=UTC), IfMatch=self.etag)
        except Exception as exc:
            if is_precondition_failed(exc):
                log.warning("lease s3://%s/%s was taken over before release", self.bucket, self.key)
                return
            raise

    def __enter__(self) -> S3Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

"""S3 helpers every adapter shares: conditional writes, listing, JSON documents, error codes.

Errors are told apart by their AWS error code on botocore's ``ClientError``; anything
else propagates.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Everything edgesense writes for its own bookkeeping lives under this prefix of the store bucket.
STATE_PREFIX = "_edgesense/"


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


def is_precondition_failed(exc: BaseException) -> bool:
    """A conditional write or read (If-Match / If-None-Match) lost: someone else got there first."""
    return error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def is_conflict(exc: BaseException) -> bool:
    """409: a concurrent conditional write to the key was in flight; neither has won yet, try again."""
    return error_code(exc) in ("ConditionalRequestConflict", "409")


def create_once(
    client: S3Client, bucket: str, key: str, body: bytes, *, attempts: int = 8, **extra: Any
) -> bool:
    """PUT ``key`` only if it does not exist (``If-None-Match: *``); False if it already did.

    A 409 (another conditional write in flight) is retried with jitter. False can also mean
    that our own earlier attempt landed and botocore retried it, so callers that must
    know put a token of their own in ``body`` and compare it with what is stored.
    """
    for attempt in range(attempts):
        try:
            client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", **extra)
            return True
        except ClientError as exc:
            if is_conflict(exc) and attempt + 1 < attempts:
                time.sleep(random.uniform(0.05, 0.2 * 2**attempt))
                continue
            if is_precondition_failed(exc):
                return False
            raise
    return False


def is_transient(exc: BaseException) -> bool:
    """An S3 call that failed for reasons of its own (throttling, 5xx, network), not the object's."""
    if isinstance(exc, BotoCoreError):
        return True
    return isinstance(exc, ClientError) and not is_not_found(exc)


def list_keys(client: S3Client, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``, across pages, sorted."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", ())]
    return sorted(keys)


def download_keys(
    client: S3Client, bucket: str, prefix: str, shape: re.Pattern[str], into: Path
) -> list[Path]:
    """Download the keys under ``prefix`` that fully match ``shape``, keeping their folders.

    Only keys of a shape edgesense itself writes reach the disk, so no key can escape ``into``.
    """
    files = []
    for key in list_keys(client, bucket, prefix):
        if not shape.fullmatch(key):
            continue
        local = into / key
        local.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(local))
        files.append(local)
    return files


def get_json(client: S3Client, bucket: str, key: str) -> Any | None:
    """Read a (possibly gzip) JSON document, or None if it does not exist."""
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return json.loads(body)


def put_json(client: S3Client, bucket: str, key: str, doc: Any, *, compress: bool = False) -> None:
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()
    if compress:
        body = gzip.compress(body, mtime=0)
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def exists(client: S3Client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise

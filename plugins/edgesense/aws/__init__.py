"""AWS adapters. Each takes an amazon-provider hook (built with ``aws_conn_id``), never
credentials or endpoints of its own, so the same code runs on MWAA's execution role and
on the local moto_server."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

S3Client = Any  # boto3's S3 client; typed loosely to avoid a stub dependency

#: Everything edgesense writes for its own bookkeeping lives under this prefix of the store bucket.
STATE_PREFIX = "_edgesense/"


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


def is_precondition_failed(exc: BaseException) -> bool:
    """A conditional write or read (If-Match / If-None-Match) lost: someone else got there first."""
    return error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


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
    except Exception as exc:
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
    except Exception as exc:
        if is_not_found(exc):
            return False
        raise

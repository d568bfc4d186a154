"""AWS adapters. Each takes an amazon-provider hook (built with ``aws_conn_id``), never
credentials or endpoints of its own, so the same code runs on MWAA's execution role and
on the local moto_server."""

from __future__ import annotations

import gzip
import json
from typing import Any

S3Client = Any  # boto3's S3 client; typed loosely to avoid a stub dependency

#: Everything edgesense writes for its own bookkeeping lives under this prefix of the store bucket.
STATE_PREFIX = "_edgesense/"


def is_not_found(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


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

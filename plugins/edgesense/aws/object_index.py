"""Which batch counts each delivered object: one S3 record per object, created only once.

An object is identified by its bucket, key and ETag (same key, same bytes, same ETag is
the same object, however often it is delivered). Its record
``_edgesense/objects/<sha256(bucket/key)>/<etag>.json`` names the batch that counts it
and is created with ``If-None-Match: *``, so whichever batch creates it first owns the
object and every other batch (an overlapping window, a re-delivery in a later interval,
a concurrent run) sees it taken. Records are never changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from edgesense.aws.s3 import STATE_PREFIX, create_once, get_json, list_keys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

INDEX_PREFIX = f"{STATE_PREFIX}objects/"
_ETAG_SAFE = re.compile(r"[^A-Za-z0-9-]")
#: Index requests in flight at once (each is one small PUT or GET).
CONCURRENCY = 16


def key_hash(bucket: str, key: str) -> str:
    return hashlib.sha256(f"{bucket}/{key}".encode("utf-8", "surrogatepass")).hexdigest()


def entry_key(bucket: str, key: str, etag: str) -> str:
    return f"{INDEX_PREFIX}{key_hash(bucket, key)}/{_ETAG_SAFE.sub('_', etag)[:128]}.json"


class ObjectIndex:
    def __init__(self, client: S3Client, store_bucket: str, ingest_bucket: str) -> None:
        self.client, self.bucket, self.ingest = client, store_bucket, ingest_bucket

    def owners(self, objects: list[dict[str, Any]]) -> list[str | None]:
        """The batch that counts each object, or None where no batch has taken it yet."""

        def owner(o: dict[str, Any]) -> str | None:
            doc = get_json(self.client, self.bucket, entry_key(self.ingest, o["key"], o["etag"]))
            return doc["batch_id"] if doc else None

        return self._map(owner, objects)

    def take(self, objects: list[dict[str, Any]], bid: str) -> list[str]:
        """Record ``bid`` as the owner of each object not yet taken; return each object's owner."""
        return self._map(lambda o: self._take_one(o, bid), objects)

    def _take_one(self, o: dict[str, Any], bid: str) -> str:
        key = entry_key(self.ingest, o["key"], o["etag"])
        # Read first: after the claim, nearly every object asked about is already recorded.
        if (doc := get_json(self.client, self.bucket, key)) is not None:
            return doc["batch_id"]
        body = {"batch_id": bid, "bucket": self.ingest, "key": o["key"], "etag": o["etag"], "size": o["size"],
                "last_modified": o["last_modified"], "taken_at": datetime.now(UTC).isoformat()}  # fmt: skip
        if not create_once(self.client, self.bucket, key, json.dumps(body).encode()):
            doc = get_json(self.client, self.bucket, key)
            if doc is None:  # cannot happen: records are never deleted
                raise RuntimeError(f"s3://{self.bucket}/{key} exists and does not")
            return doc["batch_id"]  # another batch's, or ours when a retried write of ours had landed
        self._log_overwrite(o, key)
        return bid

    def _log_overwrite(self, o: dict[str, Any], mine: str) -> None:
        """An earlier record under the same key with another ETag: the object was overwritten."""
        folder = mine.rsplit("/", 1)[0] + "/"
        earlier = [k.rsplit("/", 1)[-1].removesuffix(".json") for k in list_keys(self.client, self.bucket, folder)
                   if k != mine]  # fmt: skip
        if earlier:
            log.warning("s3://%s/%s was overwritten with different content (earlier ETag %s); the new content "
                        "(ETag %s) is counted as a new object", self.ingest, o["key"], ", ".join(earlier), o["etag"])  # fmt: skip

    def _map(self, fn, objects: list[dict[str, Any]]) -> list:
        if len(objects) <= 1:
            return [fn(o) for o in objects]
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(objects))) as pool:
            return list(pool.map(fn, objects))

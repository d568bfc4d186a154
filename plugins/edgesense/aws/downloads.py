"""Downloading a batch's objects, with the inflate limits, and quarantining the bad ones.

Objects are fetched with ``If-Match`` on the ETag the batch froze, streamed to disk under
sanitised local names, and inflated on the way (for their size only): time and memory of
a scan grow with the *inflated* size, so a gzip bomb is refused here, before the scan.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from edgesense.aws.s3 import is_not_found, is_precondition_failed
from edgesense.formats import InflateGuard, InflateLimitExceeded
from edgesense.keys import local_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Objects fetched at once: enough to hide S3 latency for 30-60 s DataStream files.
DOWNLOAD_CONCURRENCY = 8
#: S3 refuses keys longer than this many bytes.
MAX_KEY_BYTES = 1024
#: Below this an object is never called a bomb, whatever its ratio (tiny files of repeated lines).
INFLATE_FLOOR = 16 * 2**20


@dataclass(frozen=True)
class InflateLimits:
    """How far an object, and a whole batch, may inflate before it is refused."""

    ratio: float = 200.0
    object_bytes: int = 4096 * 2**20
    batch_bytes: int = 4096 * 2**20

    def for_object(self, size: int) -> int:
        return int(min(self.object_bytes, max(INFLATE_FLOOR, self.ratio * size)))


def quarantine_key(key: str) -> str:
    """``quarantine/<key>``, or a hashed name when that would pass S3's 1,024-byte key limit."""
    dest = f"quarantine/{key}"
    if len(dest.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES:
        return dest
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    tail = key.rsplit("/", 1)[-1].encode("utf-8", "surrogatepass")[-200:].decode("utf-8", "ignore")
    return f"quarantine/_long/{digest}/{tail or 'object'}"


class Fetcher:
    def __init__(
        self, client: S3Client, ingest_bucket: str, store_bucket: str, inflate: InflateLimits
    ) -> None:
        self.client, self.ingest_bucket, self.store_bucket, self.inflate = (
            client,
            ingest_bucket,
            store_bucket,
            inflate,
        )

    def download(
        self, objects: list[dict[str, Any]], into: Path, *, concurrency: int = DOWNLOAD_CONCURRENCY
    ) -> tuple[list[tuple[Path, str]], list[dict]]:
        """Fetch the objects under sanitised local names, ``concurrency`` at a time.

        Each object streams to disk in 1 MB chunks, so memory stays flat however big the
        batch, and is inflated on the way (for its size only) against the inflate limits.
        Returns (local path, key) pairs in order and the objects that are not read, each
        with its reason: deleted by lifecycle, changed since claimed, inflating past its
        own limit or past what is left of the batch's.
        """
        into.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(objects) or 1))) as pool:
            outcomes = list(pool.map(lambda io: self._fetch(io[1], into / local_name(io[0], io[1]["key"], ".log")),
                                     enumerate(objects)))  # fmt: skip
        got: list[tuple[Path, str]] = []
        missing: list[dict] = []
        budget = self.inflate.batch_bytes
        for obj, (path, why, inflated) in zip(objects, outcomes, strict=True):
            if path is not None and inflated > budget:
                path.unlink(missing_ok=True)
                path, why = None, (f"the batch would inflate past its limit of {self.inflate.batch_bytes / 2**20:,.0f} "
                                   "MiB (EDGESENSE_MAX_BATCH_INFLATED_MB); replay it from quarantine under a new key")  # fmt: skip
            if path is None:
                missing.append({"key": obj["key"], "reason": why})
                continue
            budget -= inflated
            got.append((path, obj["key"]))
        return got, missing

    def _fetch(self, obj: dict[str, Any], target: Path) -> tuple[Path | None, str | None, int]:
        try:
            resp = self.client.get_object(Bucket=self.ingest_bucket, Key=obj["key"], IfMatch=obj["etag"])
        except ClientError as exc:
            if is_not_found(exc):
                return None, "object no longer exists", 0
            if is_precondition_failed(exc):
                return None, "object changed since its batch was frozen", 0
            raise
        limit = self.inflate.for_object(obj["size"])
        guard = InflateGuard(limit)
        try:
            with target.open("wb") as fh:
                for chunk in resp["Body"].iter_chunks(1024 * 1024):
                    fh.write(chunk)
                    guard.feed(chunk)
        except InflateLimitExceeded as exc:
            resp["Body"].close()
            target.unlink(missing_ok=True)
            why = (f"possible gzip bomb: {exc}, the limit for its {obj['size'] / 2**20:,.2f} MiB "
                   "(EDGESENSE_MAX_INFLATE_RATIO, EDGESENSE_MAX_OBJECT_INFLATED_MB)")  # fmt: skip
            return None, why, 0
        return target, None, guard.close()

    def quarantine(self, key: str, reason: str, etag: str | None = None) -> str:
        """Copy a corrupt object aside (with its reason) so it can be inspected and replayed.

        The original key travels in metadata (percent-encoded, as headers are ASCII) and, when
        the quarantine key had to be shortened, also in a ``.json`` record next to it. With
        ``etag``, only the content the batch claimed is copied, never a later overwrite.
        """
        dest = quarantine_key(key)
        original = quote(key, safe="/")
        meta = {"edgesense-reason": reason.encode("ascii", "replace").decode()[:512]}
        if len(original) <= 1024:  # user metadata is limited to 2 KB in all
            meta["edgesense-original-key"] = original
        self.client.copy_object(
            Bucket=self.store_bucket,
            Key=dest,
            CopySource={"Bucket": self.ingest_bucket, "Key": key},
            MetadataDirective="REPLACE",
            Metadata=meta,
            **({"CopySourceIfMatch": etag} if etag else {}),
        )
        if dest != f"quarantine/{key}":
            record = {"bucket": self.ingest_bucket, "key": key, "reason": reason, "quarantined_to": dest}
            self.client.put_object(Bucket=self.store_bucket, Key=f"{dest}.json", Body=json.dumps(record).encode(),
                                   ContentType="application/json")  # fmt: skip
        return dest

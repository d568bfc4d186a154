"""Which S3 objects a run owns, frozen into batch manifests, and their download.

A run for ``[start, end)`` owns the objects whose LastModified lies in that interval.
The first run to see an object freezes it into a *batch manifest*; every later attempt
(retry, clear, re-run, backfill) reuses that manifest, so each object is aggregated and
published under exactly one batch. Objects that appear for an interval after its
manifest was frozen go into a further batch of the same interval, so they are neither
lost nor counted twice.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgesense.aws import STATE_PREFIX, get_json, is_not_found, is_precondition_failed, list_keys
from edgesense.aws.locks import S3Lease
from edgesense.keys import batch_id, listing_prefixes, local_name, parse_batch_id

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

MANIFEST_PREFIX = f"{STATE_PREFIX}manifests/"
CLAIM_LOCK_KEY = f"{STATE_PREFIX}locks/claim.lock"
CLAIM_LOCK_TTL = timedelta(minutes=5)
#: Objects fetched at once: enough to hide S3 latency for 30-60 s DataStream files.
DOWNLOAD_CONCURRENCY = 8


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            t = getattr(self, name)
            if t.tzinfo is None:
                raise ValueError("interval bounds must be timezone-aware")
            # Stdlib UTC datetimes: Airflow hands out pendulum ones, which refuse to compare with them.
            object.__setattr__(self, name, datetime.fromtimestamp(t.timestamp(), UTC))
        if self.end <= self.start:
            raise ValueError(f"empty interval: {self.start.isoformat()} >= {self.end.isoformat()}")

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def shards(objects: list[dict[str, Any]], max_bytes: int) -> list[list[dict[str, Any]]]:
    """Consecutive groups of at most ``max_bytes`` compressed (a bigger object is alone).

    Each group becomes its own batch, which bounds a task's memory and, on Airflow 3 (one
    mapped task per batch), spreads a large interval over the workers; sums add up in CloudWatch.
    """
    out: list[list[dict[str, Any]]] = []
    size = 0
    for o in objects:
        if not out or size + o["size"] > max_bytes:
            out.append([])
            size = 0
        out[-1].append(o)
        size += o["size"]
    return out


def manifest_key(bid: str) -> str:
    start, _, _ = parse_batch_id(bid)
    return f"{MANIFEST_PREFIX}dt={start:%Y-%m-%d}/{bid}.json"


class BatchSource:
    """Lists, claims and downloads the log objects of an interval."""

    def __init__(
        self,
        s3: S3Hook,
        *,
        ingest_bucket: str,
        store_bucket: str,
        key_layout: str,
        lookback: timedelta,
        shard_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.s3 = s3
        self.shard_bytes = shard_bytes
        self.client = s3.get_conn()
        self.ingest_bucket = ingest_bucket
        self.store_bucket = store_bucket
        self.key_layout = key_layout
        self.lookback = lookback

    # -- listing ----------------------------------------------------------------------------

    def list_owned(self, interval: Interval, prefix: str | None = None) -> list[dict[str, Any]]:
        """Objects with LastModified in the interval, from only the folders that can hold them."""
        prefixes = (
            [prefix] if prefix is not None
            else listing_prefixes(self.key_layout, interval.start, interval.end, self.lookback)
        )  # fmt: skip
        found: dict[str, dict[str, Any]] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for p in prefixes:
            for page in paginator.paginate(Bucket=self.ingest_bucket, Prefix=p):
                for obj in page.get("Contents", ()):
                    lm = obj["LastModified"].astimezone(UTC)
                    if interval.contains(lm) and not obj["Key"].endswith("/"):
                        found[obj["Key"]] = {
                            "key": obj["Key"],
                            "etag": obj["ETag"].strip('"'),
                            "size": obj["Size"],
                            "last_modified": lm.isoformat(),
                        }
        return [found[k] for k in sorted(found)]

    # -- manifests --------------------------------------------------------------------------

    def _overlapping_manifests(self, interval: Interval) -> list[str]:
        """Batch ids of every frozen batch whose interval overlaps this one."""
        day = (interval.start - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        out = []
        while day < interval.end:
            for key in list_keys(self.client, self.store_bucket, f"{MANIFEST_PREFIX}dt={day:%Y-%m-%d}/"):
                bid = key.rsplit("/", 1)[-1].removesuffix(".json")
                s, e, _ = parse_batch_id(bid)
                if Interval(s, e).overlaps(interval):
                    out.append(bid)
            day += timedelta(days=1)
        return sorted(out)

    def load_manifest(self, bid: str) -> dict[str, Any]:
        doc = get_json(self.client, self.store_bucket, manifest_key(bid))
        if doc is None:
            raise FileNotFoundError(f"batch manifest s3://{self.store_bucket}/{manifest_key(bid)} is missing")
        return doc

    def claim(self, interval: Interval, prefix: str | None = None) -> dict[str, Any]:
        """Freeze the interval's unclaimed objects into a new batch; return all its batches.

        Objects already frozen by any overlapping batch (this interval's earlier batches,
        or a manual window that covered them) are left to that batch. Listing the ingest
        bucket happens outside the lease; reading manifests and writing the new one happen
        under it, so two overlapping runs can never both take an object.
        """
        owned = self.list_owned(interval, prefix)
        with S3Lease(self.client, self.store_bucket, CLAIM_LOCK_KEY, ttl=CLAIM_LOCK_TTL) as lease:
            return self._claim(interval, prefix, owned, lease)

    def _claim(
        self, interval: Interval, prefix: str | None, owned: list[dict], lease: S3Lease
    ) -> dict[str, Any]:
        mine: list[str] = []
        claimed: set[tuple[str, str]] = set()
        own_prefix = batch_id(interval.start, interval.end, 0)[:-1]
        overlapping = self._overlapping_manifests(interval)
        with ThreadPoolExecutor(max_workers=16) as pool:
            docs = list(pool.map(self.load_manifest, overlapping))
        for bid, doc in zip(overlapping, docs, strict=True):
            claimed |= {(o["key"], o["etag"]) for o in doc["objects"]}
            if bid.startswith(own_prefix):
                mine.append(bid)
        new = [o for o in owned if (o["key"], o["etag"]) not in claimed]
        skipped = len(owned) - len(new)
        seq = 1 + max((parse_batch_id(b)[2] for b in mine), default=-1)
        for shard in shards(new, self.shard_bytes):
            bid = batch_id(interval.start, interval.end, seq)
            doc = {
                "batch_id": bid,
                "interval": [interval.start.isoformat(), interval.end.isoformat()],
                "created_at": datetime.now(UTC).isoformat(),
                "prefix": prefix,
                "objects": shard,
            }
            lease.ensure()  # raises LockLost rather than commit a claim made without the lease
            body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            self.client.put_object(
                Bucket=self.store_bucket, Key=manifest_key(bid), Body=body, IfNoneMatch="*"
            )
            mine.append(bid)
            seq += 1
            log.info("froze %d new object(s) into batch %s", len(shard), bid)
        if skipped:
            log.info("%d object(s) of this interval already belong to earlier batches", skipped)
        return {
            "batches": sorted(mine, key=parse_batch_id),
            "new_objects": len(new),
            "owned_objects": len(owned),
        }

    # -- download ---------------------------------------------------------------------------

    def download(
        self, manifest: dict[str, Any], into: Path, *, concurrency: int = DOWNLOAD_CONCURRENCY
    ) -> tuple[list[tuple[Path, str]], list[dict]]:
        """Fetch the manifest's objects under sanitised local names, ``concurrency`` at a time.

        Each object streams to disk in 1 MB chunks, so memory stays flat however big the
        batch. Returns (local path, key) pairs in manifest order and the objects that could
        not be fetched, each with its reason (deleted by lifecycle, changed since claimed).
        """
        into.mkdir(parents=True, exist_ok=True)
        objects = manifest["objects"]
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(objects) or 1))) as pool:
            outcomes = list(pool.map(lambda io: self._fetch(io[1], into / local_name(io[0], io[1]["key"], ".log")),
                                     enumerate(objects)))  # fmt: skip
        got = [
            (path, obj["key"]) for obj, (path, _) in zip(objects, outcomes, strict=True) if path is not None
        ]
        missing = [
            {"key": obj["key"], "reason": why} for obj, (_, why) in zip(objects, outcomes, strict=True) if why
        ]
        return got, missing

    def _fetch(self, obj: dict[str, Any], target: Path) -> tuple[Path | None, str | None]:
        try:
            resp = self.client.get_object(Bucket=self.ingest_bucket, Key=obj["key"], IfMatch=obj["etag"])
        except Exception as exc:
            if is_not_found(exc):
                return None, "object no longer exists"
            if is_precondition_failed(exc):
                return None, "object changed since its batch was frozen"
            raise
        with target.open("wb") as fh:
            for chunk in resp["Body"].iter_chunks(1024 * 1024):
                fh.write(chunk)
        return target, None

    def quarantine(self, key: str, reason: str) -> str:
        """Copy a corrupt object aside (with its reason) so it can be inspected and replayed."""
        dest = f"quarantine/{key}"
        self.client.copy_object(
            Bucket=self.store_bucket,
            Key=dest,
            CopySource={"Bucket": self.ingest_bucket, "Key": key},
            MetadataDirective="REPLACE",
            Metadata={"edgesense-reason": reason.encode("ascii", "replace").decode()[:1024]},
        )
        return dest

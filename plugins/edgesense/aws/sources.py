"""Which S3 objects a run owns, frozen into batch manifests (downloads: :mod:`.downloads`).

A run for ``[start, end)`` owns the objects whose LastModified lies in that interval.
The first run to see an object freezes it into a *batch manifest*, and every object of a
manifest is recorded in the object index (:mod:`edgesense.aws.object_index`), created
once with ``If-None-Match``: the batch that creates an object's record is the one batch
that ever counts it. Every later attempt (retry, clear, re-run, backfill) reuses its
manifests; an overlapping window, a concurrent run or a re-delivery of the same object
finds the record taken. Objects that appear for an interval after its manifest was
frozen go into a further batch of the same interval, so they are neither lost nor
counted twice.

No claim waits for another: every step is a single conditional write, so a worker killed
mid-claim leaves nothing that blocks other runs (its own retry resumes its manifest).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from edgesense.aws.downloads import Fetcher, InflateLimits
from edgesense.aws.manifests import (
    MANIFEST_PREFIX,
    MANIFEST_VERSION,
    check_manifest,
    manifest_key,
    overlaps,
    stored_interval,
)
from edgesense.aws.object_index import ObjectIndex
from edgesense.aws.s3 import create_once, get_json, is_transient, list_keys
from edgesense.interval import Interval
from edgesense.keys import batch_id, listing_prefixes, parse_batch_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["BatchSource", "Interval", "manifest_key", "shards"]

log = logging.getLogger(__name__)

#: Manifest reads in flight at once.
MANIFEST_READERS = 16
#: Attempts at a new manifest when concurrent runs of the same interval keep taking its number.
CLAIM_ATTEMPTS = 20


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


def _id_prefix(interval: Interval) -> str:
    return batch_id(interval.start, interval.end, 0)[:-1]


@dataclass(frozen=True)
class Listing:
    """What a claim listed: the interval's objects, and how much it looked at to find them."""

    objects: list[dict[str, Any]]
    prefixes: list[str]
    keys_listed: int


class BatchSource:
    """Lists, claims and downloads the log objects of an interval."""

    def __init__(
        self,
        client: S3Client,
        *,
        ingest_bucket: str,
        store_bucket: str,
        key_layout: str,
        lookback: timedelta,
        shard_bytes: int = 256 * 1024 * 1024,
        inflate: InflateLimits | None = None,
    ) -> None:
        self.shard_bytes = shard_bytes
        self.client = client
        self.ingest_bucket = ingest_bucket
        self.store_bucket = store_bucket
        self.key_layout = key_layout
        self.lookback = lookback
        self.index = ObjectIndex(self.client, store_bucket, ingest_bucket)
        #: Downloads and quarantine of this source's objects.
        self.fetcher = Fetcher(self.client, ingest_bucket, store_bucket, inflate or InflateLimits())

    # -- listing ----------------------------------------------------------------------------

    def list_owned(self, interval: Interval, prefix: str | None = None) -> Listing:
        """Objects with LastModified in the interval, from only the folders that can hold them."""
        prefixes = (
            [prefix] if prefix is not None
            else listing_prefixes(self.key_layout, interval.start, interval.end, self.lookback)
        )  # fmt: skip
        found: dict[str, dict[str, Any]] = {}
        listed = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for p in prefixes:
            for page in paginator.paginate(Bucket=self.ingest_bucket, Prefix=p):
                listed += len(page.get("Contents", ()))
                for obj in page.get("Contents", ()):
                    lm = obj["LastModified"].astimezone(UTC)
                    if interval.contains(lm) and not obj["Key"].endswith("/"):
                        found[obj["Key"]] = {
                            "key": obj["Key"],
                            "etag": obj["ETag"].strip('"'),
                            "size": obj["Size"],
                            "last_modified": lm.isoformat(),
                        }
        return Listing([found[k] for k in sorted(found)], prefixes, listed)

    # -- manifests --------------------------------------------------------------------------

    def _manifests_near(self, interval: Interval) -> dict[str, dict[str, Any] | None]:
        """Every manifest whose id says it may overlap the interval, with its document.

        Ids drop nothing now, but legacy ones (before whole-second windows) may have lost a
        fraction of a second, hence one second of slack; the exact test uses the stored
        interval. A document that cannot be read is None (logged, and skipped by callers).
        """
        day = (interval.start - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        bids = []
        while day < interval.end:
            for key in list_keys(self.client, self.store_bucket, f"{MANIFEST_PREFIX}dt={day:%Y-%m-%d}/"):
                bid = key.rsplit("/", 1)[-1].removesuffix(".json")
                try:
                    s, e, _ = parse_batch_id(bid)
                except ValueError:
                    log.warning("skipping s3://%s/%s: not a batch manifest name (see README, repairing a "
                                "manifest)", self.store_bucket, key)  # fmt: skip
                    continue
                if s < interval.end and interval.start < e + timedelta(seconds=1):
                    bids.append(bid)
            day += timedelta(days=1)
        with ThreadPoolExecutor(max_workers=MANIFEST_READERS) as pool:
            docs = list(pool.map(self._read_manifest, bids))
        return dict(zip(bids, docs, strict=True))

    def _read_manifest(self, bid: str) -> dict[str, Any] | None:
        key = manifest_key(bid)
        try:
            doc = get_json(self.client, self.store_bucket, key)
            if doc is None:
                return None
            check_manifest(doc)
        except Exception as exc:  # a broken record must never stop other claims
            if is_transient(exc):
                raise  # S3 could not be read (throttled, 5xx): skipping would risk counting its objects again
            log.error("skipping batch manifest s3://%s/%s: unreadable (%s); see README, repairing a manifest",
                      self.store_bucket, key, exc)  # fmt: skip
            return None
        return doc

    def load_manifest(self, bid: str) -> dict[str, Any]:
        doc = get_json(self.client, self.store_bucket, manifest_key(bid))
        if doc is None:
            raise FileNotFoundError(f"batch manifest s3://{self.store_bucket}/{manifest_key(bid)} is missing")
        return doc

    def claim(self, interval: Interval, prefix: str | None = None) -> dict[str, Any]:
        """Freeze the interval's unclaimed objects into new batches; return all its batches.

        Lock-free: a new manifest is created with ``If-None-Match`` (a concurrent run of the
        same interval that took the number makes this one look again), and its objects are
        then taken in the object index, which has the last word on who counts an object.
        """
        listing = self.list_owned(interval, prefix)
        owned = listing.objects
        for attempt in range(CLAIM_ATTEMPTS):
            near = self._manifests_near(interval)
            if attempt == 0:
                self._index_legacy(near, interval)
            mine = [
                b
                for b, d in near.items()
                if d is not None and stored_interval(d) == (interval.start, interval.end)
            ]
            # Objects of legacy manifests have no index records: their manifest alone owns them.
            taken = {(o["key"], o["etag"]) for b, d in near.items() if d is not None
                     and (b in mine or (d.get("version", 1) < MANIFEST_VERSION and overlaps(d, interval)))
                     for o in d["objects"]}  # fmt: skip
            fresh = [o for o in owned if (o["key"], o["etag"]) not in taken]
            owners = self.index.owners(fresh)
            for o, owner in zip(fresh, owners, strict=True):
                if owner is not None:
                    log.info("s3://%s/%s (ETag %s) is already counted by batch %s; this delivery is skipped",
                             self.ingest_bucket, o["key"], o["etag"], owner)  # fmt: skip
            new = [o for o, owner in zip(fresh, owners, strict=True) if owner is None]
            # Every existing id of this interval counts, readable or not: its number is used.
            seq = 1 + max(
                (parse_batch_id(b)[2] for b in near if b.startswith(_id_prefix(interval))), default=-1
            )
            created = self._freeze(interval, prefix, new, seq)
            if created is None:  # a concurrent run of this interval took a number: look again
                log.info("another run of %s froze batch number %d first; looking again (attempt %d of %d)",
                         interval, seq, attempt + 2, CLAIM_ATTEMPTS)  # fmt: skip
                continue
            for bid, shard in created:
                self.take(bid, shard)
            batches = sorted(set(mine) | {b for b, _ in created}, key=parse_batch_id)
            if len(owned) - len(new):
                log.info(
                    "%d object(s) of this interval already belong to other batches", len(owned) - len(new)
                )
            earlier = sorted(set(mine) - {b for b, _ in created}, key=parse_batch_id)
            if earlier:
                log.info("batch(es) %s of exactly this interval were frozen by an earlier run (the scheduled "
                         "run of this interval, an earlier run of the same window, or an earlier try); this run maps over them "
                         "too, and each batch's one plan and its ledger make sure nothing is aggregated or sent "
                         "twice", ", ".join(earlier))  # fmt: skip
            return {"batches": batches, "new_objects": len(new), "owned_objects": len(owned),
                    "already_counted": sum(o is not None for o in owners), "prefixes": listing.prefixes,
                    "keys_listed": listing.keys_listed, "bucket": self.ingest_bucket}  # fmt: skip
        raise RuntimeError(
            f"could not claim {interval}: {CLAIM_ATTEMPTS} concurrent claims kept taking its batch ids"
        )

    def _index_legacy(self, near: dict[str, dict[str, Any] | None], interval: Interval) -> None:
        """Record the objects of overlapping legacy batches in the index, under their batch.

        They are not counted again here in any case (their manifests say so), but a later
        re-delivery into a minute that does not overlap them will now find them taken.
        """
        for bid, doc in near.items():
            if doc is not None and doc.get("version", 1) < MANIFEST_VERSION and overlaps(doc, interval):
                self.index.take(doc["objects"], bid)

    def _freeze(self, interval: Interval, prefix: str | None, new: list[dict], seq: int):
        """Write one manifest per shard; None if another run of this interval took a number first."""
        created: list[tuple[str, list[dict]]] = []
        for shard in shards(new, self.shard_bytes):
            bid = batch_id(interval.start, interval.end, seq)
            doc = {
                "version": MANIFEST_VERSION,
                "batch_id": bid,
                "interval": [interval.start.isoformat(), interval.end.isoformat()],
                "created_at": datetime.now(UTC).isoformat(),
                "prefix": prefix,
                "objects": shard,
            }
            body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            if not create_once(self.client, self.store_bucket, manifest_key(bid), body):
                # Taken (or our own retried write landed: the next look finds it as ours).
                for done, objs in created:  # already frozen: resolved now, found as ours next time
                    self.take(done, objs)
                return None
            log.info("froze %d new object(s) into batch %s", len(shard), bid)
            created.append((bid, shard))
            seq += 1
        return created

    def take(self, bid: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The objects of batch ``bid`` that it counts: those whose index record names it."""
        owners = self.index.take(objects, bid)
        lost = [o["key"] for o, w in zip(objects, owners, strict=True) if w != bid]
        if lost:
            log.warning("batch %s: %d object(s) are counted by other batches and are left to them: %s",
                        bid, len(lost), ", ".join(lost[:10]))  # fmt: skip
        return [o for o, w in zip(objects, owners, strict=True) if w == bid]

    def objects_of(self, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        """What a batch counts: every object of a legacy manifest; else those the index gives it."""
        if manifest.get("version", 1) < MANIFEST_VERSION:
            return list(manifest["objects"])
        return self.take(manifest["batch_id"], manifest["objects"])

    # -- download ---------------------------------------------------------------------------

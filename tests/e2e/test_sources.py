"""Which objects a run owns: settle delay, LastModified ownership and folder listing, against moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgesense.aws.sources import Interval
from edgesense.config import Settings
from edgesense.tasks.ingest import claim_batches

pytestmark = pytest.mark.e2e


def settings(**kw) -> Settings:
    return Settings.from_env(**kw)


def test_an_interval_is_not_listed_until_its_settle_delay_has_passed(aws):
    """An upload that started before the interval ended may only become visible after it."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    lm = aws.put_log("logs/in-flight/ak-1-1-1-ds.gz", b"x")
    interval = Interval(before.replace(microsecond=0), lm + timedelta(seconds=1))
    s = settings(settle_seconds=30)

    assert claim_batches(s, interval, prefix="logs/", now=interval.end + timedelta(seconds=5)) is None
    claimed = claim_batches(s, interval, prefix="logs/", now=interval.end + timedelta(seconds=31))

    assert claimed is not None
    assert claimed["new_objects"] == 1
    assert len(claimed["batches"]) == 1


def test_a_settle_delay_shorter_than_the_wait_allowance_is_waited_inline_then_claimed(aws):
    """The sensor waits a few seconds in place instead of paying a reschedule (latency)."""
    lm = aws.put_log("logs/inline/ak-1-1-1-ds.gz", b"x")
    interval = Interval(lm.replace(second=0, microsecond=0), lm + timedelta(seconds=1))
    s = settings(settle_seconds=30)
    slept: list[float] = []
    at = interval.end + timedelta(seconds=20)

    assert claim_batches(s, interval, prefix="logs/inline/", now=at, wait_up_to=5, sleep=slept.append) is None
    claimed = claim_batches(s, interval, prefix="logs/inline/", now=at, wait_up_to=15, sleep=slept.append)

    assert slept == [10.0]
    assert claimed is not None
    assert claimed["new_objects"] == 1


def test_only_objects_whose_last_modified_falls_in_the_interval_are_owned(aws):
    lm = aws.put_log(f"logs/{datetime.now(UTC):%Y/%m/%d/%H}/ak-2-2-2-ds.gz", b"x")
    s = settings(settle_seconds=0)
    before = Interval(lm - timedelta(minutes=2), lm)
    containing = Interval(lm, lm + timedelta(seconds=1))

    assert claim_batches(s, before, now=before.end)["owned_objects"] == 0
    assert claim_batches(s, containing, now=containing.end)["owned_objects"] == 1


def test_only_the_layouts_date_folders_are_listed(aws):
    """An object outside the dated folders the layout allows is not read, whatever its LastModified."""
    lm = aws.put_log("logs/1999/01/01/ak-3-3-3-ds.gz", b"x")
    aws.put_log(f"logs/{lm:%Y/%m/%d/%H}/ak-4-4-4-ds.gz", b"x")
    interval = Interval(lm - timedelta(seconds=1), lm + timedelta(seconds=2))
    claimed = claim_batches(settings(settle_seconds=0), interval, now=interval.end)

    assert claimed["owned_objects"] == 1


def test_claiming_again_reuses_the_frozen_batch_and_adds_stragglers_as_a_new_batch(aws):
    lm = aws.put_log("logs/x/ak-5-5-5-ds.gz", b"x")
    interval = Interval(lm - timedelta(seconds=1), lm + timedelta(minutes=1))
    s = settings(settle_seconds=0)
    first = claim_batches(s, interval, prefix="logs/x/", now=interval.end)
    again = claim_batches(s, interval, prefix="logs/x/", now=interval.end)
    aws.put_log("logs/x/ak-6-6-6-ds.gz", b"y")
    third = claim_batches(s, interval, prefix="logs/x/", now=interval.end)

    assert first["batches"] == again["batches"]
    assert again["new_objects"] == 0
    assert third["new_objects"] == 1
    assert len(third["batches"]) == 2


def test_concurrent_overlapping_claims_never_share_an_object(aws, monkeypatch):
    """Two workers claim overlapping windows at the same moment; the object index decides.

    Reading the existing manifests is slowed down (a wrapper around the real call) so that
    both workers read before either wrote its manifest: each then freezes every object,
    and only the index records (created once) say which batch counts which.
    """
    import threading
    import time

    from edgesense.aws.clients import AwsClients
    from edgesense.aws.sources import BatchSource

    real_list = BatchSource._manifests_near

    def slow_list(self, *a, **kw):
        found = real_list(self, *a, **kw)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(BatchSource, "_manifests_near", slow_list)

    for i in range(20):
        lm = aws.put_log(f"logs/c/ak-{i}-{i}-{i}-ds.gz", b"x")
    s = settings(settle_seconds=0)
    windows = [Interval(lm - timedelta(minutes=1), lm + timedelta(seconds=1)),
               Interval(lm - timedelta(minutes=2), lm + timedelta(seconds=2))]  # fmt: skip
    barrier = threading.Barrier(len(windows))
    results: list[dict] = []

    def claim(interval: Interval) -> None:
        barrier.wait()
        results.append(claim_batches(s, interval, prefix="logs/c/", now=interval.end + timedelta(seconds=1)))

    threads = [threading.Thread(target=claim, args=(w,)) for w in windows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    source = BatchSource(AwsClients(s.aws_conn_id).s3, ingest_bucket=s.ingest_bucket, store_bucket=s.store_bucket,
                         key_layout=s.key_layout, lookback=timedelta(0))  # fmt: skip
    keys = [
        o["key"] for r in results for b in r["batches"] for o in source.objects_of(source.load_manifest(b))
    ]
    assert sorted(keys) == sorted(f"logs/c/ak-{i}-{i}-{i}-ds.gz" for i in range(20))


def test_a_batch_downloads_concurrently_in_manifest_order_and_names_the_objects_it_cannot_fetch(
    aws, tmp_path
):
    """More objects than download slots; one deleted by lifecycle, one overwritten after the claim."""
    from edgesense.aws.clients import AwsClients
    from edgesense.aws.downloads import DOWNLOAD_CONCURRENCY
    from edgesense.tasks.common import batch_source

    keys = [f"logs/dl/ak-{i}-{i}-{i}-ds.gz" for i in range(DOWNLOAD_CONCURRENCY + 4)]
    stamps = [aws.put_log(k, f"body {i}".encode()) for i, k in enumerate(keys)]
    interval = Interval(min(stamps) - timedelta(seconds=1), max(stamps) + timedelta(seconds=1))
    s = settings(settle_seconds=0)
    clients = AwsClients(s.aws_conn_id)
    source = batch_source(s, clients)
    claimed = claim_batches(s, interval, prefix="logs/dl/", now=interval.end, clients=clients)
    manifest = source.load_manifest(claimed["batches"][0])
    aws.s3.delete_object(Bucket=s.ingest_bucket, Key=keys[3])
    aws.put_log(keys[7], b"a different body")

    got, missing = source.fetcher.download(manifest["objects"], tmp_path)

    expected = [o["key"] for o in manifest["objects"] if o["key"] not in (keys[3], keys[7])]
    assert [key for _, key in got] == expected
    assert [p.read_bytes() for p, _ in got] == [f"body {keys.index(k)}".encode() for k in expected]
    assert all(p.parent == tmp_path for p, _ in got)
    assert missing == [
        {"key": keys[3], "reason": "object no longer exists"},
        {"key": keys[7], "reason": "object changed since its batch was frozen"},
    ]


def test_new_objects_are_cut_into_shards_of_at_most_the_configured_compressed_size():
    from edgesense.aws.sources import shards

    objs = [{"key": f"k{i}", "size": size} for i, size in enumerate([40, 50, 30, 200, 10, 10])]
    got = [[o["key"] for o in shard] for shard in shards(objs, 100)]
    assert got == [["k0", "k1"], ["k2"], ["k3"], ["k4", "k5"]]  # an object over the limit is a shard alone
    assert shards([], 100) == []


def test_a_claim_freezes_one_batch_per_shard(aws):
    keys = [f"logs/sh/ak-{i}-{i}-{i}-ds.gz" for i in range(5)]
    stamps = [aws.put_log(k, b"x" * 1000) for k in keys]
    interval = Interval(min(stamps) - timedelta(seconds=1), max(stamps) + timedelta(seconds=1))
    claimed = claim_batches(settings(settle_seconds=0, shard_mb=2500 / 2**20), interval, prefix="logs/sh/",
                            now=interval.end)  # fmt: skip

    assert claimed["new_objects"] == 5
    assert [b.rsplit("-", 1)[1] for b in claimed["batches"]] == ["0", "1", "2"]

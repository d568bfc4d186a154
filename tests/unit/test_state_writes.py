"""State writes that must tell our own retried write from a rival's, and reads that must not skip.

botocore retries a PUT whose reply was lost; when the first attempt had landed, the retry
of a conditional write answers 412 as if someone else had won. The stand-in below
produces exactly that (S3 cannot be made to lose a reply on demand).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from edgesense.aws.plans import PlanStore
from edgesense.aws.publish import Publisher, marker_key
from tests.unit.test_publish import MemoryS3, ScriptedCloudWatch, hashed


class RetriedAfterLanding(MemoryS3):
    """The first conditional PUT to a key lands, and then answers 412 (botocore's retry)."""

    def put_object(self, Bucket, Key, Body, IfNoneMatch=None, **kw):
        first = Key not in self.objects
        out = super().put_object(Bucket, Key, Body, IfNoneMatch=IfNoneMatch, **kw)
        if IfNoneMatch == "*" and first:
            raise self._fail("PutObject")
        return out


def test_a_plan_whose_own_write_landed_before_a_retry_is_still_ours():
    store = PlanStore(RetriedAfterLanding(), "b")

    plan, ours = store.create(hashed(1))

    assert ours
    assert store.load("batch").writer == plan.writer


def test_a_rivals_plan_is_not_ours():
    s3 = MemoryS3()
    PlanStore(s3, "b").create(hashed(1))

    _, ours = PlanStore(s3, "b").create(hashed(2))

    assert not ours


def test_an_intent_whose_own_write_landed_before_a_retry_is_sent_not_skipped():
    s3, cw = RetriedAfterLanding(), ScriptedCloudWatch()
    p = hashed(2)

    result = Publisher(cw, s3, "b").publish(p)

    assert (result["calls_sent"], result["calls_skipped"]) == (2, 0)
    assert len(cw.accepted) == 2
    assert marker_key("batch", 1, "done", p.plan_hash) in s3.objects


def test_a_manifest_that_cannot_be_read_stops_the_claim_instead_of_being_skipped():
    """Skipping a manifest S3 failed to return could let its objects be counted again."""
    from edgesense.aws.sources import BatchSource

    class Throttled:
        def get_object(self, **_):
            raise ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}},
                              "GetObject")  # fmt: skip

    source = BatchSource(Throttled(), ingest_bucket="i", store_bucket="s", key_layout="logs/", lookback=None)
    with pytest.raises(ClientError, match="SlowDown"):
        source._read_manifest("20261124T082600-20261124T082700-0")


GOOD_OBJECT = {"key": "logs/a.gz", "etag": "e1", "size": 10, "last_modified": "2026-11-24T08:26:05+00:00"}
GOOD_MANIFEST = {"version": 2, "batch_id": "20261124T082600-20261124T082700-0", "objects": [GOOD_OBJECT],
                 "interval": ["2026-11-24T08:26:00+00:00", "2026-11-24T08:27:00+00:00"]}  # fmt: skip


def manifest_source(body: bytes):
    import io

    from edgesense.aws.sources import BatchSource

    class Store:
        def get_object(self, **_):
            return {"Body": io.BytesIO(body)}

    return BatchSource(Store(), ingest_bucket="i", store_bucket="s", key_layout="logs/", lookback=None)


def test_a_well_formed_manifest_is_read():
    assert manifest_source(json.dumps(GOOD_MANIFEST).encode())._read_manifest(GOOD_MANIFEST["batch_id"]) == (
        GOOD_MANIFEST
    )


@pytest.mark.parametrize(
    "doc",
    [
        "{not json",
        "[1, 2]",
        {**GOOD_MANIFEST, "version": "2"},
        {**GOOD_MANIFEST, "version": None},
        {**GOOD_MANIFEST, "objects": 3},
        {**GOOD_MANIFEST, "interval": ["2026-11-24T08:26:13+00:00", "2026-11-24T08:26:13.500000+00:00"][::-1]},
        {k: v for k, v in GOOD_MANIFEST.items() if k != "version"} | {"objects": [{"key": "a", "etag": "e"}]},
        {**GOOD_MANIFEST, "objects": [{**GOOD_OBJECT, "last_modified": "yesterday"}]},
        {**GOOD_MANIFEST, "objects": [{**GOOD_OBJECT, "size": "10"}]},
        {k: v for k, v in GOOD_MANIFEST.items() if k != "batch_id"},
    ],
    ids=["not-json", "not-an-object", "version-string", "version-null", "objects-not-a-list", "empty-interval",
         "legacy-objects-without-size", "bad-last-modified", "size-string", "no-batch-id"],
)  # fmt: skip
def test_a_manifest_of_any_broken_shape_is_skipped_not_raised(doc, caplog):
    """Each shape once made every overlapping claim fail (a TypeError or KeyError in the claim)."""
    body = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
    with caplog.at_level("ERROR"):
        assert manifest_source(body)._read_manifest(GOOD_MANIFEST["batch_id"]) is None
    assert "skipping batch manifest" in caplog.text

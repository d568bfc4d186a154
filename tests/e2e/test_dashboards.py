"""Dashboards put to a real moto_server: created once, then left alone until their body changes."""

from __future__ import annotations

import json

import boto3
import pytest

from edgesense.aws.dashboards import sync_dashboards
from edgesense.dashboards import Target, bodies

pytestmark = pytest.mark.e2e


def test_dashboards_are_created_then_unchanged_then_updated_when_their_body_changes(aws):
    cw = boto3.client("cloudwatch")
    wanted = bodies(Target("edgesense/test", "edgesense/test/pipeline"), "test")

    assert set(sync_dashboards(cw, wanted).values()) == {"created"}
    assert set(sync_dashboards(cw, wanted).values()) == {"unchanged"}
    names = {
        d["DashboardName"]
        for d in cw.list_dashboards(DashboardNamePrefix="edgesense-test-")["DashboardEntries"]
    }
    assert names == set(wanted)

    original = bodies(Target("edgesense-test/totals", "edgesense-test/totals/pipeline", "original"), "test")
    assert sync_dashboards(cw, original)["edgesense-test-traffic"] == "updated"
    stored = json.loads(cw.get_dashboard(DashboardName="edgesense-test-traffic")["DashboardBody"])
    assert stored == json.loads(original["edgesense-test-traffic"])

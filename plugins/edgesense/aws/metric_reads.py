"""Reading back what CloudWatch holds: requests per minute x host (GetMetricData ``Sum``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

#: GetMetricData takes at most 500 queries per call.
MAX_QUERIES = 500


class IncompleteRead(RuntimeError):
    """CloudWatch did not answer every query completely: nothing may be concluded from the read."""


def requests_per_minute(
    client: CloudWatchClient,
    namespace: str,
    series: list[list[dict[str, str]]],
    start: datetime,
    end: datetime,
) -> dict[tuple[datetime, str], float]:
    """The Sum of the given ``ResponseCountTotal`` series (their dimensions), per minute x host,
    in ``[start, end)``. The caller names the series (those its plans sent): ListMetrics would
    find the same ones, but it is quadratic in moto and pages by 500 in CloudWatch."""
    series = [dims for dims in series if any(d["Name"] == "Host" for d in dims)]
    out: dict[tuple[datetime, str], float] = defaultdict(float)
    for first in range(0, len(series), MAX_QUERIES):
        chunk = series[first : first + MAX_QUERIES]
        hosts = {
            f"m{i}": next(d["Value"] for d in dims if d["Name"] == "Host") for i, dims in enumerate(chunk)
        }
        queries = [
            {"Id": f"m{i}", "ReturnData": True,
             "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "ResponseCountTotal", "Dimensions": dims},
                            "Period": 60, "Stat": "Sum"}}
            for i, dims in enumerate(chunk)
        ]  # fmt: skip
        for page in client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
        ):
            for result in page["MetricDataResults"]:
                # Anything but Complete (PartialData without a token, InternalError, Forbidden)
                # would read missing points as zeros, and a landed call as lost.
                if result.get("StatusCode", "Complete") != "Complete" and not page.get("NextToken"):
                    raise IncompleteRead(f"GetMetricData returned {result.get('StatusCode')} for {hosts[result['Id']]}: "
                                         f"{[m.get('Value') for m in page.get('Messages', [])]}")  # fmt: skip
                for t, v in zip(result["Timestamps"], result["Values"], strict=True):
                    t = t.astimezone(UTC)
                    if start <= t < end:
                        out[(t, hosts[result["Id"]])] += v
    return dict(out)

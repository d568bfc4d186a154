"""The benchmark harness keeps working: a smoke-sized run of ``make bench``.

Only the shape of the report is checked. Speed is judged in the benchmark's own report,
never in tests.
"""

from __future__ import annotations

import json
import sys

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import run as bench
from corpus import CorpusSpec, build


def test_a_smoke_sized_benchmark_measures_both_paths_and_ceilings_and_reports_ratios_and_memory(
    tmp_path, capsys
):
    report = tmp_path / "report.json"
    assert bench.main(["--lines", "6000", "--files", "3", "--stress-lines", "3000", "--big-lines", "4000",
                       "--data", str(tmp_path / "data"), "--report", str(report)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "counts agree with the baseline" in out
    results = json.loads(report.read_text())
    for kind in ("ceiling", "archive_ceiling", "edgesense", "archive", "python"):
        assert results["main"][kind]["lines_per_s"] > 0
        assert results["main"][kind]["peak_rss_mb"] > 0
    assert results["main"]["b_over_a"] > 0
    assert results["main"]["b_over_c"] > 0
    assert results["main"]["b2_over_a2"] > 0
    assert results["stress"]["spec"]["rules"] == 200
    assert "edgesense / ceiling" in out
    assert results["big"]["edgesense"]["peak_rss_mb"] > 0
    assert results["big"]["archive"]["peak_rss_mb"] > 0
    assert "peak RSS of archive on a" in out


def test_latency_percentiles_are_observed_values_by_nearest_rank():
    import latency

    values = [float(v) for v in range(1, 21)]  # 1..20
    assert latency.percentile(values, 50) == 10.0
    assert latency.percentile(values, 95) == 19.0
    assert latency.percentile([7.0], 95) == 7.0


def test_the_corpus_is_reproducible_and_reused(tmp_path):
    spec = CorpusSpec(lines=2000, files=2, distinct=300)
    first, rules = build(spec, tmp_path / "a")
    second, _ = build(spec, tmp_path / "b")
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]
    stamp = first[0].stat().st_mtime_ns
    build(spec, tmp_path / "a")
    assert first[0].stat().st_mtime_ns == stamp  # not written again
    assert rules.read_text().startswith("Id,Regex,Rank\n")

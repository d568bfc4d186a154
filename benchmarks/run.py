"""``make bench``: edgesense's aggregation against DuckDB's bare scan and plain Python.

Three measurements on the same files, each in its own process so that its peak RSS is its
own (``os.wait4``), each timed as wall clock from process start to exit:

(a)  ceiling          DuckDB's ``read_json`` of the four columns aggregation needs, with a count;
(a2) archive ceiling  DuckDB alone copying the 22 kept fields (as VARCHAR) to one zstd Parquet file;
(b)  edgesense        ``edgesense aggregate``, the metrics path: scan, checks, rules, aggregation;
(b2) archive          ``edgesense archive``: every request, typed and named, Hive-partitioned Parquet;
(c)  python           ``json.loads`` per line and ``re`` rules, memoised per distinct path.

(b) and (c) must count the same requests per URL pattern (checked), so the benchmark
measures real work. The
targets are printed as met or short; nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "plugins")]

from corpus import CorpusSpec, build  # noqa: E402

CEILING = r"""
import sys, duckdb
con = duckdb.connect(config={"threads": int(sys.argv[1])})
con.execute("SET enable_progress_bar = false")
files = sys.argv[2:]
n = con.execute('''
    SELECT count(*) FROM read_json($files, format = 'newline_delimited', compression = 'gzip',
        columns = {reqTimeSec: 'VARCHAR', statusCode: 'VARCHAR', reqHost: 'VARCHAR', reqPath: 'VARCHAR'})
    WHERE reqPath IS NOT NULL
''', {"files": files}).fetchone()[0]
print(n)
"""

ARCHIVE_CEILING = r"""
import sys, duckdb
con = duckdb.connect(config={"threads": int(sys.argv[1])})
con.execute("SET enable_progress_bar = false")
out, files = sys.argv[2], sys.argv[3:]
fields = ["streamId", "cp", "reqId", "reqTimeSec", "bytes", "cliIP", "statusCode", "proto", "reqHost", "reqMethod",
          "reqPath", "rspContentType", "UA", "queryStr", "referer", "turnAroundTimeMSec", "transferTimeMSec",
          "errorCode", "edgeIP", "country", "cacheStatus", "securityRules"]
con.execute("COPY (SELECT * FROM read_json($files, format = 'newline_delimited', compression = 'gzip', columns = "
            + "{" + ", ".join(f"{f}: 'VARCHAR'" for f in fields) + "})) TO $out (FORMAT parquet, COMPRESSION zstd)",
            {"files": files, "out": out})
print(con.execute("SELECT count(*) FROM read_parquet($out)", {"out": out}).fetchone()[0])
"""

PYTHON = r"""
import csv, gzip, json, re, sys
from collections import Counter
rules_csv, files = sys.argv[1], sys.argv[2:]
with open(rules_csv) as fh:
    rules = sorted(((int(r["Rank"]), r["Id"], re.compile(r["Regex"])) for r in csv.DictReader(fh)),
                   key=lambda r: r[0])
memo, counts = {}, Counter()
for f in files:
    with gzip.open(f, "rt") as fh:
        for line in fh:
            d = json.loads(line)
            path = d["reqPath"]
            pattern = memo.get(path)
            if pattern is None:
                pattern = memo[path] = next((i for _, i, rx in rules if rx.search(path)), "Unmatched")
            counts[(int(float(d["reqTimeSec"]) // 60), d["reqHost"], pattern, int(d["statusCode"]))] += 1
print(json.dumps({"lines": sum(counts.values()), "by_pattern": {
    p: sum(v for k, v in counts.items() if k[2] == p) for p in {k[2] for k in counts}}}))
"""


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    stdout: str


def measure(cmd: list[str]) -> Measured:
    """Run ``cmd``; its wall time and its own peak RSS (output goes to files, never a pipe)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} {cmd[1]} failed ({proc.returncode}):\n{errors[-5000:]}")
    return Measured(seconds, usage.ru_maxrss / 1024, text)


def run_case(
    title: str, spec: CorpusSpec, data: Path, threads: int, python_baseline: bool, ceiling: bool = True
) -> dict:
    print(f"\n== {title}: {spec.lines:,} lines, {spec.files} files, {spec.rules} rules", flush=True)
    t = time.perf_counter()
    files, rules = build(spec, data)
    compressed = sum(f.stat().st_size for f in files)
    print(
        f"   corpus {files[0].parent} ({compressed / 1e6:.0f} MB gzip, ready in {time.perf_counter() - t:.1f}s)"
    )
    py = sys.executable
    edgesense = str(Path(sys.executable).with_name("edgesense"))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        result: dict = {"spec": spec.__dict__, "compressed_mb": round(compressed / 1e6, 1)}
        if ceiling:
            a = measure([py, "-c", CEILING, str(threads), *map(str, files)])
            assert int(a.stdout.strip()) == spec.lines, f"ceiling scan counted {a.stdout.strip()} lines"
            print(
                f"   (a) ceiling    {spec.lines / a.seconds / 1e6:6.2f} M lines/s  {a.seconds:6.2f}s  {a.peak_rss_mb:6.0f} MB"
            )
            result["ceiling"] = {"seconds": round(a.seconds, 3), "peak_rss_mb": round(a.peak_rss_mb)}
        b = measure([edgesense, "aggregate", *map(str, files), "--rules", str(rules), "--threads", str(threads),
                     "--output", str(Path(tmp) / "out.parquet"), "--report", str(report)])  # fmt: skip
        rep = json.loads(report.read_text())
        assert rep["lines_valid"] == spec.lines, rep
        print(
            f"   (b) edgesense  {spec.lines / b.seconds / 1e6:6.2f} M lines/s  {b.seconds:6.2f}s  {b.peak_rss_mb:6.0f} MB"
        )
        result["edgesense"] = {"seconds": round(b.seconds, 3), "peak_rss_mb": round(b.peak_rss_mb)}
        if ceiling:
            a2 = measure([py, "-c", ARCHIVE_CEILING, str(threads), str(Path(tmp) / "ceiling.parquet"),
                          *map(str, files)])  # fmt: skip
            assert int(a2.stdout.strip()) == spec.lines, f"archive ceiling wrote {a2.stdout.strip()} rows"
            print(
                f"   (a2) archive ceiling {spec.lines / a2.seconds / 1e6:6.2f} M lines/s  {a2.seconds:6.2f}s  {a2.peak_rss_mb:6.0f} MB"
            )
            result["archive_ceiling"] = {
                "seconds": round(a2.seconds, 3),
                "peak_rss_mb": round(a2.peak_rss_mb),
            }
        b2 = measure([edgesense, "archive", *map(str, files), "--rules", str(rules), "--threads", str(threads),
                      "--output", str(Path(tmp) / "requests")])  # fmt: skip
        written = duckdb_count(Path(tmp) / "requests")
        assert written == spec.lines, f"edgesense archive wrote {written} rows"
        print(
            f"   (b2) archive   {spec.lines / b2.seconds / 1e6:6.2f} M lines/s  {b2.seconds:6.2f}s  {b2.peak_rss_mb:6.0f} MB"
        )
        result["archive"] = {"seconds": round(b2.seconds, 3), "peak_rss_mb": round(b2.peak_rss_mb)}
        if python_baseline:
            c = measure([py, "-c", PYTHON, str(rules), *map(str, files)])
            print(
                f"   (c) python     {spec.lines / c.seconds / 1e6:6.2f} M lines/s  {c.seconds:6.2f}s  {c.peak_rss_mb:6.0f} MB"
            )
            result["python"] = {"seconds": round(c.seconds, 3), "peak_rss_mb": round(c.peak_rss_mb)}
            check_agreement(Path(tmp) / "out.parquet", json.loads(c.stdout))
    for k in ("ceiling", "archive_ceiling", "edgesense", "archive", "python"):
        if k in result:
            result[k]["lines_per_s"] = round(spec.lines / result[k]["seconds"])
    if not ceiling:
        return result
    result["b_over_a"] = round(result["ceiling"]["seconds"] / result["edgesense"]["seconds"], 3)
    result["b2_over_a2"] = round(result["archive_ceiling"]["seconds"] / result["archive"]["seconds"], 3)
    line = f"   b/a = {result['b_over_a']:.2f}   b2/a2 = {result['b2_over_a2']:.2f}"
    if "python" in result:
        result["b_over_c"] = round(result["python"]["seconds"] / result["edgesense"]["seconds"], 2)
        line += f"   b/c = {result['b_over_c']:.1f}x"
    print(line)
    return result


def duckdb_count(folder: Path) -> int:
    import duckdb

    return duckdb.execute(
        "SELECT count(*) FROM read_parquet($p)", {"p": str(folder / "**" / "*.parquet")}
    ).fetchone()[0]


def check_agreement(parquet: Path, baseline: dict) -> None:
    """edgesense and the Python baseline must count the same requests per URL pattern."""
    import duckdb

    got = dict(
        duckdb.execute(
            "SELECT url_pattern, sum(requests)::BIGINT FROM read_parquet($p) GROUP BY 1", {"p": str(parquet)}
        ).fetchall()
    )
    if got != baseline["by_pattern"]:
        raise SystemExit(f"edgesense and the Python baseline disagree:\n{got}\n{baseline['by_pattern']}")
    print(f"   counts agree with the baseline ({len(got)} URL patterns)")


def verdict(name: str, value: float, target: float, unit: str = "") -> str:
    ok = value >= target
    return f"   {'MET  ' if ok else 'SHORT'} {name}: {value:.2f}{unit} (target >= {target}{unit})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--files", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--stress-lines", type=int, default=2_000_000, help="0 skips the stress case")
    p.add_argument(
        "--big-lines", type=int, default=0,
        help="also aggregate one batch this big (23000000 is about 1 GB of gzip) for peak RSS",
    )  # fmt: skip
    p.add_argument("--data", type=Path, default=ROOT / ".bench", help="corpus cache folder")
    p.add_argument("--report", type=Path, default=ROOT / ".bench" / "report.json")
    args = p.parse_args(argv)

    results = {
        "main": run_case(
            "main", CorpusSpec(lines=args.lines, files=args.files), args.data, args.threads, True
        )
    }
    if args.stress_lines:
        stress = CorpusSpec(lines=args.stress_lines, files=args.files, unique_share=0.5, rules=200)
        results["stress"] = run_case(
            "stress (200 rules, ~1M distinct paths)", stress, args.data, args.threads, False
        )

    if args.big_lines:
        big = CorpusSpec(lines=args.big_lines, files=max(args.files, args.big_lines // 100_000))
        results["big"] = run_case(
            "one big batch (peak RSS)", big, args.data, args.threads, False, ceiling=False
        )

    main_case = results["main"]
    print("\n== targets (2 threads)")
    print(verdict("edgesense lines/s", main_case["edgesense"]["lines_per_s"] / 1e6, 1.0, " M"))
    print(verdict("edgesense / ceiling (b/a; floor 0.6)", main_case["b_over_a"], 0.75))
    print(verdict("archive / archive ceiling (b2/a2; floor 0.6)", main_case["b2_over_a2"], 0.8))
    if "stress" in results:
        print(verdict("stress: edgesense / ceiling", results["stress"]["b_over_a"], 0.5))
        print(verdict("stress: archive / archive ceiling", results["stress"]["b2_over_a2"], 0.6))
    if "big" in results:
        big = results["big"]
        for path in ("edgesense", "archive"):
            ok = big[path]["peak_rss_mb"] <= 1536
            print(f"   {'MET  ' if ok else 'SHORT'} peak RSS of {path} on a {big['compressed_mb'] / 1000:.2f} GB gzip "
                  f"batch: {big[path]['peak_rss_mb'] / 1024:.2f} GB (target <= 1.5 GB)")  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nreport: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``make bench-anomaly``: the anomaly detector over generated days with labelled incidents.

The traffic model (``edgesense.traffic_model``) generates ``--warmup-days`` of history and then
``--days`` scored days for ``--hosts`` hosts of very different sizes; ``edgesense.incidents.place``
puts ``--per-host-day`` incidents of the four kinds (balanced) on random hosts at random times of
the scored days, at least three hours apart on a host. The detector scores every host and minute
as it arrives, as the ops DAG would, with its default configuration. This is done for ``--seeds``
seeds from ``--seed`` (traffic and placement both), in parallel, and the counts are pooled: one
seed's 100 incidents move recall by a few points either way.

- recall: incidents with an anomalous score *on their host and on the signal they affect*
  (``incidents.AFFECTS``) within 5 minutes of onset (the onset minute to onset + 5). A slow ramp's
  onset is its first minute, when it is still invisible. For comparison only, the report also counts
  ramps from the minute they are as bad as the smallest 5XX burst (4 % extra 5XX).
- precision: alarmed (host, minute)s, any signal, inside an incident of that host or the
  ``GRACE`` minutes after it (a 5-minute mean stays high for 4), over all alarmed (host, minute)s.
- false alarms per host-day: alarm episodes (consecutive alarmed minutes of a host) touching no
  incident, per host-day of normal traffic (the scored host-minutes outside incidents and graces).

The last line reads ``recall R, precision P, false alarms per host-day F``; goal: recall >= 0.9 at
<= 1 false alarm per host-day.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins")]

from edgesense.anomaly import Detector, DetectorConfig  # noqa: E402
from edgesense.incidents import AFFECTS, KINDS, RANGES, Incident, effect, place  # noqa: E402
from edgesense.traffic_model import default_hosts, simulate  # noqa: E402

DEADLINE = 5  # minutes after onset
GRACE = 10  # minutes after an incident's end that still belong to it
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
GOAL_RECALL, GOAL_FALSE = 0.9, 1.0
MINUTE = timedelta(minutes=1)
SMALLEST_BURST = RANGES["error_burst"][0][0]


def onset(inc: Incident, material: bool = False) -> datetime:
    """The incident's first minute; with ``material``, a ramp's first minute as bad as the smallest burst."""
    if not material or inc.kind != "slow_ramp":
        return inc.start
    return next(inc.start + k * MINUTE for k in range(inc.minutes)
                if effect([inc], inc.host, inc.start + k * MINUTE).extra_5xx >= SMALLEST_BURST)  # fmt: skip


def in_time(delays: Iterable[int | None]) -> int:
    return sum(d is not None and d <= DEADLINE for d in delays)


@dataclass
class Outcome:
    """One seed's incidents and what the detector did: its alarms, by (host, signal) and by (host, minute)."""

    seed: int
    incidents: list[Incident]
    normal_host_days: float
    by_signal: dict[tuple[str, str], set[datetime]] = field(default_factory=dict)
    alarmed: set[tuple[str, datetime]] = field(default_factory=set)

    def owned(self, host: str, minute: datetime) -> bool:
        """Whether an alarm of this host and minute belongs to one of its incidents (or the grace after)."""
        return any(i.host == host and i.start <= minute < i.end + GRACE * MINUTE for i in self.incidents)

    def first_alarm(self, inc: Incident, material: bool = False) -> int | None:
        """Minutes from onset to the first alarm on the incident's host and signals (within it or its grace)."""
        start = onset(inc, material)
        hits = [m for sig in AFFECTS[inc.kind] for m in self.by_signal.get((inc.host, sig), ())
                if start <= m < inc.end + GRACE * MINUTE]  # fmt: skip
        return int((min(hits) - start) / MINUTE) if hits else None

    def false_episodes(self, host: str) -> int:
        """Runs of consecutive alarmed minutes of ``host`` that touch none of its incidents."""
        minutes = sorted(m for h, m in self.alarmed if h == host)
        count, episode = 0, []
        for m in [*minutes, None]:
            if episode and (m is None or m - episode[-1] > MINUTE):
                count += not any(self.owned(host, x) for x in episode)
                episode = []
            if m is not None:
                episode.append(m)
        return count


def run(args: argparse.Namespace, seed: int, progress=None) -> Outcome:
    """Generate one seed's days, feed the warm-up to a detector and score every host and minute after it."""
    hosts = default_hosts(args.hosts)
    incidents = place([h.host for h in hosts], START + timedelta(days=args.warmup_days), args.days, seed=seed,
                      per_host_day=args.per_host_day)  # fmt: skip
    normal = (len(hosts) * args.days * 1440 - sum(i.minutes + GRACE for i in incidents)) / 1440
    outcome = Outcome(seed, incidents, normal)
    detector = Detector(DetectorConfig(threshold=args.threshold))
    for m, row in enumerate(
        simulate(hosts, START, (args.warmup_days + args.days) * 1440, incidents, seed=seed)
    ):
        if m < args.warmup_days * 1440:
            detector.add(row)
        else:
            for s in detector.score(row):
                if s.is_anomalous:
                    outcome.by_signal.setdefault((s.host, s.signal), set()).add(s.minute)
                    outcome.alarmed.add((s.host, s.minute))
        if progress is not None and m % 240 == 239:
            progress.put(240)
    return outcome


def run_all(args: argparse.Namespace, console: Console) -> list[Outcome]:
    """Every seed, one process each (as many at once as there are cores), with one progress bar."""
    seeds = range(args.seed, args.seed + args.seeds)
    total = args.seeds * (args.warmup_days + args.days) * 1440
    with Progress(console=console, transient=True) as bar, multiprocessing.Manager() as manager:
        task = bar.add_task(f"{args.seeds} seeds x {args.hosts} hosts, {args.warmup_days} + {args.days} days",
                            total=total)  # fmt: skip
        queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=min(args.seeds, os.cpu_count() or 1)) as pool:
            futures = [pool.submit(run, args, seed, queue) for seed in seeds]
            while not all(f.done() for f in futures):
                with contextlib.suppress(Empty):
                    bar.advance(task, queue.get(timeout=0.5))
            return [f.result() for f in futures]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=7, help="scored days (default 7)")
    ap.add_argument("--warmup-days", type=int, default=7, help="days of history before them (default 7)")
    ap.add_argument(
        "--hosts", type=int, default=5, help="hosts, 20,000 requests/min at peak, x0.3 each (default 5)"
    )
    ap.add_argument("--seed", type=int, default=13, help="first seed of traffic and placement (default 13)")
    ap.add_argument("--seeds", type=int, default=4, help="seeds to run and pool, in parallel (default 4)")
    ap.add_argument("--per-host-day", type=float, default=3, help="incidents per host and day (default 3)")
    ap.add_argument("--threshold", type=float, default=DetectorConfig().threshold,
                    help=f"alarm threshold (default {DetectorConfig().threshold:g})")  # fmt: skip
    args = ap.parse_args(argv)
    hosts = default_hosts(args.hosts)
    out = Console(width=110)
    outcomes = run_all(args, Console(stderr=True))
    delays = [(o, i, o.first_alarm(i)) for o in outcomes for i in o.incidents]

    table = Table(title=f"incidents, detected within {DEADLINE} min of onset (on their host and signal)")
    for col in ("kind", "incidents", "in time", "later", "missed", "median min to detect", "recall"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind in (*KINDS, "all"):
        mine = [d for _, i, d in delays if kind in ("all", i.kind)]
        found = [d for d in mine if d is not None]
        n = in_time(found)
        table.add_row(kind, str(len(mine)), str(n), str(len(found) - n), str(len(mine) - len(found)),
                      f"{statistics.median(found):g}" if found else "-", f"{n / len(mine):.2f}" if mine else "-")  # fmt: skip
    out.print(table)

    false_episodes = {h.host: sum(o.false_episodes(h.host) for o in outcomes) for h in hosts}
    by_host = Table(title=f"per host, {args.seeds} seeds from {args.seed}")
    for col in ("host", "peak/min", "incidents", "in time", "false alarm episodes"):
        by_host.add_column(col, justify="left" if col == "host" else "right")
    for h in hosts:
        mine = [d for _, i, d in delays if i.host == h.host]
        by_host.add_row(h.host, f"{h.peak_per_minute:,.0f}", str(len(mine)), str(in_time(mine)),
                        str(false_episodes[h.host]))  # fmt: skip
    out.print(by_host)

    ramps = [(o, i) for o, i, _ in delays if i.kind == "slow_ramp"]
    material = in_time(o.first_alarm(i, material=True) for o, i in ramps)
    others = in_time(d for _, i, d in delays if i.kind != "slow_ramp")
    out.print(f"for comparison only: slow ramps counted from the minute they are as bad as the smallest burst "
              f"({SMALLEST_BURST:.0%} extra 5XX): {material} of {len(ramps)} within {DEADLINE} min, "
              f"recall so counted {(others + material) / max(1, len(delays)):.2f}", soft_wrap=True)  # fmt: skip

    alarmed = [(o, h, m) for o in outcomes for h, m in o.alarmed]
    host_days = sum(o.normal_host_days for o in outcomes)
    recall = in_time(d for _, _, d in delays) / max(1, len(delays))
    precision = sum(o.owned(h, m) for o, h, m in alarmed) / len(alarmed) if alarmed else 1.0
    false_rate = sum(false_episodes.values()) / host_days
    per_seed = ", ".join(f"{o.seed}: {in_time(o.first_alarm(i) for i in o.incidents) / max(1, len(o.incidents)):.2f}"
                         for o in outcomes)  # fmt: skip
    verdict = "MET" if recall >= GOAL_RECALL and false_rate <= GOAL_FALSE else "SHORT"
    out.print(f"{len(delays)} incidents (recall by seed {per_seed}), {len(alarmed)} alarmed host-minutes, "
              f"{sum(false_episodes.values())} false alarm episodes in {host_days:.1f} host-days of normal traffic, "
              f"threshold {args.threshold:g}; goal recall >= {GOAL_RECALL} at <= {GOAL_FALSE:g} false alarm per "
              f"host-day: {verdict}", soft_wrap=True)  # fmt: skip
    print(
        f"recall {recall:.2f}, precision {precision:.2f}, false alarms per host-day {false_rate:.2f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the whole sample report (``portfolio report``), per notebook, against a time target.

Runs the report on the bundled sample (or ``--config``) into a temporary folder, as
``make report`` does after the install, and prints each notebook's time (from the run,
the same figures as ``run.json``), the total wall time and the processor time of the run
(the runner and its kernels): on a busy machine the wall time grows with the other work,
the processor time much less (per notebook: its kernel and its page). Exits with status 1 when the whole run takes longer than
the target or a notebook failed.

Target: :data:`TARGET_SECONDS` (60 s) for the 2,000-customer sample on this two-core
machine. Measured in December 2026 on the shared machine (load about 5), before / after
the speed-ups of issue 16 (wall s, processor s):

    01_data_cleaning   45.9 / 46.2    15.3 / 15.9
    02_pareto          18.5 / 16.6     6.3 /  7.0
    03_profitability   13.3 / 15.8     6.0 /  6.6
    04_segmentation    17.5 / 21.4     9.4 / 10.1
    05_scoring         49.0 / 31.8    23.9 / 18.7
    whole report      149.1 / 137.0   62.9 / 60.3

On an idle machine the wall time is close to the processor time (the work is sequential).

With the notebooks 07 and 08 added and the dependency graph (December 2026, same shared machine,
load about 6; 01 with the quality checks run once in the second run), ``--jobs 1`` / ``--jobs 2``:

    notebook           jobs 1: wall s  processor s   jobs 2: wall s  start  end
    01_data_cleaning           28.9        16.3               32.0     7.9   39.9
    02_pareto                  11.9         6.5               16.3    39.9   56.2
    03_profitability            9.1         6.1               16.3    39.9   56.2
    04_segmentation            20.5        10.1               19.2    56.2   75.4
    05_scoring                 43.6        21.6               39.5    75.4  114.9
    07_growth                  17.9         6.5               17.7    56.2   73.9
    08_voice                   17.9         5.9                9.8   114.9  124.7
    whole report              153.1        74.9              124.8  (processor 66.8 s)

A second pair a few minutes later, load about 4 during ``--jobs 2`` (about 6 during ``--jobs 1``):
``--jobs 2`` 67.0 s wall (01 13.6, 02 10.3 and 03 9.7 together, 04 13.2 beside 07 12.0, 05 20.7,
08 8.3; processor 67.6 s); ``--jobs 1`` 145.2 s wall, processor 70.3 s (01: 14.9 s, 1.4 s less
than before with the quality checks run once).

The exports, findings, charts and run.json metrics of each pair are identical. The longest
chain of needs, 01 -> 03 -> 04 -> 05 -> 08, sets the wall time with two jobs: 02 and 07 run beside it.

Issue 16, item 2 (December 2026, shared machine, load 5 to 11 from other work: the wall times below
are those of the moment, the processor times compare better). ``--jobs 1``, the kit before / after
(processor s; before at load 8.5, after at load 4.8):

    01_data_cleaning   18.8 / 12.7   (numbers and spaces parsed in Arrow, no scikit-learn import)
    02_pareto           7.7 /  6.9
    03_profitability    7.2 /  5.6
    04_segmentation    11.8 /  9.4   (computes the customer tables itself: runs beside 03)
    05_scoring         22.6 / 18.0   (the boosted model's CV read off its calibration folds)
    06_value           10.3 /  7.7
    07_growth           8.0 /  6.6
    08_voice            7.1 /  5.1
    whole report       95.5 / 73.5

Every kernel is now stopped as soon as its last cell has run (about 1 s per notebook less), and the
runner starts the notebook heading the longest chain of needs first: the chain is now
01 -> 04 -> 05 -> 08 (03 runs beside 04). On an idle machine that gives about 1.5 + 13 + 10 + 18.5 +
5.5 = 48.5 s, the processor time over two jobs about 45 s. The exports, findings, charts and metrics are
those of the run before, byte for byte, except notebook 06's CLV fit, which already differed from one run
to the next before (its Gamma-Gamma parameters move in the 5th digit).

With ``--jobs 2`` (the default of ``portfolio report`` on two cores) the notebooks that do
not need each other run at the same time: the table then shows when each notebook started
and ended (seconds from the start of the run) rather than its processor time, which cannot
be told apart between kernels running together.

    .venv/bin/python benchmarks/bench_report.py [--config FILE] [--jobs N] [--target 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time

from common import parse_args

from portfolio_helpers.app.runner import DEFAULT_CONFIG, default_jobs, run_report
from portfolio_helpers.app.sample_data import write_demo_data

#: Seconds allowed for the whole sample report.
TARGET_SECONDS = 60.0


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="portfolio config (default: the sample)")
    parser.add_argument("--target", type=float, default=TARGET_SECONDS, help="seconds allowed")
    parser.add_argument("--keep", metavar="DIR", help="write the report here instead of a temporary folder")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="notebooks at a time (default: %(default)s)")
    args = parse_args(parser, only=["01", "02"])

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        out = args.keep or tmp
        if args.quick:  # a tiny generated portfolio, two notebooks: checks that the benchmark runs
            args.config = write_demo_data(os.path.join(tmp, "data"), n_customers=120, seed=3) / "portfolio.yml"
        kernel_cpu: dict[str, float] = {}
        started: dict[str, float] = {}

        def on_line(line: str) -> None:
            # "[2/5] 02_pareto ..." starts a notebook; "[2/5] 02_pareto ... ok (8.7 s)" ends it (its kernel reaped)
            if line.startswith("[") and line.endswith(" ..."):
                started[line.split("] ", 1)[1].removesuffix(" ...")] = _cpu_seconds()
                return
            for name, cpu_at_start in started.items():
                if name not in kernel_cpu and f"] {name} ... " in line:
                    kernel_cpu[name] = _cpu_seconds() - cpu_at_start

        cpu, clock = _cpu_seconds(), time.monotonic()
        run_start = dt.datetime.now().astimezone()
        result = run_report(config_path=args.config, out_dir=out, progress=on_line, jobs=args.jobs,
                            only=getattr(args, "only", None))
        wall, cpu = time.monotonic() - clock, _cpu_seconds() - cpu
        alone = args.jobs == 1
        print(f"{'notebook':<24}{'status':<9}{'seconds':>9}" + (f"{'processor s':>13}" if alone else
                                                               f"{'start':>8}{'end':>8}"))
        for notebook in result.notebooks:
            seconds = f"{notebook.seconds:.1f}" if notebook.seconds is not None else "-"
            if alone:
                extra = f"{kernel_cpu[notebook.name]:.1f}" if notebook.name in kernel_cpu else "-"
                extra = f"{extra:>13}"
            elif notebook.started:
                start, end = (dt.datetime.fromisoformat(t) - run_start for t in (notebook.started, notebook.finished))
                extra = f"{start.total_seconds():>8.1f}{end.total_seconds():>8.1f}"
            else:
                extra = ""
            print(f"{notebook.name:<24}{notebook.status:<9}{seconds:>9}{extra}")
        print(f"{'whole report':<33}{wall:>9.1f}   (processor time {cpu:.1f} s, {args.jobs} job(s), {os.cpu_count()} cores,"
              f" load {os.getloadavg()[0]:.1f})")
    if result.status != "ok":
        print("a notebook failed: see the report", file=sys.stderr)
        return 1
    if wall > args.target and not args.quick:
        print(f"slower than the target of {args.target:.0f} s", file=sys.stderr)
        return 1
    print(f"within the target of {args.target:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

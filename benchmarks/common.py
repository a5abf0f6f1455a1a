"""Helpers shared by the benchmark scripts (run as scripts: this folder is on sys.path)."""

import argparse
import time


def timed(function, *args, **kwargs):
    """Call ``function`` and return ``(result, seconds)``."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def parse_args(parser: argparse.ArgumentParser, argv=None, **quick) -> argparse.Namespace:
    """The parsed arguments, with ``--quick``: the small sizes ``quick`` (argument name -> value) instead
    of the defaults, so the script runs in seconds (``tests/test_benchmarks_run.py`` runs each so)."""
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (" + ", ".join(f"{k}={v}" for k, v in quick.items()) + "): "
                             "checks that the benchmark runs, measures nothing")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in quick.items():
            setattr(args, name, value)
    return args

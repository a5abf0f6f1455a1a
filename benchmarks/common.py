"""Helpers shared by the benchmark scripts (run as scripts: this folder is on sys.path)."""

import time


def timed(function, *args, **kwargs):
    """Call ``function`` and return ``(result, seconds)``."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start

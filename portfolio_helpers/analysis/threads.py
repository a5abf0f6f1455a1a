"""Thread limits for the model fits of the analysis modules.

scikit-learn's k-means, gradient boosting and BLAS calls run on every core through OpenMP
and OpenBLAS threads. On the tables of a customer portfolio (thousands to tens of thousands
of rows, a handful of features) each step is so short that the threads spend more time
waiting for each other than working, and on a busy machine a thread waiting for a core
stalls the whole step: a k-means fit on 23,570 customers took 3 s with two threads on a
loaded two-core machine against 0.1 s on one. :func:`single_threaded` therefore limits
small tables to one thread. Results are the same either way, up to the last bits of
floating-point sums.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from threadpoolctl import threadpool_limits

__all__ = ["SINGLE_THREAD_ROWS", "single_threaded"]

#: Below this many rows, fitting and predicting run on one thread (OpenMP and BLAS).
SINGLE_THREAD_ROWS = 100_000


def single_threaded(n_rows: int) -> AbstractContextManager:
    """A context in which OpenMP and BLAS use one thread when ``n_rows`` is below :data:`SINGLE_THREAD_ROWS`.

    Parameters
    ----------
    n_rows : int
        Rows of the table about to be fitted or scored.

    Returns
    -------
    context manager
        ``threadpoolctl.threadpool_limits(1)`` for small tables, a no-op otherwise.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> with single_threaded(1_000):
    ...     all(pool["num_threads"] == 1 for pool in threadpool_info())
    True
    """
    return threadpool_limits(limits=1) if n_rows < SINGLE_THREAD_ROWS else nullcontext()

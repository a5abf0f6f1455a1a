"""Big generated portfolios written straight to Parquet (``portfolio big-data``).

:func:`write_big_portfolio` writes a portfolio of any size, tens or hundreds of millions of
transaction lines, for the engine benchmarks and for trying the kit on data bigger than
memory: ``transactions.parquet`` (one row per line, the contract's typed columns),
``customers.parquet`` (one row per customer) and ``portfolio.yml`` naming them.

Unlike :mod:`portfolio_helpers.app.sample_data` it plants no answer key, no duplicates and
no defects, and it has only the two tables the engine work is about; its behaviours come
from the sample's generating segments (:data:`~portfolio_helpers.app.sample_data.SEGMENTS`:
shares, orders per year, lines per order, units, discounts, returns, cancellations,
channels and categories), its product catalogue, seasonality and growth.

Memory and determinism
----------------------
Nothing holds the transaction table: customers are drawn first (a few arrays of one value
per customer), then the lines day by day, each day from a generator of its own seeded by
``(seed, day, customer type)``, and written in row groups of ``chunk_lines`` lines. Memory
is bounded by the customers, the chunk and the largest day, not by the number of lines.
The data depend only on the seed and the sizes: the chunk size changes the row groups of
the file, never a value (the same seed and chunk size give byte-identical files with the
same library versions).

The model
---------
Customers get their ids in the order they were acquired (``C0000001`` first). A quarter of
them are the base at the start (acquired in the first 90 days), the others arrive with the
seasonality and growth of the sample. Each customer has a segment, a lifetime (short for
``lapsed`` and ``occasional_consumers``, long for key accounts), an activity drawn from a
Pareto law (alpha 2, capped at 100 times the least active) times its segment's orders per
year, and a basket size multiplier: with the segments' own differences, the top fifth of the
customers makes 80 to 90% of the revenue.

Every customer places a first order on its acquisition day (never cancelled); the other
lines are repeat orders of the customers active on each day, drawn in proportion to their
activity, with the month and weekday factors of the sample. An order has 1 + Poisson lines
(of its segment); a line a product of the catalogue (cheaper products for consumers),
``quantity`` 1 + Poisson units, a discount on some lines, ``cost`` the cost of goods at
list price. A cancelled order keeps its positive amounts with status ``cancelled``; a
returned line gets a credit note: the same order id and product, negative quantity, amount,
discount and cost, status ``returned``, dated 3 to 45 days later (at most the last day).
Exactly ``n_lines`` lines are written (credit notes included): the last order of a day is
cut to fit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from portfolio_helpers.app.sample_data import (
    CATEGORIES,
    CATEGORY_COST_RATE,
    CHANNELS,
    COUNTRIES,
    INDUSTRIES,
    SAMPLE_COSTS,
    SEGMENTS,
    _Calendar,
    _choose,
    _ConfigDumper,
    _flow_leaves,
    _make_catalog,
    _period,
    _segment_param,
)
from portfolio_helpers.core.files import atomic_write, atomic_write_text

__all__ = [
    "BIG_DATA_VERSION",
    "TRANSACTION_SCHEMA",
    "CUSTOMER_SCHEMA",
    "BigPortfolio",
    "write_big_portfolio",
]

BIG_DATA_VERSION = "1.0"

#: The transactions file: the contract's typed columns (text ids, dates as timestamps, numbers as float64).
#: Dates are microsecond timestamps, which DuckDB, Spark and pandas all read natively.
TRANSACTION_SCHEMA = pa.schema([
    ("customer_id", pa.string()),
    ("date", pa.timestamp("us")),
    ("amount", pa.float64()),
    ("order_id", pa.string()),
    ("status", pa.string()),
    ("quantity", pa.float64()),
    ("unit_price", pa.float64()),
    ("discount", pa.float64()),
    ("cost", pa.float64()),
    ("product_id", pa.string()),
    ("category", pa.string()),
    ("channel", pa.string()),
])
CUSTOMER_SCHEMA = pa.schema([
    ("customer_id", pa.string()),
    ("customer_type", pa.string()),
    ("country", pa.string()),
    ("industry", pa.string()),
    ("acquisition_date", pa.timestamp("us")),
    ("stage", pa.string()),
])

#: Mean customer lifetime in days, per segment of :data:`SEGMENTS` (activity stops after it).
_LIFETIME_DAYS = {"key_accounts": 3650.0, "service_heavy": 3650.0, "smb_regulars": 2500.0,
                  "loyal_consumers": 2500.0, "occasional_consumers": 900.0, "lapsed": 300.0}
_PARETO_ALPHA = 2.0  # activity multiplier: 1 + Pareto(alpha), capped
_ACTIVITY_CAP = 100.0
_BASE_SHARE = 0.25  # customers already there at the start (acquired in the first days)
_BASE_DAYS = 90
_RETURN_LAG_DAYS = (3, 45)
_COST_NOISE = 0.10  # sigma of the log noise of the cost of goods
_TYPES = ("B2B", "B2C")
_STATUS_VALUES = ("completed", "cancelled", "returned")


@dataclass(frozen=True)
class BigPortfolio:
    """What :func:`write_big_portfolio` wrote: the folder, its files and their sizes."""

    path: Path
    config: Path
    transactions: Path
    customers: Path
    n_lines: int
    n_customers: int
    n_orders: int


class _Customers:
    """One value per customer (index = acquisition order), drawn from the customers' own generator."""

    def __init__(self, n: int, n_lines: int, calendar: _Calendar, rng: np.random.Generator):
        n_days = calendar.n_days
        shares = _segment_param("share")
        segment = rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum()).astype(np.int8)
        is_b2b = np.array([s.customer_type == "B2B" for s in SEGMENTS])[segment]
        in_base = rng.random(n) < _BASE_SHARE
        later = calendar.sample(np.zeros(n, dtype=np.int64), np.full(n, n_days - 1), is_b2b, rng)
        acquired = np.where(in_base, rng.integers(0, min(_BASE_DAYS, n_days), n), later)
        # sorted by acquisition day: the ids follow the order of acquisition
        order = np.argsort(acquired, kind="stable")
        self.segment, self.is_b2b = segment[order], is_b2b[order]
        self.acquired = acquired[order].astype(np.int32)
        self.acquired[0] = 0  # someone is there from the first day, so every later day has a buyer
        lifetime = rng.exponential(np.array([_LIFETIME_DAYS[s.name] for s in SEGMENTS])[self.segment])
        self.last_day = np.minimum(self.acquired + lifetime, n_days - 1).astype(np.int32)
        self.last_day[0] = n_days - 1
        multiplier = np.minimum(1.0 + rng.pareto(_PARETO_ALPHA, n), _ACTIVITY_CAP)
        self.activity = _segment_param("orders_per_year")[self.segment] * multiplier
        self.basket = np.exp(rng.normal(0.0, _segment_param("value_spread")[self.segment]))
        low, high = (np.array([s.discount_rate[k] for s in SEGMENTS]) for k in (0, 1))
        self.discount_rate = rng.uniform(low[self.segment], high[self.segment])
        country_share = np.array([[c.b2b_share if b2b else c.b2c_share for c in COUNTRIES] for b2b in (True, False)])
        self.country = _choose(country_share[np.where(self.is_b2b, 0, 1)], rng).astype(np.int8)
        self.industry = rng.integers(0, len(INDUSTRIES), n).astype(np.int8)
        # the first order: lines and returned lines, drawn here so the line budget of the other days is known
        extra_lines = _segment_param("extra_lines")[self.segment]
        self.first_lines = 1 + rng.poisson(extra_lines)
        self.first_returns = rng.binomial(self.first_lines, _segment_param("return_rate")[self.segment])
        if int(self.first_lines.sum() + self.first_returns.sum()) > n_lines:  # few lines per customer: one each
            self.first_lines[:] = 1
            self.first_returns[:] = 0


def _active_mass(customers: _Customers, mask: np.ndarray, n_days: int) -> np.ndarray:
    """Per day, the activity of the customers of ``mask`` who can place a repeat order (acquired before it, not gone)."""
    delta = np.zeros(n_days + 2)
    np.add.at(delta, customers.acquired[mask] + 1, customers.activity[mask])
    np.add.at(delta, customers.last_day[mask] + 1, -customers.activity[mask])
    return np.cumsum(delta)[:n_days]


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, built by Arrow (C++), not Python strings."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def write_big_portfolio(
    out_dir: str | os.PathLike,
    n_lines: int,
    n_customers: int,
    seed: int = 7,
    chunk_lines: int = 1_000_000,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    progress: Callable[[int, int], None] | None = None,
) -> BigPortfolio:
    """Write a generated portfolio of ``n_lines`` lines and ``n_customers`` customers as Parquet.

    Parameters
    ----------
    out_dir : str or path-like
        Folder to write into (created if needed): ``transactions.parquet``,
        ``customers.parquet`` and ``portfolio.yml``.
    n_lines : int
        Transaction lines, credit notes included (at least ``n_customers``: every customer buys).
    n_customers : int
        Customers (at least 1); every one has at least one order.
    seed : int, default 7
        The data depend only on the seed, the sizes and the period.
    chunk_lines : int, default 1,000,000
        Lines per row group of ``transactions.parquet`` (and rows per row group of
        ``customers.parquet``): bounds the memory, changes no value.
    start, end : str, default "2023-01-01", "2025-12-31"
        Period of the lines; ``end`` is the ``as_of`` of the config.
    progress : callable, optional
        Called as ``progress(lines_written, n_lines)`` after each row group.

    Returns
    -------
    BigPortfolio
        The paths written, the sizes and the number of orders.

    Examples
    --------
    >>> import tempfile
    >>> import pyarrow.parquet as pq
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     big = write_big_portfolio(tmp, n_lines=5_000, n_customers=400, seed=1, chunk_lines=2_000)
    ...     lines = pq.read_table(big.transactions)
    ...     row_groups = pq.ParquetFile(big.transactions).num_row_groups
    >>> lines.num_rows, row_groups, lines.column_names[:3]
    (5000, 3, ['customer_id', 'date', 'amount'])
    """
    n_lines, n_customers, chunk_lines = int(n_lines), int(n_customers), int(chunk_lines)
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    if n_lines < n_customers:
        raise ValueError(f"n_lines ({n_lines}) must be at least n_customers ({n_customers}): every customer buys")
    if chunk_lines < 1:
        raise ValueError(f"chunk_lines must be at least 1, got {chunk_lines}")
    period_start, period_end, n_days = _period(start, end, 2, "two days")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    calendar = _Calendar(period_start, n_days)
    dates = pd.date_range(period_start, periods=n_days, freq="D")
    customers = _Customers(n_customers, n_lines, calendar, np.random.default_rng([seed, 0]))
    catalog = _make_catalog(np.random.default_rng([seed, 1]))
    id_width = max(7, len(str(n_customers)))
    customer_ids = _ids("C", np.arange(1, n_customers + 1), id_width)
    _write_customers(out / "customers.parquet", customers, customer_ids, dates, chunk_lines)

    budget = _repeat_budget(customers, n_lines, calendar, np.random.default_rng([seed, 2]))
    generator = _LineMaker(customers, catalog, customer_ids, dates, order_width=max(9, len(str(n_lines))))
    n_orders = _write_lines(out / "transactions.parquet", generator, budget, seed, chunk_lines, n_lines, progress)

    config = _config(seed, n_lines, n_customers, period_end)
    header = (f"# Generated by portfolio_helpers.app.big_data {BIG_DATA_VERSION}: {n_lines:,} lines, "
              f"{n_customers:,} customers, seed {seed}.\n"
              "# Typed Parquet tables (no cleaning needed); costs: the sample's cost-to-serve rates.\n")
    config_path = atomic_write_text(out / "portfolio.yml", header + yaml.dump(
        _flow_leaves(config), Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True, width=120))
    return BigPortfolio(out, config_path, out / "transactions.parquet", out / "customers.parquet",
                        n_lines, n_customers, n_orders)


def _config(seed: int, n_lines: int, n_customers: int, period_end: pd.Timestamp) -> dict:
    return {
        "name": f"Big generated portfolio ({n_lines:,} lines, {n_customers:,} customers, seed {seed})",
        "currency": "EUR",
        "as_of": period_end.date(),
        "seed": seed,
        "tables": {"transactions": {"path": "transactions.parquet"}, "customers": {"path": "customers.parquet"}},
        "costs": {key: dict(value) if isinstance(value, dict) else value for key, value in SAMPLE_COSTS.items()},
        "clv": {"calibration_end": (period_end - pd.DateOffset(months=6)).date(), "time_unit": "week"},
    }


def _write_customers(path: Path, customers: _Customers, ids: pa.Array, dates: pd.DatetimeIndex,
                     chunk_rows: int) -> None:
    countries = pa.array([c.name for c in COUNTRIES])
    industries = pa.array(INDUSTRIES)
    day0 = np.datetime64(dates[0].date(), "us")

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, CUSTOMER_SCHEMA) as writer:
            for lo in range(0, len(ids), chunk_rows):
                hi = min(lo + chunk_rows, len(ids))
                b2b = customers.is_b2b[lo:hi]
                industry = industries.take(pa.array(customers.industry[lo:hi].astype(np.int64), mask=~b2b))
                table = pa.table({
                    "customer_id": ids[lo:hi],
                    "customer_type": pa.array(np.where(b2b, "B2B", "B2C")),
                    "country": countries.take(pa.array(customers.country[lo:hi].astype(np.int64))),
                    "industry": industry,
                    "acquisition_date": pa.array(day0 + customers.acquired[lo:hi].astype("timedelta64[D]")),
                    "stage": pa.array(np.full(hi - lo, "customer")),
                }, schema=CUSTOMER_SCHEMA)
                writer.write_table(table, row_group_size=chunk_rows)

    atomic_write(path, write)


def _repeat_budget(customers: _Customers, n_lines: int, calendar: _Calendar, rng: np.random.Generator) -> np.ndarray:
    """Lines of repeat orders per day and customer type (``(n_days, 2)``), summing to what the first orders leave."""
    first = int(customers.first_lines.sum() + customers.first_returns.sum())
    lines_per_order = 1 + _segment_param("extra_lines") * (1 + _segment_param("return_rate"))
    n_days = calendar.n_days
    weights = np.empty((n_days, 2))
    for k, kind in enumerate(_TYPES):
        mask = customers.is_b2b if kind == "B2B" else ~customers.is_b2b
        typical = np.average(lines_per_order[customers.segment[mask]]) if mask.any() else 0.0
        seasonal = np.diff(calendar.cumulative(kind))  # the sample's month, weekday and growth factors
        weights[:, k] = _active_mass(customers, mask, n_days) * seasonal * typical
    # the running sums leave rounding residues (1e-13) on days when nobody of a type is active
    weights = np.where(weights > 1e-9 * weights.max(), weights, 0.0).ravel()
    return rng.multinomial(n_lines - first, weights / weights.sum()).reshape(n_days, 2)


class _LineMaker:
    """Turns the orders of a day into Arrow columns of lines."""

    def __init__(self, customers: _Customers, catalog, customer_ids: pa.Array, dates: pd.DatetimeIndex,
                 order_width: int):
        self.c = customers
        self.catalog = catalog
        self.customer_ids = customer_ids
        self.n_days = len(dates)
        self.day0 = np.datetime64(dates[0].date(), "us")
        self.order_width = order_width
        self.next_order = 1
        self.products = pa.array(catalog.product_id)
        self.categories = pa.array(CATEGORIES)
        self.channels = pa.array(CHANNELS)
        self.statuses = pa.array(_STATUS_VALUES)
        self.extra_lines = _segment_param("extra_lines")
        self.extra_units = _segment_param("extra_units")
        self.return_rate = _segment_param("return_rate")
        self.cancel_rate = _segment_param("cancel_rate")
        self.discount_use = _segment_param("discount_use")
        self.category_mix = np.array([s.category_mix for s in SEGMENTS])
        self.channel_mix = np.array([s.channel_mix for s in SEGMENTS])
        self.by_category = np.array([np.asarray(ids) for ids in catalog.by_category])  # (categories, products)
        self.kinds = {}
        for kind in _TYPES:
            members = np.flatnonzero(customers.is_b2b if kind == "B2B" else ~customers.is_b2b)
            self.kinds[kind] = (members, np.cumsum(customers.activity[members]))

    def repeat_orders(self, day: int, kind: int, n_lines: int, rng: np.random.Generator):
        """Customers, lines, returned lines and cancellation of the repeat orders filling ``n_lines`` lines."""
        members, cumulative = self.kinds[_TYPES[kind]]
        known = int(np.searchsorted(self.c.acquired[members], day, side="left"))  # acquired before the day
        total = cumulative[known - 1] if known else 0.0
        parts, filled, explicit = [], 0, None
        while filled < n_lines:
            want = max(16, int((n_lines - filled) / 1.8 * 1.15) + 8)
            if explicit is None:
                pick = members[np.searchsorted(cumulative, rng.random(want) * total, side="right").clip(0, known - 1)]
                pick = pick[self.c.last_day[pick] >= day]
                if pick.size < max(1, want // 20):  # mostly gone customers: draw among the active ones only
                    active = members[:known][self.c.last_day[members[:known]] >= day]
                    explicit = (active, np.cumsum(self.c.activity[active]))
            if explicit is not None:
                active, active_cum = explicit
                pick = active[np.searchsorted(active_cum, rng.random(want) * active_cum[-1], side="right")
                              .clip(0, active.size - 1)]
            segment = self.c.segment[pick]
            lines = 1 + rng.poisson(self.extra_lines[segment])
            cancelled = rng.random(pick.size) < self.cancel_rate[segment]
            returns = np.where(cancelled, 0, rng.binomial(lines, self.return_rate[segment]))
            parts.append((pick, lines, returns, cancelled))
            filled += int((lines + returns).sum())
        pick, lines, returns, cancelled = (np.concatenate(column) for column in zip(*parts, strict=True))
        rows = np.cumsum(lines + returns)
        n = int(np.searchsorted(rows, n_lines, side="left")) + 1  # orders needed to reach n_lines
        pick, lines, returns, cancelled = pick[:n], lines[:n].copy(), returns[:n].copy(), cancelled[:n]
        excess = int(rows[n - 1]) - n_lines  # cut the last order: its credit notes first, then its lines
        cut_returns = min(excess, int(returns[-1]))
        returns[-1] -= cut_returns
        lines[-1] -= excess - cut_returns
        return pick, lines, returns, cancelled

    def day_table(self, day: int, orders: list[tuple], rng: np.random.Generator) -> pa.Table:
        """The lines of the day's orders: every order's lines, then the credit notes of its returned lines."""
        pick, lines, returns, cancelled = (np.concatenate(column) for column in zip(*orders, strict=True))
        n_orders = pick.size
        order_numbers = np.arange(self.next_order, self.next_order + n_orders)
        self.next_order += n_orders
        c = self.c
        segment = c.segment[pick]
        channel = _choose(self.channel_mix[segment], rng)
        # the lines
        order = np.repeat(np.arange(n_orders), lines)
        position = np.arange(order.size) - np.repeat(np.cumsum(lines) - lines, lines)
        line_customer = pick[order]
        line_segment = segment[order]
        category = _choose(self.category_mix[line_segment], rng)
        # consumers buy the cheaper products of a category (the catalogue is sorted by price)
        u = rng.random(order.size)
        u = np.where(c.is_b2b[line_customer], u ** 0.8, u ** 2.0)
        product = self.by_category[category, (u * self.by_category.shape[1]).astype(np.int64)]
        price = self.catalog.price[product]
        quantity = (1 + rng.poisson(self.extra_units[line_segment] * c.basket[line_customer])).astype(np.float64)
        gross = quantity * price
        discounted = rng.random(order.size) < self.discount_use[line_segment]
        discount = np.round(np.where(discounted, gross * c.discount_rate[line_customer], 0.0), 2)
        amount = np.round(gross - discount, 2)
        cost = np.round(gross * CATEGORY_COST_RATE[category] * np.exp(rng.normal(0.0, _COST_NOISE, order.size)), 2)
        status = np.where(cancelled[order], 1, 0)
        date = np.full(order.size, day, dtype=np.int64)
        # credit notes of the first `returns` lines of each order
        back = np.flatnonzero(position < returns[order])
        lag = rng.integers(_RETURN_LAG_DAYS[0], _RETURN_LAG_DAYS[1] + 1, back.size)
        every = np.concatenate([np.arange(order.size), back])
        sign = np.concatenate([np.ones(order.size), -np.ones(back.size)])
        date = np.concatenate([date, np.minimum(day + lag, self.n_days - 1)])
        status = np.concatenate([status, np.full(back.size, 2)])
        line_order = order[every]
        return pa.table({
            "customer_id": self.customer_ids.take(pa.array(line_customer[every])),
            "date": pa.array(self.day0 + date.astype("timedelta64[D]")),
            "amount": sign * amount[every],
            "order_id": _ids("O", order_numbers[line_order], self.order_width),
            "status": self.statuses.take(pa.array(status)),
            "quantity": sign * quantity[every],
            "unit_price": price[every],
            "discount": sign * discount[every],
            "cost": sign * cost[every],
            "product_id": self.products.take(pa.array(product[every])),
            "category": self.categories.take(pa.array(category[every])),
            "channel": self.channels.take(pa.array(channel[line_order])),
        }, schema=TRANSACTION_SCHEMA)


def _write_lines(path: Path, maker: _LineMaker, budget: np.ndarray, seed: int, chunk_lines: int, n_lines: int,
                 progress: Callable[[int, int], None] | None) -> int:
    c = maker.c
    first_bounds = np.searchsorted(c.acquired, np.arange(len(budget) + 1), side="left")
    def write(tmp: Path) -> None:
        pending: list[pa.Table] = []
        pending_rows = written = 0
        with pq.ParquetWriter(tmp, TRANSACTION_SCHEMA) as writer:
            for day in range(len(budget)):
                rng = np.random.default_rng([seed, 3, day])
                newcomers = np.arange(first_bounds[day], first_bounds[day + 1])
                orders = []
                if newcomers.size:
                    orders.append((newcomers, c.first_lines[newcomers], c.first_returns[newcomers],
                                   np.zeros(newcomers.size, dtype=bool)))
                for kind in range(len(_TYPES)):
                    if budget[day, kind]:
                        orders.append(maker.repeat_orders(day, kind, int(budget[day, kind]),
                                                          np.random.default_rng([seed, 4, day, kind])))
                if not orders:
                    continue
                table = maker.day_table(day, orders, rng)
                pending.append(table)
                pending_rows += table.num_rows
                while pending_rows >= chunk_lines:
                    pending, pending_rows, written = _flush(writer, pending, chunk_lines, written, n_lines, progress)
            while pending_rows:
                pending, pending_rows, written = _flush(writer, pending, chunk_lines, written, n_lines, progress)
        if written != n_lines:  # pragma: no cover - a bug in the line budget, never the user's input
            raise RuntimeError(f"wrote {written} lines instead of {n_lines}")

    atomic_write(path, write)
    return maker.next_order - 1


def _flush(writer: pq.ParquetWriter, pending: list[pa.Table], chunk_lines: int, written: int, n_lines: int,
           progress: Callable[[int, int], None] | None) -> tuple[list[pa.Table], int, int]:
    """Write one row group of (at most) ``chunk_lines`` pending lines; return what is left and the lines written."""
    batch = pa.concat_tables(pending)
    size = min(chunk_lines, batch.num_rows)
    writer.write_table(batch.slice(0, size), row_group_size=chunk_lines)
    written += size
    if progress is not None:
        progress(written, n_lines)
    rest = batch.slice(size)
    return ([rest] if rest.num_rows else []), rest.num_rows, written

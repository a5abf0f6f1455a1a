"""CSV exports ready to load back into a CRM or a spreadsheet.

``exports/customers.csv`` is shared by all notebooks: one row per customer,
``customer_id`` first, and each analysis adds (or refreshes) its own columns.
Re-running a notebook replaces its columns and leaves the others alone.

Notebooks of a report run at the same time, so the export is never updated in place
by them: the runner names each notebook's kernel in ``PORTFOLIO_NOTEBOOK``
(:data:`WRITER_ENV`), each notebook saves its columns as its own part
(``data/customers_export/<notebook>.parquet``), and the runner builds the export once,
from every part in notebook order, atomically, when the notebooks are done
(:func:`write_customer_export`). Whatever the order in which the notebooks finish, no
column is lost and the file is the same as in a sequential run; and no kernel holds the
merged table of every customer (at 5M customers, merging and writing it in each notebook
took 262 s and raised the kernel's peak to 10.8 GiB). Outside a report (a notebook opened
in Jupyter, a script) the file is updated in place, under a lock.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from portfolio_helpers.analysis.engine import positions_of, take_rows
from portfolio_helpers.core.files import atomic_to_csv, atomic_to_parquet, file_lock, restore_formula

__all__ = ["CUSTOMER_EXPORT", "CUSTOMER_PARTS", "WRITER_ENV", "update_customer_export", "read_customer_export",
           "write_customer_export"]

CUSTOMER_EXPORT = Path("exports") / "customers.csv"
#: Folder of the notebooks' parts of the customer export (typed, one file per notebook).
CUSTOMER_PARTS = Path("data") / "customers_export"
#: Environment variable naming the notebook a kernel runs (set by the report runner).
WRITER_ENV = "PORTFOLIO_NOTEBOOK"


def read_customer_export(output_dir: str | os.PathLike) -> pd.DataFrame | None:
    """The current shared customer export, or ``None`` when no notebook has written it yet.

    Text cells are returned as the notebooks wrote them: the quote that the export
    puts before a text starting like a formula (``'+15 ...``, an id ``'-A12``) is
    removed (:func:`~portfolio_helpers.core.files.restore_formula`), so that ids
    read back match the analysis' ids.
    """
    path = Path(output_dir) / CUSTOMER_EXPORT
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"customer_id": "string"}, keep_default_na=True)
    frame.columns = [restore_formula(column) for column in frame.columns]
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            frame.isetitem(position, values.map(restore_formula, na_action="ignore").astype(values.dtype))
    return frame


def update_customer_export(output_dir: str | os.PathLike, columns: pd.DataFrame,
                           customer_col: str = "customer_id") -> Path:
    """Add or replace ``columns`` in ``exports/customers.csv``, keyed by customer id.

    Parameters
    ----------
    output_dir : path
        Run folder (the notebooks' ``output_dir``).
    columns : DataFrame
        One row per customer: ``customer_col`` plus the columns this analysis contributes.
    customer_col : str
        Customer id column of ``columns``.

    Returns
    -------
    Path of the export. Customers already in the file but absent from ``columns`` keep
    their row (with empty values in the new columns); new customers are appended.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> _ = update_customer_export(folder, pd.DataFrame({"customer_id": ["a", "b"], "revenue": [5.0, 3.0]}))
    >>> _ = update_customer_export(folder, pd.DataFrame({"customer_id": ["b", "c"], "cluster": [1, 2]}))
    >>> read_customer_export(folder).to_dict("list")
    {'customer_id': ['a', 'b', 'c'], 'revenue': [5.0, 3.0, nan], 'cluster': [nan, 1.0, 2.0]}
    """
    if customer_col not in columns.columns:
        raise ValueError(f"the frame has no {customer_col!r} column; it has {', '.join(columns.columns)}")
    if columns[customer_col].duplicated().any():
        examples = columns.loc[columns[customer_col].duplicated(), customer_col].head(3).tolist()
        raise ValueError(f"one row per customer expected; duplicated ids, e.g. {examples}")
    new = columns.rename(columns={customer_col: "customer_id"}).copy()
    new["customer_id"] = new["customer_id"].astype("string")
    new.attrs = {}  # what an analysis keeps there (an as-of date...) is not part of the export
    output_dir = Path(output_dir)
    writer = os.environ.get(WRITER_ENV, "").strip()
    parts = output_dir / CUSTOMER_PARTS
    with file_lock(output_dir / "data" / ".customers_export.lock"):
        if not writer:
            return atomic_to_csv(_merge(read_customer_export(output_dir), new), output_dir / CUSTOMER_EXPORT)
        atomic_to_parquet(new, parts / f"{Path(writer).name}.parquet")
        return output_dir / CUSTOMER_EXPORT  # (written by the runner, from every part, when the notebooks are done)


def write_customer_export(output_dir: str | os.PathLike) -> Path | None:
    """Build ``exports/customers.csv`` from the notebooks' parts, in notebook order, atomically; None without parts.

    The report runner calls it once, when the notebooks are done (see the module's docstring).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> os.environ[WRITER_ENV] = "02_pareto"
    >>> _ = update_customer_export(folder, pd.DataFrame({"customer_id": ["a", "b"], "revenue": [5.0, 3.0]}))
    >>> os.environ[WRITER_ENV] = "04_segmentation"
    >>> _ = update_customer_export(folder, pd.DataFrame({"customer_id": ["b", "c"], "cluster": [1, 2]}))
    >>> del os.environ[WRITER_ENV]
    >>> read_customer_export(folder) is None  # (nothing written yet)
    True
    >>> _ = write_customer_export(folder)
    >>> read_customer_export(folder).to_dict("list")
    {'customer_id': ['a', 'b', 'c'], 'revenue': [5.0, 3.0, nan], 'cluster': [nan, 1.0, 2.0]}
    """
    output_dir = Path(output_dir)
    parts = sorted((output_dir / CUSTOMER_PARTS).glob("*.parquet"))
    if not parts:
        return None
    merged = None
    with file_lock(output_dir / "data" / ".customers_export.lock"):
        for part in parts:
            merged = _merge(merged, pd.read_parquet(part))
        return atomic_to_csv(merged, output_dir / CUSTOMER_EXPORT)


def _merge(current: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``current`` with the columns of ``new`` added or replaced; new customers appended.

    Existing rows keep their order (a left join keeps it: nothing is sorted); the new customers follow
    in the order given.
    """
    if current is None:
        return new
    # A left join of current with new, column by column (ids lined up by Arrow: 5M customer ids hashed by
    # pandas cost ~1 GB a pass); a re-run replaces its whole columns in place, so the column order stays stable.
    merged = current.copy(deep=False)
    at = positions_of(new["customer_id"], current["customer_id"])
    for column in new.columns.drop("customer_id"):
        merged[column] = take_rows(new[column], at)
    added = new[positions_of(current["customer_id"], new["customer_id"]) < 0]
    if len(added):
        merged = pd.concat([merged, added], ignore_index=True)
    return merged

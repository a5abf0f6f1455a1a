"""The cleaning pipeline of notebook ``01_data_cleaning``, and the hand-over to notebooks 02+.

load (typed, rejected rows kept) -> standardize (change log; exact duplicate lines and sign
errors flagged, not dropped) -> merge duplicate customers (reversible id mapping, applied to
every table) -> quality scorecard -> pseudonymize when the config says so -> save.

The analysis notebooks call :func:`open_portfolio`: it reuses the tables notebook 01 saved
when they are fresh, and otherwise runs this same pipeline, so a notebook opened on its own
in JupyterLab sees exactly what the report sees.

Typed transactions (Parquet, an engine table: see :mod:`portfolio_helpers.ingest.typed`) stay in
the engine through the pipeline: their values were validated by the engine when loaded (status
vocabulary included), so the text standardisation, which reads every line in pandas, is skipped for
them; their line-level quality checks are counted by the engine (all but the search for sign errors:
:func:`portfolio_helpers.cleaning.quality.quality_report`); the customer merge is applied to them by
the engine, and they are saved as ``data/transactions.parquet`` written by the engine itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd

from portfolio_helpers.cleaning import dedup, feedback, privacy, quality, standardize
from portfolio_helpers.core.backend import quiet
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.contract import FREE_TEXT_COLUMNS, TABLES
from portfolio_helpers.core.files import atomic_to_csv, atomic_to_parquet, atomic_write_json, sha256_file
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.loaders import (
    Portfolio,
    count_rejected_rows,
    engine_tables_for,
    flag_known_customers,
    load_portfolio,
    read_saved_tables,
    save_table,
)

__all__ = ["CleanPortfolio", "clean_portfolio", "open_portfolio", "EXPORTS", "save_derived_table",
           "load_derived_table"]

EXPORTS = {
    "rejected_rows": "exports/rejected_rows.csv",
    "cleaning_log": "exports/cleaning_log.csv",
    "duplicates": "exports/duplicates.csv",
    "duplicates_review": "exports/duplicates_review.csv",
    "id_mapping": "exports/id_mapping.csv",
    "quality_issues": "exports/quality_issues.csv",
}


@dataclass
class CleanPortfolio:
    """Everything notebook 01 shows and saves."""

    portfolio: Portfolio  # as loaded: typed, before any cleaning
    tables: dict[str, pd.DataFrame]  # cleaned: standardized, duplicates removed, customers merged
    changes: pd.DataFrame  # the cleaning log
    rejected: pd.DataFrame  # rows left out when loading, with the reason
    duplicates: dedup.DuplicateResult | None
    scorecard: pd.DataFrame
    issues: pd.DataFrame
    pseudonymizer: privacy.Pseudonymizer | None = None
    info: dict = field(default_factory=dict)

    # The loaded portfolio's description, so the overview functions of `cleaning` take either object.
    @property
    def config(self):
        return self.portfolio.config

    @property
    def as_of(self) -> pd.Timestamp:
        return self.portfolio.as_of

    @property
    def inputs(self) -> list[dict]:
        return self.portfolio.inputs

    @property
    def detected(self) -> dict:
        return self.portfolio.detected

    @property
    def transactions(self) -> pd.DataFrame:
        return self.tables["transactions"]

    @property
    def n_rejected_rows(self) -> int:
        """Rows left out of the analysis (:func:`~portfolio_helpers.ingest.loaders.count_rejected_rows`)."""
        return count_rejected_rows(self.rejected)

    def published(self) -> dict[str, pd.DataFrame]:
        """What may leave the pipeline: the tables, log and lists, pseudonymized when configured.

        An engine table is pseudonymized where it lives (:func:`~portfolio_helpers.cleaning.privacy.pseudonymize_engine_table`:
        the same pseudonyms as for a frame, the keyed hash run on the distinct values only); its free-text
        columns, if any, are left out, as for a frame.
        """
        out = {"tables": self.tables, "changes": self.changes, "issues": self.issues, "rejected": self.rejected}
        if self.pseudonymizer is None:
            return out
        p = self.pseudonymizer
        frames = {name: table for name, table in self.tables.items() if not is_engine_table(table)}
        tables = privacy.pseudonymize_tables(frames, p)
        for name, table in self.tables.items():
            if is_engine_table(table):
                # its schema as an empty frame: the personal columns are found by name and type, as for frames
                schema = pd.DataFrame({col: pd.Series(dtype="string" if table[col].type().is_string() else "float64")
                                       for col in table.columns})
                table = privacy.pseudonymize_engine_table(table, p, privacy.personal_columns(name, schema))
                free_text = [c for c in FREE_TEXT_COLUMNS.get(name, ()) if c in table.columns]
                tables[name] = table.drop(*free_text) if free_text else table
        return {
            "tables": {name: tables[name] for name in self.tables},
            "changes": privacy.pseudonymize_long(self.changes, p),
            "issues": privacy.pseudonymize_long(self.issues, p, "field", ("value",)),
            "rejected": privacy.pseudonymize_long(self.rejected, p, "column", ("value",)),
        }

    def save(self, output_dir: str | os.PathLike) -> None:
        """Write the cleaned tables (``data/*.parquet``) and every export, atomically."""
        output_dir = Path(output_dir)
        published = self.published()
        for name, frame in published["tables"].items():  # an engine table is written by its engine
            save_table(frame, output_dir / "data" / f"{name}.parquet")
        atomic_to_csv(published["rejected"], output_dir / EXPORTS["rejected_rows"])
        atomic_to_csv(published["changes"], output_dir / EXPORTS["cleaning_log"])
        atomic_to_csv(published["issues"], output_dir / EXPORTS["quality_issues"])
        if self.duplicates is not None:
            atomic_to_csv(self.duplicates.duplicates_table(), output_dir / EXPORTS["duplicates"])
            atomic_to_csv(self.duplicates.review, output_dir / EXPORTS["duplicates_review"])
            atomic_to_csv(self.duplicates.mapping, output_dir / EXPORTS["id_mapping"])
        atomic_write_json(output_dir / "data" / "portfolio.json", self.info)


def clean_portfolio(config_path: str | os.PathLike, strict: bool = False, seed: int | None = None,
                    today: pd.Timestamp | None = None, report_dir: str | os.PathLike | None = None) -> CleanPortfolio:
    """Run the whole cleaning pipeline on a portfolio config.

    Parameters
    ----------
    config_path : path
        Portfolio config.
    strict : bool
        Row-level problems raise instead of being set aside.
    seed : int, optional
        Seed of the duplicate detection's random sampling; default the config's ``seed``.
    today : Timestamp, optional
        Reference date for future dates (default: now).
    report_dir : path, optional
        Where outputs go; the pseudonymization key is refused there.
    """
    portfolio = feedback.screen_feedback(load_portfolio(config_path, strict=strict, today=today), strict=strict)
    config = portfolio.config
    # Typed lines in the engine were validated there when loaded; text standardisation is for text exports.
    in_engine = {name: table for name, table in portfolio.tables.items() if is_engine_table(table)}
    frames = {name: table for name, table in portfolio.tables.items() if name not in in_engine}
    tables, changes = standardize.standardize_portfolio(frames, as_of=portfolio.as_of)
    tables = {name: in_engine.get(name, tables.get(name)) for name in portfolio.tables}
    changes = pd.concat([_id_rewrite_changes(portfolio), changes], ignore_index=True)

    # Lines identical on every column are flagged (log and quality issues), not dropped: without a line
    # number in the export, an order holding the same item twice looks exactly like a double import.
    rejected = portfolio.rejected
    duplicates = None
    if "customers" in tables and len(tables["customers"]):
        last_activity = _last_activity(tables["transactions"])
        duplicates = dedup.find_duplicates(tables["customers"], seed=config.seed if seed is None else seed,
                                           last_activity=last_activity)
        merged = dedup.apply_mapping({name: table for name, table in tables.items() if name not in in_engine},
                                     duplicates.mapping)
        tables = {name: _merged_lines(table, duplicates.mapping) if name in in_engine else merged[name]
                  for name, table in tables.items()}
        # After merging, ids are known if their survivor is (flag recomputed on the merged ids).
        tables["transactions"] = flag_known_customers(tables["transactions"], tables["customers"])

    if "transactions" in in_engine:
        period_start = pd.Timestamp(portfolio.detected["transactions"]["first_date"])  # counted when loading
    else:
        period_start = tables["transactions"]["date"].min()
    # (typed lines are checked where they are: the scorecard's counts come from the engine)
    scorecard, issues = quality.quality_report(tables, portfolio.as_of, period_start=period_start)

    pseudonymizer = None
    if config.pseudonymize:
        key = privacy.load_or_create_key(privacy.key_path_for(config.path), report_dir=report_dir)
        pseudonymizer = privacy.Pseudonymizer(key)

    cleaned = CleanPortfolio(portfolio, tables, changes, rejected, duplicates, scorecard, issues, pseudonymizer)
    cleaned.info = {
        "config": str(config.path),
        "config_sha256": sha256_file(config.path),
        "name": config.name,
        "currency": config.currency,
        "as_of": portfolio.as_of.date().isoformat(),
        "pseudonymized": config.pseudonymize,
        "tables": sorted(tables),
        "inputs": portfolio.inputs,
        "n_rejected_rows": cleaned.n_rejected_rows,
    }
    if in_engine:
        cleaned.info["engine_tables"] = {
            "tables": sorted(in_engine), "engine": config.engine.backend,
            "skipped": "text standardisation and the search for sign errors (typed lines, validated and "
                       "checked by the engine)"}
    return cleaned


def _last_activity(transactions) -> pd.Series:
    """Each customer's last transaction date (computed by the engine for engine lines: one value per customer)."""
    if not is_engine_table(transactions):
        return transactions.groupby("customer_id")["date"].max()
    with quiet():
        last = transactions.group_by("customer_id").aggregate(date=transactions["date"].max()).to_pandas()
    return last.set_index("customer_id")["date"]


def _merged_lines(lines, mapping: pd.DataFrame):
    """Engine lines with each merged customer id replaced by its survivor's, the former id kept in
    ``original_customer_id`` (as :func:`~portfolio_helpers.cleaning.dedup.apply_mapping` does for frames)."""
    moved = mapping[mapping["customer_id"].astype("string") != mapping["survivor_id"].astype("string")]
    if moved.empty:
        return lines
    with quiet():
        survivors = ibis.memtable(pd.DataFrame({"_merged_id": moved["customer_id"].astype(str).to_numpy(),
                                                "_survivor_id": moved["survivor_id"].astype(str).to_numpy()}))
    joined = lines.left_join(survivors, lines["customer_id"] == survivors["_merged_id"])
    original = lines.columns
    keep_original = "original_customer_id" in original
    columns = {}
    for name in original:
        if name == "customer_id":
            columns[name] = ibis.coalesce(joined["_survivor_id"], joined["customer_id"])
            if not keep_original:
                columns["original_customer_id"] = joined["customer_id"]
        else:
            columns[name] = joined[name]
    return joined.select(**columns)


def _id_rewrite_changes(portfolio: Portfolio) -> pd.DataFrame:
    """Change-log rows (rule ``id_float``) for the ids the loader rewrote, keyed like every other change."""
    parts = [standardize.empty_changes()]
    for (table, column), rewrites in portfolio.id_rewrites.groupby(["table", "column"], sort=False):
        frame = portfolio.tables[table]
        keys = standardize.record_keys(table, frame).set_axis(frame["source_line"].to_numpy())
        keys = keys[~keys.index.duplicated()].reindex(rewrites["source_line"].to_numpy())
        parts.append(pd.DataFrame({"table": table, "row_key": keys.to_numpy(), "column": column,
                                   "old_value": rewrites["old_value"].to_numpy(),
                                   "new_value": rewrites["new_value"].to_numpy(), "rule": "id_float"}).astype("string"))
    return pd.concat(parts, ignore_index=True)


def _is_fresh(info_path: Path, config_path: Path) -> bool:
    if not info_path.is_file():
        return False
    info = json.loads(info_path.read_text(encoding="utf-8"))
    sources = [{"path": str(config_path), "sha256": info.get("config_sha256")}, *info.get("inputs", [])]
    return info.get("config") == str(config_path) and all(_unchanged(item) for item in sources)


def _same_files(info_path: Path, config) -> bool:
    """Whether the folders and globs of the config still name the Parquet files the saved tables were made from
    (a file added to a folder is new data)."""
    inputs = json.loads(info_path.read_text(encoding="utf-8")).get("inputs", [])
    for item in inputs:
        source = config.tables.get(item["table"])
        if "files" in item and source is not None and source.table is None:
            if [file["path"] for file in item["files"]] != [str(path) for path in source.files]:
                return False
    return True


def _unchanged(item: dict) -> bool:
    """Whether an input is as it was: text files by their sha256; typed ones (big Parquet files, the database of
    an engine table) by the size and modification time of their files (a Spark catalog table has none)."""
    if "files" in item:
        return all(Path(file["path"]).is_file() and Path(file["path"]).stat().st_size == file["size"]
                   and Path(file["path"]).stat().st_mtime_ns == file["mtime_ns"] for file in item["files"])
    return Path(item["path"]).is_file() and sha256_file(item["path"]) == item["sha256"]


def open_portfolio(config_path: str | os.PathLike, output_dir: str | os.PathLike,
                   strict: bool = False, as_frames: bool = False) -> tuple[dict[str, pd.DataFrame], dict]:
    """The cleaned tables an analysis notebook starts from, and their description.

    Reads what notebook 01 saved in ``output_dir/data`` when it was made from the same
    config and neither the config nor the input files changed since (checked by sha256);
    otherwise runs :func:`clean_portfolio` and saves its result there first.

    Returns
    -------
    tables : dict of DataFrame
        ``transactions`` is the engine table scanning the saved file on the config's engine
        (:func:`~portfolio_helpers.ingest.loaders.engine_tables_for`); the other tables are pandas frames.
        With ``as_frames=True`` (small data explored with pandas, e.g. in a workshop), every table is a
        pandas frame: the whole transactions file is read into memory.
    info : dict
        ``name``, ``currency``, ``as_of`` (Timestamp), ``config``, ``inputs``, ``n_rejected_rows``,
        ``pseudonymized``.
    """
    config_path = Path(config_path).expanduser().resolve()
    info_path = Path(output_dir) / "data" / "portfolio.json"
    config = load_config(config_path)  # a config error surfaces before any work
    if not _is_fresh(info_path, config_path) or not _same_files(info_path, config):
        clean_portfolio(config_path, strict=strict, report_dir=output_dir).save(output_dir)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["as_of"] = pd.Timestamp(info["as_of"])
    in_engine = engine_tables_for(config) and not as_frames
    return read_saved_tables(output_dir, engine=config.engine if in_engine else None), info


# --------------------------------------------------------------------------- tables computed by a notebook

_STAMP = "portfolio_sha256"


def _portfolio_stamp(output_dir: str | os.PathLike) -> str | None:
    """The sha256 of ``data/portfolio.json``: which cleaned tables (config, inputs, as-of date) a result comes from."""
    path = Path(output_dir) / "data" / "portfolio.json"
    return sha256_file(path) if path.is_file() else None


def save_derived_table(frame: pd.DataFrame, name: str, output_dir: str | os.PathLike) -> Path:
    """Save a table computed from the cleaned tables (the P&L, the customer features) for the later
    notebooks: typed, in ``<output_dir>/data/<name>.parquet``, stamped with the cleaned tables it
    comes from. Never a user-facing export.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "data").mkdir()
    >>> _ = (folder / "data" / "portfolio.json").write_text('{"as_of": "2025-12-31"}')
    >>> _ = save_derived_table(pd.DataFrame({"customer_id": pd.array(["a"], dtype="string")}), "results", folder)
    >>> load_derived_table("results", folder).dtypes.astype(str).tolist()
    ['string']
    >>> _ = (folder / "data" / "portfolio.json").write_text('{"as_of": "2026-01-31"}')  # notebook 01 ran again
    >>> load_derived_table("results", folder) is None
    True
    """
    if name in TABLES:
        raise ValueError(f"{name!r} is an input table of the data contract; a computed table needs another name")
    stamped = frame.copy(deep=False)
    stamped.attrs = {_STAMP: _portfolio_stamp(output_dir)}
    return atomic_to_parquet(stamped, Path(output_dir) / "data" / f"{name}.parquet")


def load_derived_table(name: str, output_dir: str | os.PathLike) -> pd.DataFrame | None:
    """The table :func:`save_derived_table` saved, or ``None`` when it is absent or was computed from
    other cleaned tables (notebook 01 ran again since: the stamp differs)."""
    path = Path(output_dir) / "data" / f"{name}.parquet"
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    stamp = frame.attrs.get(_STAMP)
    if stamp is None or stamp != _portfolio_stamp(output_dir):
        return None
    frame.attrs = {}
    return frame

"""Pseudonymization: no name, e-mail, phone or street address in the reports or exports.

With ``pseudonymize: true`` in the portfolio config, the personal columns of the tables are
replaced by stable pseudonyms before anything is shown or written:

* ``Customer 7F3A2C9B`` for names, ``email-7f3a2c9b1d@pseudo.invalid`` for e-mails,
  ``+00 7F3A2C9B`` for phones, ``Address 7F3A2C9B`` for street addresses;
* each is cut from ``HMAC-SHA256(key, kind + value)``: the same value gives the same pseudonym
  in every report made with the same key (so customers can still be followed and counted), a
  different key gives unrelated pseudonyms, and without the key nobody can go back to the value
  nor confirm a guess by hashing a list of known e-mails (which a plain hash would allow);
* values are put in a canonical form first (case, spaces, Unicode; phone punctuation), so
  ``JEAN DUPONT`` and ``Jean Dupont`` share a pseudonym.

The key is 32 random bytes kept in ``.portfolio_pseudonym.key`` beside the user's config
(created on first use, readable by its owner only), never in the report folder; the
``PORTFOLIO_PSEUDONYM_KEY`` environment variable overrides it (e.g. for CI). Losing the key
only means later reports get new pseudonyms.

Account owners (``customers.owner``) are employees, not customers: they are kept by default,
since revenue per sales rep is an analysis the report exists for and its readers know their
colleagues. Pass ``include_owner=True`` to pseudonymize them too (``Owner 1A2B3C``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
import stat
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_helpers.core.backend import quiet
from portfolio_helpers.core.contract import FREE_TEXT_COLUMNS, PERSONAL_DATA_COLUMNS, TABLES

__all__ = [
    "KEY_FILENAME",
    "KEY_ENV_VAR",
    "Pseudonymizer",
    "key_path_for",
    "load_or_create_key",
    "personal_columns",
    "pseudonymize_frame",
    "pseudonymize_engine_table",
    "pseudonymize_tables",
    "pseudonymize_long",
    "find_personal_values",
]

KEY_FILENAME = ".portfolio_pseudonym.key"
KEY_ENV_VAR = "PORTFOLIO_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16

# Kind of pseudonym of each personal column and of the columns standardization derives from them.
_KIND_OF_COLUMN = {"name": "name", "email": "email", "phone": "phone", "address": "address"}
_DERIVED = {"name_original": "name", "name_key": "key", "email_original": "email", "email_suggestion": "email",
            "phone_original": "phone", "address_original": "address"}
# Flags and codes derived from personal columns (email_valid, phone_issue, ...) are not personal.
_NOT_PERSONAL_SUFFIXES = ("_valid", "_issue", "_fix", "_code", "_line", "_id", "_date", "_count")
# Extra (non-contract) columns of an export whose name says they hold personal data.
_PERSONAL_NAME_PATTERNS = (
    ("email", re.compile(r"(^|_)(e_?mail|mail|courriel)($|_)")),
    ("phone", re.compile(r"(^|_)(phone|telephone|tel|mobile|portable|gsm|fax)($|_)")),
    ("address", re.compile(r"(^|_)(address|adresse|street|rue)($|_)")),
    ("name", re.compile(r"(^|_)(name|nom|prenom|first_?name|last_?name|surname|contact)($|_)")),
)


class Pseudonymizer:
    """Stable, keyed pseudonyms (HMAC-SHA256) for personal values.

    Parameters
    ----------
    key : bytes
        Secret key, at least 16 bytes (see :func:`load_or_create_key`).

    Examples
    --------
    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> p.token("Jean Dupont") == p.token("  JEAN  DUPONT ")
    True
    >>> p.token("Jean Dupont").startswith("Customer "), p.token("jean@free.fr", "email").endswith("@pseudo.invalid")
    (True, True)
    >>> Pseudonymizer(b"another key, 16+ bytes long").token("Jean Dupont") != p.token("Jean Dupont")
    True
    """

    def __init__(self, key: bytes):
        if not isinstance(key, bytes | bytearray):
            raise TypeError(f"the pseudonymization key must be bytes, got {type(key).__name__}")
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"the pseudonymization key must have at least {_MIN_KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)

    def __repr__(self) -> str:  # never show the key in a notebook or a traceback
        return "Pseudonymizer(key=<hidden>)"

    @staticmethod
    def canonical(value: str, kind: str) -> str:
        """The form that is hashed: equal for spellings of the same value."""
        text = unicodedata.normalize("NFC", str(value))
        if kind == "phone":
            return ("+" if text.strip().startswith("+") else "") + re.sub(r"\D", "", text)
        if kind == "key":
            return text
        return " ".join(text.casefold().split())

    def digest(self, value: str, kind: str = "name") -> str:
        """Hex HMAC-SHA256 of the canonical value, separated by kind (a name and an e-mail never collide)."""
        message = f"{kind}\x1f{self.canonical(value, kind)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def token(self, value: str, kind: str = "name") -> str:
        """Readable pseudonym of one value.

        ``kind`` is ``"name"`` (``Customer 7F3A2C9B``), ``"email"``
        (``email-7f3a2c9b1d@pseudo.invalid``), ``"phone"`` (``+00 7F3A2C9B``), ``"address"``
        (``Address 7F3A2C9B``), ``"owner"`` (``Owner 7F3A2C``) or ``"key"`` (16 hex digits, for
        matching keys such as ``name_key``: equal keys stay equal).
        """
        digest = self.digest(value, kind)
        if kind == "email":
            return f"email-{digest[:10]}@pseudo.invalid"
        if kind == "phone":
            return f"+00 {digest[:8].upper()}"
        if kind == "address":
            return f"Address {digest[:8].upper()}"
        if kind == "owner":
            return f"Owner {digest[:6].upper()}"
        if kind == "key":
            return digest[:16]
        if kind == "name":
            return f"Customer {digest[:8].upper()}"
        raise ValueError(f"unknown kind of personal value {kind!r} (name, email, phone, address, owner, key)")

    def pseudonymize(self, values: pd.Series, kind: str = "name") -> pd.Series:
        """Pseudonyms of a column (computed once per distinct value); missing stays missing."""
        codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
        tokens = np.array([self.token(value, kind) for value in uniques] + [None], dtype=object)
        return pd.Series(tokens[codes], index=values.index, dtype="string")


# --------------------------------------------------------------------------- key management


def key_path_for(config_path: str | os.PathLike) -> Path:
    """Where the key of a portfolio config lives: ``.portfolio_pseudonym.key`` in the config's folder."""
    return Path(config_path).expanduser().resolve().parent / KEY_FILENAME


def _key_from_text(text: str, source: str) -> bytes:
    text = text.strip()
    try:
        key = bytes.fromhex(text) if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text) else text.encode()
    except ValueError:  # pragma: no cover - the regex only lets even-length hex through
        key = text.encode()
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"{source}: the pseudonymization key is too short ({len(key)} bytes, "
                         f"need at least {_MIN_KEY_BYTES}); e.g. 64 hex digits from `python -c "
                         f"\"import secrets; print(secrets.token_hex(32))\"`")
    return key


def load_or_create_key(path: str | os.PathLike, report_dir: str | os.PathLike | None = None) -> bytes:
    """The pseudonymization key: from ``$PORTFOLIO_PSEUDONYM_KEY``, else the key file (created if absent).

    Parameters
    ----------
    path : str or path-like
        The key file, or the folder that holds it (``.portfolio_pseudonym.key`` is used);
        normally :func:`key_path_for` of the config.
    report_dir : str or path-like, optional
        The report output folder: the key may not live inside it (it would be shared with
        the report), a ``ValueError`` says so.

    Returns
    -------
    bytes

    Notes
    -----
    A new file holds 32 random bytes as 64 hex digits, created atomically (``O_EXCL``) with
    permissions ``0600``. An existing file readable by others triggers a warning. The
    environment variable accepts hex digits or any text of 16 bytes or more.

    Examples
    --------
    >>> import os, stat, tempfile
    >>> from pathlib import Path
    >>> os.environ.pop("PORTFOLIO_PSEUDONYM_KEY", None) and None
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     key = load_or_create_key(tmp)
    ...     again = load_or_create_key(Path(tmp) / ".portfolio_pseudonym.key")
    ...     mode = stat.S_IMODE((Path(tmp) / ".portfolio_pseudonym.key").stat().st_mode)
    >>> len(key), key == again, oct(mode)
    (32, True, '0o600')
    """
    from_env = os.environ.get(KEY_ENV_VAR)
    if from_env:
        return _key_from_text(from_env, f"${KEY_ENV_VAR}")
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / KEY_FILENAME
    path = path.resolve()
    if report_dir is not None:
        report = Path(report_dir).expanduser().resolve()
        if path == report or report in path.parents:
            raise ValueError(f"{path}: the pseudonymization key must not be stored in the report folder {report} "
                             f"(it would be shared with the report); keep it beside the config")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            warnings.warn(f"{path}: the pseudonymization key is readable by other users (mode {oct(mode)}); "
                          f"run `chmod 600 {path}`", stacklevel=2)
        return _key_from_text(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        if os.name == "posix":
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
        handle.write(secrets.token_hex(32) + "\n")
    return _key_from_text(path.read_text(encoding="ascii"), str(path))


# --------------------------------------------------------------------------- tables


def personal_columns(table: str, frame: pd.DataFrame, include_owner: bool = False) -> dict[str, str]:
    """Columns of ``frame`` that hold personal data, and the kind of pseudonym each gets.

    The contract's :data:`~portfolio_helpers.core.contract.PERSONAL_DATA_COLUMNS` (customers'
    ``name``, ``email``, ``phone``, ``address``), the columns standardization derives from them
    (``name_original``, ``name_key``, ``email_suggestion``, ``phone_original``, ...), ``owner``
    when ``include_owner``, and, in any table, extra columns of the export whose name says they
    hold names, e-mails, phones or addresses (``contact_email``, ``mobile``, ``first_name``, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(columns=["customer_id", "name", "name_original", "email", "city", "owner"])
    >>> personal_columns("customers", frame)
    {'name': 'name', 'name_original': 'name', 'email': 'email'}
    >>> personal_columns("leads", pd.DataFrame(columns=["lead_id", "contact_email", "role"]))
    {'contact_email': 'email'}
    """
    declared = set(TABLES[table].column_names) if table in TABLES else set()
    contract_personal = set(PERSONAL_DATA_COLUMNS.get(table, ()))
    found: dict[str, str] = {}
    for column in frame.columns:
        name = str(column)
        if name in contract_personal:
            found[name] = _KIND_OF_COLUMN[name]
        elif name in _DERIVED and _DERIVED[name] != "key" and name.split("_")[0] in contract_personal:
            found[name] = _DERIVED[name]
        elif name == "name_key" and "name" in contract_personal:
            found[name] = "key"
        elif name == "owner" and include_owner:
            found[name] = "owner"
        elif (name not in declared and name not in _DERIVED and not name.endswith(_NOT_PERSONAL_SUFFIXES)
              and (pd.api.types.is_string_dtype(frame[column]) or pd.api.types.is_object_dtype(frame[column]))):
            for kind, pattern in _PERSONAL_NAME_PATTERNS:
                if pattern.search(name.lower()):
                    found[name] = kind
                    break
    return found


def pseudonymize_frame(frame: pd.DataFrame, pseudonymizer: Pseudonymizer, columns: dict[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` with each of ``columns`` (column -> kind) replaced by its pseudonyms.

    Examples
    --------
    >>> import pandas as pd
    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> out = pseudonymize_frame(pd.DataFrame({"who": ["Ann Lee", None]}), p, {"who": "name"})
    >>> out["who"].str.startswith("Customer ").tolist()
    [True, <NA>]
    """
    out = frame.copy()
    for column, kind in columns.items():
        if column in out.columns:
            out[column] = pseudonymizer.pseudonymize(out[column], kind)
    return out


def pseudonymize_engine_table(table, pseudonymizer: Pseudonymizer, columns: dict[str, str]):
    """An engine table (an Ibis table: a scanned Parquet file, a Spark table) with each of ``columns``
    (column -> kind) replaced by its pseudonyms, where the table lives.

    The pseudonyms are those of :func:`pseudonymize_frame` (same value and key, same pseudonym): the keyed
    hash runs in Python on the column's **distinct** values only (one row each, read from the engine), and
    the value -> pseudonym pairs are joined back into the table by the engine; the lines never leave it.
    Missing stays missing. Nothing runs until the result is read or written.

    Examples
    --------
    >>> import ibis
    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> lines = ibis.memtable({"amount": [1.0, 2.0, 3.0], "who": ["Ann Lee", None, "ann  LEE"]})
    >>> out = pseudonymize_engine_table(lines, p, {"who": "name"}).order_by("amount").to_pandas()
    >>> out["who"][0] == out["who"][2] == p.token("Ann Lee"), out["who"].isna().tolist()
    (True, [False, True, False])
    """
    import ibis

    out = table
    for column, kind in columns.items():
        if column not in out.columns:
            continue
        text = out[column].cast("string")
        with quiet():
            values = out.select(_value=text).filter(text.notnull()).distinct().to_pandas()["_value"]
        values = pd.Series(values, dtype="string")
        pairs = pd.DataFrame({"_value": values.to_numpy(dtype=object),
                              "_pseudonym": pseudonymizer.pseudonymize(values, kind).to_numpy(dtype=object)})
        with quiet():
            mapping = ibis.memtable(pairs, schema={"_value": "string", "_pseudonym": "string"})
        joined = out.left_join(mapping, text == mapping["_value"])
        out = joined.select(*[joined["_pseudonym"].name(name) if name == column else joined[name]
                              for name in out.columns])
    return out


def pseudonymize_tables(tables: dict[str, pd.DataFrame], pseudonymizer: Pseudonymizer,
                        include_owner: bool = False) -> dict[str, pd.DataFrame]:
    """Every table with its :func:`personal_columns` pseudonymized (new frames; the inputs are unchanged).

    Free text that may hold anything personal (:data:`~portfolio_helpers.core.contract.FREE_TEXT_COLUMNS`:
    the comments of the survey answers) is left out, not pseudonymized.

    Examples
    --------
    >>> import pandas as pd
    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> tables = {"customers": pd.DataFrame({"customer_id": ["C1"], "name": ["Ann Lee"], "email": ["ann@lee.io"],
    ...                                      "country": ["GB"]})}
    >>> out = pseudonymize_tables(tables, p)["customers"]
    >>> out["customer_id"].item(), out["name"].item().startswith("Customer "), out["country"].item()
    ('C1', True, 'GB')
    """
    return {name: pseudonymize_frame(frame, pseudonymizer, personal_columns(name, frame, include_owner))
            .drop(columns=[c for c in FREE_TEXT_COLUMNS.get(name, ()) if c in frame.columns])
            for name, frame in tables.items()}


def pseudonymize_long(frame: pd.DataFrame, pseudonymizer: Pseudonymizer, field_column: str = "column",
                      value_columns: Iterable[str] = ("old_value", "new_value"), table_column: str = "table",
                      include_owner: bool = False) -> pd.DataFrame:
    """Pseudonymize long tables whose rows name a field: the change log, ``quality_issues``.

    In the rows whose ``field_column`` is a personal column of their table, ``value_columns``
    are replaced by pseudonyms of the right kind. For ``quality_issues`` use
    ``field_column="field", value_columns=("value",)``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> issues = pd.DataFrame({"table": ["customers", "customers"], "record_key": ["C1", "C2"],
    ...                        "field": ["email", "country"], "problem": ["syntax", "unknown country"],
    ...                        "value": ["ann lee@x.io", "Narnia"]})
    >>> pseudonymize_long(issues, p, "field", ("value",))["value"].str.endswith("@pseudo.invalid").tolist()
    [True, False]
    """
    out = frame.copy()
    for table in out[table_column].dropna().unique():
        free_text = (out[table_column] == table) & out[field_column].isin(FREE_TEXT_COLUMNS.get(table, ()))
        out.loc[free_text, list(value_columns)] = pd.NA  # comments are left out, not pseudonymized
        fields = out.loc[out[table_column] == table, field_column].dropna().unique()
        kinds = personal_columns(table, pd.DataFrame(columns=list(fields)), include_owner)
        for field, kind in kinds.items():
            rows = (out[table_column] == table) & (out[field_column] == field)
            for column in value_columns:
                out.loc[rows, column] = pseudonymizer.pseudonymize(out.loc[rows, column], kind)
    return out


# --------------------------------------------------------------------------- leak detection


def _search_form(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_ALPHA_WORD = re.compile(r"[^\W\d_]\w*")  # words starting with a letter: numbers are skipped
_PHONE_LIKE = re.compile(r"\+?\d[\d .\-()/\u00a0]{6,}\d")


def _personal_values(tables: dict[str, pd.DataFrame]) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for name, frame in tables.items():
        for column, kind in personal_columns(name, frame).items():
            if kind == "key":
                continue
            present = frame[column].dropna().astype(str).unique()
            values.setdefault(kind, set()).update(v for v in present if v.strip())
    return values


def find_personal_values(text: str, tables: dict[str, pd.DataFrame], min_length: int = 5) -> list[str]:
    """Which personal values of ``tables`` (names, e-mails, phones, addresses) appear in ``text``.

    For tests and checks of reports and exports: pass the HTML or CSV text and the tables as
    loaded (before pseudonymization). Matching ignores case, runs of spaces and HTML escaping,
    and respects word boundaries; phones also match when written with other separators or in
    international form (same last 8+ digits of the national number).

    Parameters
    ----------
    text : str
    tables : dict of str to pandas.DataFrame
        Tables holding the real values (their :func:`personal_columns`).
    min_length : int, default 5
        Shorter values (initials, "n/a") are ignored.

    Returns
    -------
    list of str
        The values found, sorted.

    Notes
    -----
    One pass over the words of the text with a dictionary from a word to the values that
    contain it, and one over its digit runs for phones: thousands of values cost about as
    much as a few.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ann Lee", "Bob Stone"],
    ...                           "phone": ["06 12 34 56 78", None]})
    >>> find_personal_values("<td>ANN&nbsp;LEE</td><td>+33 6 12 34 56 78</td><td>Bob</td>", {"customers": customers})
    ['06 12 34 56 78', 'Ann Lee']
    """
    searched = _search_form(html.unescape(text))
    # Each value is looked up by its longest word that starts with a letter ("pasteur" for
    # "9 rue Pasteur", "dupont" for "jean.dupont@gmail.com"): few values share it, and the
    # scan only stops at such words. Phones are matched on their digits instead.
    by_anchor: dict[str, list[tuple[str, int, str]]] = {}
    national_numbers: dict[str, list[str]] = {}  # spellings of one number share its digits
    for kind, values in _personal_values(tables).items():
        for value in values:
            if kind == "phone":
                digits = re.sub(r"\D", "", value).lstrip("0")
                if len(digits) >= 8:
                    national_numbers.setdefault(digits, []).append(value)
                continue
            form = _search_form(value)
            words = list(_ALPHA_WORD.finditer(form))
            if len(form) < min_length or not words:
                continue
            anchor = max(words, key=lambda m: len(m.group()))
            by_anchor.setdefault(anchor.group(), []).append((form, anchor.start(), value))
    found: set[str] = set()
    for match in _ALPHA_WORD.finditer(searched):
        for form, offset, value in by_anchor.get(match.group(), ()):
            start = match.start() - offset
            end = start + len(form)
            if (start >= 0 and searched.startswith(form, start)
                    and not (start > 0 and searched[start - 1].isalnum() and form[0].isalnum())
                    and not (end < len(searched) and searched[end].isalnum() and form[-1].isalnum())):
                found.add(value)
    if national_numbers:
        lengths = sorted({len(d) for d in national_numbers})
        for match in _PHONE_LIKE.finditer(searched):
            digits = re.sub(r"\D", "", match.group())
            for length in lengths:  # "+33 6 12 34 56 78" ends with the national number 612345678
                if len(digits) >= length and digits[-length:] in national_numbers:
                    found.update(national_numbers[digits[-length:]])
    return sorted(found)

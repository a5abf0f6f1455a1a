"""Contact rules: who on an action list may be contacted, and how.

Every list the kit exports for action (scored leads, valuable customers at risk, look-alike
prospects, valuable detractors) goes through :func:`apply_contact_rules`, all the lists of a page at
once through :func:`contact_lists` (which finds each list's contact table); :func:`contact_statuses`
gives every person's status by the same rules (for the customer export):

* a person with ``do_not_contact`` = yes is left out;
* e-mail needs ``consent_email`` = yes and phone ``consent_phone`` = yes; a consent column that is
  given but empty for a person means *no consent recorded*, so no consent. A letter or a visit
  needs no consent column: it is used when it is the person's ``preferred_channel``;
* a person with no channel left is left out ("no consent for any channel");
* every remaining person gets a ``contact_channel``: their preferred channel when they agreed to it,
  else the first consented one of e-mail, phone.

A consent column that the data does not have, or that is empty for everyone (the kit's rule for
every optional column), is *not known*: that channel is not filtered, and the result says so.
Without any of the columns nothing is filtered at all.

Consent values are read with the kit's one yes/no parser
(:func:`~portfolio_helpers.ingest.parsing.parse_boolean`: yes/no, true/false, 1/0, oui/non), and
channels with the contract's spellings of ``customers.preferred_channel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio_helpers.core.contract import CONTACT_CHANNELS, TABLES
from portfolio_helpers.core.presence import has_values, table_with_values
from portfolio_helpers.core.validation import require_columns
from portfolio_helpers.ingest.parsing import parse_boolean, parse_category

__all__ = ["CONTACT_COLUMNS", "ContactResult", "contact_preferences", "apply_contact_rules", "contact_statuses",
           "contacts_for",
           "contact_lists", "REASON_DO_NOT_CONTACT", "REASON_NO_CONSENT", "REASON_NOT_ON_FILE"]

CONTACT_COLUMNS = ("preferred_channel", "consent_email", "consent_phone", "do_not_contact")
REASON_DO_NOT_CONTACT = "asked not to be contacted (do_not_contact)"
REASON_NO_CONSENT = "no consent for any channel"
REASON_NOT_ON_FILE = "not in the contact table (no consent on file)"
_CONSENT_COLUMNS = tuple(column for column in CONTACT_CHANNELS.values() if column)


@dataclass
class ContactResult:
    """An action list after the contact rules.

    Attributes
    ----------
    frame : DataFrame
        The rows that may be contacted, in their order, with ``contact_channel`` added.
    exclusions : DataFrame
        ``reason, n`` (one row per reason with at least one person left out).
    n_listed : int
        Rows of the list before the rules.
    known : tuple of str
        The contact columns the data has (``do_not_contact``, ``consent_email``, ...).
    without_consent : dict
        Per channel with a consent column: how many listed people had no consent for it.
    """

    frame: pd.DataFrame
    exclusions: pd.DataFrame
    n_listed: int
    known: tuple[str, ...] = ()
    without_consent: dict[str, int] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        return int(self.exclusions["n"].sum())

    @property
    def n_excluded_no_consent(self) -> int:
        """Left out for want of consent (every reason but ``do_not_contact``)."""
        return int(self.exclusions.loc[self.exclusions["reason"] != REASON_DO_NOT_CONTACT, "n"].sum())

    @property
    def consent_known(self) -> bool:
        """True when the data has at least one consent or do-not-contact column."""
        return any(column in self.known for column in (*_CONSENT_COLUMNS, "do_not_contact"))


def contact_preferences(table: pd.DataFrame, id_col: str = "customer_id", date_col: str | None = None) -> pd.DataFrame:
    """The contact columns of ``table``, read and one row per id (indexed by id).

    Consents and ``do_not_contact`` are parsed as yes/no, ``preferred_channel`` onto the contract's
    channels (unreadable values become missing). With ``date_col`` (a leads table has one row per
    event), each id keeps its latest value of each column.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L1"], "date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                       "consent_email": ["oui", None], "preferred_channel": ["E-mail", "téléphone"]})
    >>> contact_preferences(leads, "lead_id", "date").to_dict("records")
    [{'preferred_channel': 'phone', 'consent_email': True}]
    """
    require_columns(table, [id_col], "contacts")
    columns = [column for column in CONTACT_COLUMNS if has_values(table, column)]
    frame = table[[id_col, *columns] + ([date_col] if date_col and date_col in table.columns else [])]
    frame = frame[frame[id_col].notna()]
    if date_col and date_col in frame.columns:
        frame = frame.sort_values(date_col, kind="stable")
    out = pd.DataFrame(index=pd.Index(frame[id_col].drop_duplicates().to_numpy(), name=id_col))
    channel_values = TABLES["customers"].column("preferred_channel").values
    for column in columns:
        parsed = (parse_category(frame[column], channel_values) if column == "preferred_channel"
                  else parse_boolean(frame[column])).values
        latest = pd.Series(parsed.to_numpy(), index=frame[id_col].to_numpy()).dropna()
        out[column] = latest[~latest.index.duplicated(keep="last")].reindex(out.index).astype(parsed.dtype)
    return out


def apply_contact_rules(frame: pd.DataFrame, contacts: pd.DataFrame | None, id_col: str = "customer_id",
                        contacts_id_col: str | None = None, date_col: str | None = None) -> ContactResult:
    """Leave out of an action list the people who may not be contacted, and give the others a channel.

    Parameters
    ----------
    frame : DataFrame
        The list: one row per person, with ``id_col``.
    contacts : DataFrame or None
        The table holding the contact columns of those ids (the customers table; the leads table
        for leads). ``None`` or a table without any contact column: nothing is filtered.
    id_col, contacts_id_col : str
        Id column of the list and of ``contacts`` (default: the same).
    date_col : str, optional
        Date column of ``contacts`` when it holds several rows per id (see :func:`contact_preferences`).

    Examples
    --------
    >>> calls = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "revenue": [4.0, 3.0, 2.0, 1.0]})
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                           "preferred_channel": ["phone", "phone", "email", "mail"],
    ...                           "consent_email": ["yes", "yes", "no", "no"],
    ...                           "consent_phone": ["oui", "non", "1", "0"],
    ...                           "do_not_contact": ["no", "no", "true", "false"]})
    >>> result = apply_contact_rules(calls, customers)
    >>> result.frame[["customer_id", "contact_channel"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'customer_id': 'a', 'contact_channel': 'phone'}, {'customer_id': 'b', 'contact_channel': 'email'},
     {'customer_id': 'd', 'contact_channel': 'mail'}]
    >>> result.exclusions.to_dict("records"), result.without_consent
    ([{'reason': 'asked not to be contacted (do_not_contact)', 'n': 1}], {'email': 2, 'phone': 2})
    """
    require_columns(frame, [id_col], "list")
    prefs = _preferences(contacts, contacts_id_col or id_col, date_col)
    known = tuple(column for column in CONTACT_COLUMNS if column in prefs.columns)
    reasons, channel, allowed = _rule_rows(frame[id_col], prefs)
    keep = reasons == ""
    out = frame.loc[keep].copy()
    out["contact_channel"] = pd.Series(channel[keep], index=out.index, dtype="string")
    counts = pd.Series(reasons[~keep], dtype="string").value_counts()
    exclusions = pd.DataFrame({"reason": counts.index.astype("string"), "n": counts.to_numpy(dtype="int64")})
    order = {REASON_DO_NOT_CONTACT: 0, REASON_NOT_ON_FILE: 1, REASON_NO_CONSENT: 2}
    exclusions = exclusions.sort_values("reason", key=lambda r: r.map(order)).reset_index(drop=True)
    without = {channel_name: int((~allowed[channel_name]).sum()) for channel_name, consent
               in CONTACT_CHANNELS.items() if consent in known}
    return ContactResult(out, exclusions, len(frame), known, without)


def contact_statuses(frame: pd.DataFrame, contacts: pd.DataFrame | None, id_col: str = "customer_id",
                     contacts_id_col: str | None = None, date_col: str | None = None) -> pd.DataFrame | None:
    """Each person's contact status by the rules of :func:`apply_contact_rules` (the same rule, row by row).

    Parameters are those of :func:`apply_contact_rules`.

    Returns
    -------
    DataFrame or None
        One row per row of ``frame``, in its order (same index): ``id_col``, ``contact_channel`` (the
        channel the rules give, missing when the person may not be contacted) and ``contact_status``
        (``"ok"``, or the reason the person is left out of every call list). ``None`` when ``contacts``
        has none of the contact columns (:data:`CONTACT_COLUMNS`): nothing is known to say.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "consent_email": ["yes", "no", "yes"],
    ...                           "consent_phone": ["no", "no", "yes"], "do_not_contact": ["no", "no", "yes"]})
    >>> statuses = contact_statuses(customers[["customer_id"]], customers)
    >>> statuses["contact_status"].tolist(), statuses["contact_channel"].notna().tolist()
    (['ok', 'no consent for any channel', 'asked not to be contacted (do_not_contact)'], [True, False, False])
    >>> statuses["contact_channel"].iloc[0]
    'email'
    >>> contact_statuses(customers[["customer_id"]], customers[["customer_id"]]) is None
    True
    """
    require_columns(frame, [id_col], "list")
    prefs = _preferences(contacts, contacts_id_col or id_col, date_col)
    if prefs.columns.empty:
        return None
    reasons, channel, _allowed = _rule_rows(frame[id_col], prefs)
    return pd.DataFrame({id_col: frame[id_col],
                         "contact_channel": pd.Series(channel, index=frame.index, dtype="string"),
                         "contact_status": pd.Series(np.where(reasons == "", "ok", reasons), index=frame.index,
                                                     dtype="string")})


def _preferences(contacts: pd.DataFrame | None, contacts_id_col: str, date_col: str | None) -> pd.DataFrame:
    """:func:`contact_preferences` of ``contacts`` (validated), an empty table without contacts."""
    if contacts is None:
        return pd.DataFrame(index=pd.Index([], name=contacts_id_col))
    require_columns(contacts, [contacts_id_col], "contacts")
    return contact_preferences(contacts, contacts_id_col, date_col)


def _rule_rows(ids: pd.Series, prefs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The contact rules for every id: ``(reasons, channels, allowed)``.

    ``reasons``: ``""`` for a person who may be contacted, else why not; ``channels``: the channel the
    rules give (``None`` for a person left out); ``allowed``: per channel, whether each person may be
    reached by it (consent, or the preferred letter or visit)."""
    n = len(ids)
    on_file = ids.isin(prefs.index).to_numpy()
    rows = prefs.reindex(ids.to_numpy())

    def flag(column: str, unknown: bool) -> np.ndarray:
        if column not in prefs.columns:
            return np.full(n, unknown)
        return rows[column].fillna(False).to_numpy(dtype=bool)

    do_not_contact = flag("do_not_contact", False)
    allowed = {}
    for channel, consent in CONTACT_CHANNELS.items():
        allowed[channel] = flag(consent, True) if consent else np.zeros(n, dtype=bool)
    preferred = (rows["preferred_channel"].astype("string").to_numpy(dtype=object, na_value=None)
                 if "preferred_channel" in prefs.columns else np.full(n, None, dtype=object))
    for channel, consent in CONTACT_CHANNELS.items():
        if consent is None:  # a letter or a visit: when the person asked for it
            allowed[channel] = preferred == channel
    any_channel = np.logical_or.reduce(list(allowed.values()))
    consent_filtered = any(column in prefs.columns for column in _CONSENT_COLUMNS)
    if not consent_filtered:  # nothing known about consent: every channel stays open
        any_channel = np.ones(n, dtype=bool)
    missing_on_file = consent_filtered & ~on_file
    reasons = np.select([do_not_contact, missing_on_file, ~any_channel],
                        [REASON_DO_NOT_CONTACT, REASON_NOT_ON_FILE, REASON_NO_CONSENT], default="")
    channels = np.full(n, None, dtype=object)
    for name in reversed(("email", "phone")):  # the first consented of e-mail, phone
        channels = np.where(allowed[name], name, channels)
    use_preferred = np.array([p is not None and allowed[p][i] if p in allowed else False
                              for i, p in enumerate(preferred)], dtype=bool)
    channels = np.where(use_preferred, preferred, channels)
    if not consent_filtered:
        channels = np.where(pd.isna(preferred.astype(object)), None, preferred)
    return reasons, np.where(reasons == "", channels, None), allowed


def contacts_for(tables: Mapping[str, pd.DataFrame], id_col: str = "customer_id"
                 ) -> tuple[pd.DataFrame | None, str, str | None]:
    """Where the contact columns of a list of ``id_col`` are: ``(table, its id column, its date column)``.

    A list of ``lead_id`` takes them from the leads table (one row per event: the latest value of
    each lead, by ``date``), any other list from the customers table. The table is ``None`` when the
    portfolio does not have it (or it is empty): nothing is filtered.

    Examples
    --------
    >>> tables = {"customers": pd.DataFrame({"customer_id": ["a"]})}
    >>> contacts_for(tables)[1:], contacts_for(tables, "lead_id")
    (('customer_id', None), (None, 'lead_id', 'date'))
    """
    if id_col == "lead_id":
        return table_with_values(tables, "leads"), "lead_id", "date"
    return table_with_values(tables, "customers"), "customer_id", None


def contact_lists(lists: Mapping[str, pd.DataFrame | None], tables: Mapping[str, pd.DataFrame],
                  id_cols: Mapping[str, str] | None = None) -> dict[str, ContactResult | None]:
    """The contact rules applied to every action list of a page at once.

    Parameters
    ----------
    lists : mapping of str to DataFrame or None
        List name -> the list (one row per person); ``None`` for a list this run could not build
        (no leads table, no prospect, ...): its result is ``None``.
    tables : mapping
        The portfolio's tables: each list's contact columns come from :func:`contacts_for`.
    id_cols : mapping of str to str, optional
        The id column of a list when it is not ``customer_id`` (``{"leads_scored": "lead_id"}``).

    Returns
    -------
    dict
        List name -> its :class:`ContactResult` (or ``None``), in the order of ``lists``.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "consent_email": ["oui", "non"],
    ...                           "consent_phone": ["non", "0"]})
    >>> leads = pd.DataFrame({"lead_id": ["L1"], "date": pd.to_datetime(["2025-01-01"]), "do_not_contact": ["1"]})
    >>> results = contact_lists({"at_risk": pd.DataFrame({"customer_id": ["a", "b"]}),
    ...                          "leads": pd.DataFrame({"lead_id": ["L1"]}), "prospects": None},
    ...                         {"customers": customers, "leads": leads}, id_cols={"leads": "lead_id"})
    >>> {name: None if r is None else (len(r.frame), r.n_excluded) for name, r in results.items()}
    {'at_risk': (1, 1), 'leads': (0, 1), 'prospects': None}
    """
    id_cols = dict(id_cols or {})
    results: dict[str, ContactResult | None] = {}
    for name, frame in lists.items():
        if frame is None:
            results[name] = None
            continue
        id_col = id_cols.get(name, "customer_id")
        contacts, contacts_id, date_col = contacts_for(tables, id_col)
        results[name] = apply_contact_rules(frame, contacts, id_col, contacts_id, date_col)
    return results

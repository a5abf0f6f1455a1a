"""Standardization of a loaded portfolio: one spelling per value, every decision logged.

Small pure functions over the typed tables of :func:`portfolio_helpers.ingest.loaders.load_portfolio`:

* names and text: trimmed, spaces collapsed, Unicode NFC, ALL-CAPS / all-lower names
  re-cased (:func:`standardize_names`), plus a matching key (:func:`name_key`);
* e-mails: lower-cased, syntax checked, placeholders and typo domains flagged
  (:func:`standardize_emails`);
* phones: E.164 with ``phonenumbers`` (:func:`standardize_phones`);
* countries: ISO 3166-1 alpha-2 from English, French, local names and codes
  (:func:`country_code`, :func:`country_codes`);
* postal codes: per-country format, lost leading zeros restored (:func:`standardize_postal_codes`);
* transactions: zero amounts, future dates, credit notes versus erroneous negative
  amounts (:func:`classify_negative_amounts`) and exact duplicate lines
  (:func:`flag_exact_duplicates`).

Nothing is dropped or overwritten without trace: invalid values are kept and flagged, the
original name stays in ``name_original`` and the original phone in ``phone_original``, and every
fix or flag is one row of the change log (columns :data:`CHANGE_COLUMNS`, rules :data:`RULES`)
returned beside the table by :func:`standardize_customers`, :func:`standardize_transactions` and
:func:`standardize_portfolio`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd
import phonenumbers

from portfolio_helpers.core.contract import TABLES, normalize_label
from portfolio_helpers.ingest.parsing import WHITESPACE

__all__ = [
    "CHANGE_COLUMNS",
    "RULES",
    "KNOWN_EMAIL_DOMAINS",
    "empty_changes",
    "record_keys",
    "standardize_text",
    "fix_name_case",
    "standardize_names",
    "name_key",
    "name_keys",
    "standardize_emails",
    "country_code",
    "country_codes",
    "standardize_phones",
    "standardize_postal_codes",
    "classify_negative_amounts",
    "flag_exact_duplicates",
    "standardize_customers",
    "standardize_transactions",
    "standardize_table_text",
    "standardize_portfolio",
]

CHANGE_COLUMNS = ["table", "row_key", "column", "old_value", "new_value", "rule"]

#: Every rule of the change log: code -> (kind, what it means). ``fix``: the value was changed;
#: ``flag``: the value was kept and marked for review; ``info``: a classification, nothing wrong.
RULES: dict[str, tuple[str, str]] = {
    "id_float": ("fix", "identifier written as a number by an earlier tool ('17450.0') restored ('17450')"),
    "text_whitespace": ("fix", "spaces trimmed/collapsed, Unicode normalized (NFC)"),
    "name_case": ("fix", "ALL-CAPS or all-lower name re-cased"),
    "email_lowercase": ("fix", "e-mail lower-cased / trimmed"),
    "email_syntax": ("flag", "e-mail is not a valid address (kept, flagged)"),
    "email_placeholder": ("flag", "e-mail is a placeholder such as 'no email' (kept, flagged)"),
    "email_typo_domain": ("flag", "e-mail domain looks like a typo of a common provider (kept, flagged)"),
    "phone_e164": ("fix", "phone written in international E.164 form"),
    "phone_invalid": ("flag", "phone cannot be read as a valid number (kept, flagged)"),
    "country_variant": ("fix", "country spelling recognised and coded (ISO 3166-1 alpha-2)"),
    "country_unknown": ("flag", "country not recognised (kept, flagged)"),
    "postal_leading_zero": ("fix", "lost leading zero of the postal code restored"),
    "postal_format": ("fix", "postal code re-formatted (case, spaces, country prefix)"),
    "postal_invalid": ("flag", "postal code does not match the country's format (kept, flagged)"),
    "amount_zero": ("flag", "line with a zero amount"),
    "credit_note": ("info", "negative line matched to an earlier purchase (credit note / return)"),
    "negative_error": ("flag", "negative line with no matching purchase: probably a sign error"),
    "exact_duplicate": ("flag", "line identical to an earlier line on every column (first one kept)"),
    "future_date": ("flag", "dated after the run date"),
}

_SPACE = f"[{WHITESPACE}]"  # Python's \s written out: the pattern then runs in Arrow (see WHITESPACE)
_SPACE_RUN = f"{_SPACE}+"


# --------------------------------------------------------------------------- change log


def empty_changes() -> pd.DataFrame:
    """An empty change log with the :data:`CHANGE_COLUMNS` (all text)."""
    return pd.DataFrame({col: pd.Series(dtype="string") for col in CHANGE_COLUMNS})


def record_keys(table: str, frame: pd.DataFrame) -> pd.Series:
    """How a change log or issue list names a record, so that users find it in their export.

    ``customer_id`` for customers (``line N`` when it is missing); ``<order_id> line <N>``
    for lines that have an order id, otherwise ``line <N>`` (``N`` = line in the source file).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"order_id": ["SO-1", None], "source_line": [2, 3]})
    >>> record_keys("transactions", tx).tolist()
    ['SO-1 line 2', 'line 3']
    """
    if "source_line" in frame.columns:
        line = "line " + frame["source_line"].astype("string")
    else:
        line = "row " + pd.Series(np.arange(len(frame)), index=frame.index).astype("string")
    if table == "customers" and "customer_id" in frame.columns:
        return frame["customer_id"].astype("string").fillna(line)
    if "order_id" in frame.columns:
        return (frame["order_id"].astype("string") + " " + line).fillna(line)
    return line


def _as_text(values) -> pd.Series:
    series = pd.Series(values)
    if pd.api.types.is_bool_dtype(series):
        series = series.map({True: "True", False: "False"})
    return series.astype("string")


def _log(table: str, keys: pd.Series, column: str, old, new, rule: str,
         mask: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Change-log rows for the records selected by ``mask`` (default: where ``old`` differs from ``new``)."""
    old, new = pd.Series(old, index=keys.index), pd.Series(new, index=keys.index)
    if mask is None:
        old_text, new_text = _as_text(old), _as_text(new)
        mask = (old_text != new_text).fillna(old_text.isna() != new_text.isna())
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return empty_changes()
    return pd.DataFrame({
        "table": table,
        "row_key": keys[mask].astype("string").to_numpy(),
        "column": column,
        "old_value": _as_text(old[mask]).to_numpy(),
        "new_value": _as_text(new[mask]).to_numpy(),
        "rule": rule,
    }).astype("string")


def _concat_changes(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else empty_changes()


def _mask(values) -> pd.Series:
    """A plain bool Series from a nullable/Arrow boolean one (missing = False), safe to combine."""
    return pd.Series(values).fillna(False).astype(bool)


def _isin(values: pd.Series, candidates) -> np.ndarray:
    """``values.isin(candidates)`` as a bool array (missing is never in).

    Both are factorized together and the integer codes compared: ``isin`` on Arrow-backed
    strings otherwise goes through Python value by value.
    """
    candidates = pd.Series(candidates, dtype=values.dtype) if not isinstance(candidates, pd.Series) else candidates
    both = pd.concat([values.reset_index(drop=True), candidates.reset_index(drop=True)], ignore_index=True)
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    value_codes, candidate_codes = codes[:len(values)], codes[len(values):]
    return np.isin(value_codes, candidate_codes[candidate_codes >= 0]) & (value_codes >= 0)


def _per_unique(values: pd.Series, function) -> pd.Series:
    """Apply a Python function once per distinct non-missing value (values repeat a lot)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([function(value) for value in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index)  # code -1 (missing) takes the trailing None


# --------------------------------------------------------------------------- text and names


def standardize_text(values: pd.Series) -> pd.Series:
    """Trim, collapse runs of spaces (also non-breaking ones) and normalize Unicode to NFC.

    Examples
    --------
    >>> import pandas as pd
    >>> standardize_text(pd.Series(["  Cafe\\u0301   de  Flore ", None])).tolist()
    ['Café de Flore', <NA>]
    """
    text = values.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    if 0 < len(uniques) < 0.5 * len(text):  # categories, channels, cities: clean each spelling once
        cleaned = _clean_text(pd.Series(uniques, dtype="string"))
        return pd.Series(cleaned.to_numpy(dtype=object, na_value=None).take(codes), index=values.index,
                         dtype="string").where(codes != -1)
    return _clean_text(text)


def _clean_text(text: pd.Series) -> pd.Series:
    text = text.str.replace(_SPACE_RUN, " ", regex=True).str.strip()
    needs_nfc = ~text.fillna("").str.isascii()  # ASCII is already NFC: skip the Python pass
    if needs_nfc.any():
        text[needs_nfc] = _per_unique(text[needs_nfc], lambda v: unicodedata.normalize("NFC", v))
    return text.where(text != "").astype("string")


# Legal forms, in the spelling kept when a name is re-cased. Recognised only at the end of a name.
_LEGAL_FORMS = (
    "SA", "S.A.", "SAS", "S.A.S.", "SASU", "SARL", "S.A.R.L.", "EURL", "SNC", "SCI", "SCOP", "SCA", "SE",
    "GIE", "Cie", "GmbH", "mbH", "AG", "KG", "OHG", "UG", "KGaA", "e.V.", "Ltd", "Ltd.", "Limited", "PLC",
    "LLP", "LLC", "L.L.C.", "Inc", "Inc.", "Corp", "Corp.", "Co", "Co.", "S.L.", "SL", "S.L.U.", "SLU",
    "S.A.U.", "SAU", "S.r.l.", "SRL", "S.p.A.", "S.n.c.", "NV", "N.V.", "BV", "B.V.", "BVBA", "SPRL",
    "ASBL", "VZW", "AB", "A/S", "ApS", "Oy", "Oyj", "s.r.o.", "a.s.", "d.o.o.", "Kft.", "Zrt.",
)
_LEGAL_BY_SPELLING = {form.lower(): form for form in _LEGAL_FORMS}
_LEGAL_BY_SPELLING.update({form.lower().replace(".", ""): form for form in _LEGAL_FORMS
                           if "." not in form})  # undotted spellings: "ltd" -> "Ltd"
# "s.p.a." is a legal form, "spa" (a spa) is a word: only dotted forms match with dots removed.
_LEGAL_KEYS = frozenset(form.lower().replace(".", "") for form in _LEGAL_FORMS) - {"spa"}
_CONNECTORS = frozenset({"&", "+", "and", "et", "und", "e", "y"})
# Lower-case inside a name (never as its first word): "Ludwig van Beethoven", "Maria da Silva".
_PARTICLES = frozenset({"de", "du", "des", "del", "della", "der", "den", "di", "da", "das", "do", "dos",
                        "van", "von", "ter", "ten", "zu", "y", "e", "et", "und", "and", "of"})
_ARTICLES_AFTER_DE = frozenset({"la", "le", "les", "l"})  # "Jean de la Fontaine", but "Yann Le Gall"
_APOSTROPHES = "'’`´"


def _legal_tail(tokens: list[str]) -> int:
    """Index where the trailing run of legal forms ("GmbH & Co. KG") starts; len(tokens) if none."""
    start = len(tokens)
    for position in range(len(tokens) - 1, 0, -1):  # the first word always belongs to the name
        key = tokens[position].lower().replace(".", "").strip(",")
        if key in _LEGAL_KEYS:
            start = position
        elif key in _CONNECTORS and start == position + 1 and start < len(tokens):
            start = position  # the "&" of "& Co." goes with the legal forms
        else:
            break
    return start


def _case_word(word: str) -> str:
    """One word without spaces or hyphens: "o'brien" -> "O'Brien", "mcdonald" -> "McDonald"."""
    if any(ch.isdigit() for ch in word):  # "3m", "a1": codes rather than words
        return word.upper()
    for apostrophe in _APOSTROPHES:
        if apostrophe in word[1:-1]:
            prefix, _, rest = word.partition(apostrophe)
            if prefix.lower() == "d":  # d'Artagnan, d'Estaing: the elided particle stays lower-case
                return f"d{apostrophe}{_case_word(rest)}"
            return f"{_case_word(prefix)}{apostrophe}{_case_word(rest)}"
    lower = word.lower()
    if lower.startswith("mc") and len(lower) > 3:
        return "Mc" + lower[2:].capitalize()
    return lower.capitalize()


def fix_name_case(name: str) -> str:
    """Title-case a person or company name, keeping particles and legal forms sensible.

    Meant for names written ALL CAPS or all lower case (:func:`standardize_names` only calls it
    for those); mixed-case names are usually right and are left alone there.

    Examples
    --------
    >>> fix_name_case("SEAN O'BRIEN")
    "Sean O'Brien"
    >>> fix_name_case("ronald mcdonald")
    'Ronald McDonald'
    >>> fix_name_case("charles d'artagnan")
    "Charles d'Artagnan"
    >>> fix_name_case("PIETER VAN DER BERG")
    'Pieter van der Berg'
    >>> fix_name_case("SOCIÉTÉ GÉNÉRALE S.A.")
    'Société Générale S.A.'
    >>> fix_name_case("schmidt gmbh & co. kg")
    'Schmidt GmbH & Co. KG'
    >>> fix_name_case("JEAN-PIERRE DE LA FONTAINE SARL")
    'Jean-Pierre de la Fontaine SARL'
    """
    tokens = name.split()
    tail = _legal_tail(tokens)
    out = []
    for position, token in enumerate(tokens):
        lower = token.lower()
        if position >= tail:
            legal = _LEGAL_BY_SPELLING.get(lower) or _LEGAL_BY_SPELLING.get(lower.replace(".", ""))
            out.append(legal or (lower if lower in _CONNECTORS else _case_word(token)))
        elif position > 0 and (lower in _PARTICLES or (
                lower in _ARTICLES_AFTER_DE and out and out[-1] in ("de", "De"))):
            out.append(lower)
        else:
            out.append("-".join(_case_word(part) for part in token.split("-")))
    return " ".join(out)


def _needs_case_fix(text: pd.Series) -> pd.Series:
    has_letters = _mask(text.str.contains(r"[^\W\d_]", regex=True))
    return has_letters & (_mask(text == text.str.upper()) | _mask(text == text.str.lower()))


def standardize_names(values: pd.Series) -> pd.Series:
    """:func:`standardize_text`, then :func:`fix_name_case` on ALL-CAPS and all-lower names.

    Examples
    --------
    >>> import pandas as pd
    >>> standardize_names(pd.Series(["  JEAN  DUPONT ", "marie curie", "Jean DUPONT", None])).tolist()
    ['Jean Dupont', 'Marie Curie', 'Jean DUPONT', <NA>]
    """
    text = standardize_text(values)
    fix = _needs_case_fix(text)
    if fix.any():
        text[fix] = _per_unique(text[fix], fix_name_case)
    return text


def name_key(name) -> str | None:
    """Key for matching names: no accents, lower-case, no punctuation or legal form, words sorted.

    Examples
    --------
    >>> name_key("Société Générale S.A.") == name_key("SOCIETE GENERALE")
    True
    >>> name_key("Martin  Sophie"), name_key("Sophie Martin")
    ('martin sophie', 'martin sophie')
    >>> name_key("O'Brien & Sons Ltd")
    'obrien sons'
    >>> name_key(None) is None
    True
    """
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "")  # O'Brien = OBrien = Obrien
    tokens = text.split()
    tokens = tokens[:_legal_tail(tokens)]
    words = re.sub(r"[\W_]+", " ", " ".join(tokens)).split()
    return " ".join(sorted(words)) or None


def name_keys(values: pd.Series) -> pd.Series:
    """:func:`name_key` of every value (computed once per distinct name).

    Examples
    --------
    >>> import pandas as pd
    >>> name_keys(pd.Series(["Dupont Jean", "JEAN DUPONT", None])).tolist()
    ['dupont jean', 'dupont jean', <NA>]
    """
    return _per_unique(values.astype("string"), name_key).astype("string")


# --------------------------------------------------------------------------- e-mails

# Major consumer mail providers: base names x the country domains they really use.
_PROVIDERS = {
    "gmail": ("com",), "googlemail": ("com",), "hotmail": ("com", "fr", "de", "es", "it", "co.uk", "be", "nl"),
    "outlook": ("com", "fr", "de", "es", "it", "be"), "live": ("com", "fr", "de", "it", "be", "nl", "co.uk"),
    "msn": ("com",), "yahoo": ("com", "fr", "de", "es", "it", "co.uk"), "ymail": ("com",), "icloud": ("com",),
    "me": ("com",), "mac": ("com",), "aol": ("com", "fr", "de"), "gmx": ("de", "net", "fr", "at", "ch", "com"),
    "web": ("de",), "t-online": ("de",), "freenet": ("de",), "orange": ("fr",), "wanadoo": ("fr",),
    "free": ("fr",), "sfr": ("fr",), "neuf": ("fr",), "laposte": ("net",), "bbox": ("fr",), "numericable": ("fr",),
    "libero": ("it",), "virgilio": ("it",), "alice": ("it",), "tiscali": ("it",), "tin": ("it",),
    "telefonica": ("net",), "movistar": ("es",), "skynet": ("be",), "telenet": ("be",), "proximus": ("be",),
    "ziggo": ("nl",), "kpnmail": ("nl",), "btinternet": ("com",), "sky": ("com",), "virginmedia": ("com",),
    "bluewin": ("ch",), "protonmail": ("com", "ch"), "proton": ("me",), "mail": ("com",), "zoho": ("com",),
    "yandex": ("com", "ru"), "qq": ("com",), "163": ("com",),
}
#: Domains an e-mail may have without being suspected of a typo.
KNOWN_EMAIL_DOMAINS = frozenset(f"{name}.{tld}" for name, tlds in _PROVIDERS.items() for tld in tlds)
_KNOWN_DOMAINS_BY_LENGTH: dict[int, list[str]] = {}
for _domain in sorted(KNOWN_EMAIL_DOMAINS):
    _KNOWN_DOMAINS_BY_LENGTH.setdefault(len(_domain), []).append(_domain)
# Endings that are no real top-level domain but a slip of the finger.
_TLD_TYPOS = {"con": "com", "cmo": "com", "ocm": "com", "vom": "com", "xom": "com", "comm": "com",
              "coom": "com", "cpm": "com", "fe": "fr", "rf": "fr", "frr": "fr", "ffr": "fr", "dee": "de",
              "ed": "de", "nte": "net", "nett": "net", "ogr": "org", "orgg": "org"}
_PLACEHOLDER_EMAILS = frozenset(normalize_label(v) for v in (
    "no email", "noemail", "no mail", "nomail", "no e-mail", "none", "n/a", "na", "nil", "null", "unknown",
    "inconnu", "inconnue", "aucun", "aucune", "pas d'email", "pas de mail", "sans", "à compléter",
    "a renseigner", "à renseigner", "tbd", "todo", "test", "x", "xx", "xxx", "-", "?", "."))
_PLACEHOLDER_LOCALS = frozenset({"noemail", "no-email", "no.email", "nomail", "no-mail", "none", "test",
                                 "dummy", "fake", "xxx", "noreply", "no-reply", "donotreply", "unknown"})
_PLACEHOLDER_DOMAINS = frozenset({"test.com", "test.fr", "example.com", "example.org", "example.net",
                                  "example.fr", "domain.com", "nomail.com", "noemail.com", "xxx.com",
                                  "invalid", "localhost", "fake.com"})
_EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"  # local part: no leading/trailing/double dot
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}"  # domain labels, then a TLD of letters
)


def _damerau_levenshtein(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance (a transposition costs 1); ``limit + 1`` once above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=65536)  # many addresses share a domain
def _suggest_domain(domain: str) -> str | None:
    """The provider domain this one is probably a typo of, or None."""
    if domain in KNOWN_EMAIL_DOMAINS or len(domain) < 5:
        return None
    candidates = [known for length in range(len(domain) - 2, len(domain) + 3)
                  for known in _KNOWN_DOMAINS_BY_LENGTH.get(length, ())]
    scored = sorted((_damerau_levenshtein(domain, known), known) for known in candidates) + [(9, ""), (9, "")]
    best_distance, best = scored[0]
    # One edit on a domain of 5+ characters; two edits only on long domains and when unambiguous.
    if best_distance == 1 or (best_distance == 2 and len(domain) >= 9 and scored[1][0] > 2):
        return best
    name, _, tld = domain.rpartition(".")
    if name and tld in _TLD_TYPOS:
        return f"{name}.{_TLD_TYPOS[tld]}"
    return None


def _check_email(email: str) -> tuple[bool, str | None, str | None]:
    """(valid, issue, suggestion) of one lower-cased, trimmed value."""
    local, at, domain = email.rpartition("@")
    if normalize_label(email) in _PLACEHOLDER_EMAILS or (at and (
            local in _PLACEHOLDER_LOCALS or domain in _PLACEHOLDER_DOMAINS)):
        return False, "placeholder", None
    if _EMAIL.fullmatch(email) is None:
        return False, "syntax", None
    suggestion = _suggest_domain(domain)
    if suggestion is not None:
        return False, f"typo domain (did you mean {suggestion}?)", f"{local}@{suggestion}"
    return True, None, None


def standardize_emails(values: pd.Series) -> pd.DataFrame:
    """Lower-case and check e-mail addresses.

    Parameters
    ----------
    values : pandas.Series
        Raw addresses (missing allowed).

    Returns
    -------
    pandas.DataFrame
        Same index, columns:

        ``email``
            Trimmed and lower-cased; an invalid address is kept as typed (lower-cased).
        ``email_valid``
            True only for a present, well-formed address that is neither a placeholder nor on a
            typo domain (so a missing e-mail is False too).
        ``email_issue``
            None, ``"missing"``, ``"syntax"``, ``"placeholder"`` or
            ``"typo domain (did you mean gmail.com?)"``.
        ``email_suggestion``
            The corrected address for typo domains, else missing.

    Notes
    -----
    The syntax is the pragmatic one: one ``@``, no spaces, dot-separated domain labels and a
    top-level domain of two letters or more. Typo domains are those within Damerau-Levenshtein
    distance 1 (2 for long domains) of a common provider in :data:`KNOWN_EMAIL_DOMAINS`, or
    ending in a misspelt ``.con``/``.fe``-like top-level domain.

    Examples
    --------
    >>> import pandas as pd
    >>> out = standardize_emails(pd.Series([" Jean.Dupont@Gmail.com", "jean@gmial.com", "no email",
    ...                                     "jean dupont@free.fr", None]))
    >>> out["email"].tolist()
    ['jean.dupont@gmail.com', 'jean@gmial.com', 'no email', 'jean dupont@free.fr', <NA>]
    >>> out["email_valid"].tolist()
    [True, False, False, False, False]
    >>> out["email_issue"].tolist()
    [None, 'typo domain (did you mean gmail.com?)', 'placeholder', 'syntax', 'missing']
    """
    email = standardize_text(values).str.lower()
    codes, uniques = pd.factorize(email, use_na_sentinel=True)
    checks = [_check_email(value) for value in uniques] + [(False, "missing", None)]
    valid, issue, suggestion = (np.array(column, dtype=object) for column in zip(*checks, strict=True))
    return pd.DataFrame({
        "email": email,
        "email_valid": valid[codes].astype(bool),
        "email_issue": pd.Series(issue[codes], index=values.index, dtype=object),
        "email_suggestion": pd.Series(suggestion[codes], index=values.index, dtype="string"),
    }, index=values.index)


# --------------------------------------------------------------------------- countries

# alpha-2 alpha-3 | English | French | other names and spellings (local, German, Spanish, Italian, Dutch, ...)
_COUNTRY_TABLE = """
AT AUT | Austria | Autriche | Österreich, Oesterreich, Oostenrijk
BE BEL | Belgium | Belgique | België, Belgie, Belgien, Belgio, Bélgica
BG BGR | Bulgaria | Bulgarie | Bulgarien
HR HRV | Croatia | Croatie | Hrvatska, Kroatien, Croacia, Croazia
CY CYP | Cyprus | Chypre | Zypern, Chipre, Cipro
CZ CZE | Czechia | Tchéquie | Czech Republic, République tchèque, Česko, Ceska republika, Tschechien, Chequia
DK DNK | Denmark | Danemark | Danmark, Dänemark, Dinamarca, Danimarca, Denemarken
EE EST | Estonia | Estonie | Eesti, Estland
FI FIN | Finland | Finlande | Suomi, Finnland, Finlandia
FR FRA | France | France | Frankreich, Francia, Frankrijk, République française, Metropolitan France
DE DEU | Germany | Allemagne | Deutschland, Alemania, Germania, Duitsland, BRD, RFA, Federal Republic of Germany
GR GRC | Greece | Grèce | Hellas, Ellada, Griechenland, Grecia, Griekenland, EL
HU HUN | Hungary | Hongrie | Magyarország, Ungarn, Hungría, Ungheria, Hongarije
IE IRL | Ireland | Irlande | Éire, Eire, Irland, Irlanda, Republic of Ireland
IT ITA | Italy | Italie | Italia, Italien, Italië
LV LVA | Latvia | Lettonie | Latvija, Lettland, Letonia
LT LTU | Lithuania | Lituanie | Lietuva, Litauen, Lituania
LU LUX | Luxembourg | Luxembourg | Luxemburg, Lussemburgo, Luxemburgo, Lëtzebuerg
MT MLT | Malta | Malte |
NL NLD | Netherlands | Pays-Bas | The Netherlands, Nederland, Holland, Hollande, Niederlande, Países Bajos, Paesi Bassi
PL POL | Poland | Pologne | Polska, Polen, Polonia
PT PRT | Portugal | Portugal | Portogallo
RO ROU | Romania | Roumanie | România, Rumänien, Rumania
SK SVK | Slovakia | Slovaquie | Slovensko, Slovak Republic, Slowakei, Eslovaquia
SI SVN | Slovenia | Slovénie | Slovenija, Slowenien, Eslovenia
ES ESP | Spain | Espagne | España, Espanya, Spanien, Spagna, Spanje
SE SWE | Sweden | Suède | Sverige, Schweden, Suecia, Svezia, Zweden
IS ISL | Iceland | Islande | Ísland, Island, Islandia
LI LIE | Liechtenstein | Liechtenstein |
NO NOR | Norway | Norvège | Norge, Norwegen, Noruega, Norvegia, Noorwegen
GB GBR | United Kingdom | Royaume-Uni | UK, U.K., Great Britain, Britain, England, Scotland, Wales, Northern Ireland, Angleterre, Écosse, Pays de Galles, Grande-Bretagne, Irlande du Nord, United Kingdom of Great Britain and Northern Ireland, Vereinigtes Königreich, Großbritannien, Grossbritannien, England, Reino Unido, Regno Unito, Inghilterra, Verenigd Koninkrijk
CH CHE | Switzerland | Suisse | Schweiz, Svizzera, Suiza, Zwitserland, Helvetia, Confédération suisse
US USA | United States | États-Unis | USA, U.S.A., U.S., United States of America, America, Amérique, États-Unis d'Amérique, Vereinigte Staaten, Estados Unidos, Stati Uniti, Verenigde Staten
CA CAN | Canada | Canada | Kanada
MX MEX | Mexico | Mexique | México, Mexiko, Messico
BR BRA | Brazil | Brésil | Brasil, Brasilien, Brasile
AR ARG | Argentina | Argentine | Argentinien
CL CHL | Chile | Chili | Cile
CO COL | Colombia | Colombie | Kolumbien
PE PER | Peru | Pérou | Perú
CN CHN | China | Chine | People's Republic of China, PRC, P.R. China, Volksrepublik China, Cina
JP JPN | Japan | Japon | Nippon, Japón, Giappone
KR KOR | South Korea | Corée du Sud | Korea, Republic of Korea, Korea Republic of, Südkorea, Corea del Sur
IN IND | India | Inde | Bharat, Indien
SG SGP | Singapore | Singapour | Singapur
HK HKG | Hong Kong | Hong Kong | Hongkong
TW TWN | Taiwan | Taïwan |
TH THA | Thailand | Thaïlande | Thailande
VN VNM | Vietnam | Viêt Nam | Viet Nam
ID IDN | Indonesia | Indonésie | Indonesien
MY MYS | Malaysia | Malaisie | Malaysie
PH PHL | Philippines | Philippines | Philippinen, Filipinas
PK PAK | Pakistan | Pakistan |
AU AUS | Australia | Australie | Australien
NZ NZL | New Zealand | Nouvelle-Zélande | Neuseeland, Nueva Zelanda
MA MAR | Morocco | Maroc | Marokko, Marruecos, Marocco, Al Maghrib
DZ DZA | Algeria | Algérie | Algerien, Argelia
TN TUN | Tunisia | Tunisie | Tunesien, Túnez
EG EGY | Egypt | Égypte | Ägypten, Egipto, Egitto
SN SEN | Senegal | Sénégal |
CI CIV | Côte d'Ivoire | Côte d'Ivoire | Ivory Coast, Elfenbeinküste
CM CMR | Cameroon | Cameroun | Kamerun, Camerún
MG MDG | Madagascar | Madagascar |
MU MUS | Mauritius | Maurice | Île Maurice
NG NGA | Nigeria | Nigéria |
KE KEN | Kenya | Kenya |
ZA ZAF | South Africa | Afrique du Sud | Südafrika, Sudáfrica, Sudafrica
IL ISR | Israel | Israël |
LB LBN | Lebanon | Liban | Libanon, Líbano
TR TUR | Turkey | Turquie | Türkiye, Turkiye, Türkei, Turquía, Turchia
AE ARE | United Arab Emirates | Émirats arabes unis | UAE, U.A.E., Emirates, EAU, Vereinigte Arabische Emirate
SA SAU | Saudi Arabia | Arabie saoudite | Saudi-Arabien, Arabia Saudita, Arabia Saudí
QA QAT | Qatar | Qatar | Katar
RU RUS | Russia | Russie | Russian Federation, Fédération de Russie, Russland, Rusia, Russia
UA UKR | Ukraine | Ukraine | Ucrania, Ucraina, Oekraïne
RS SRB | Serbia | Serbie | Srbija, Serbien
AL ALB | Albania | Albanie | Albanien
BA BIH | Bosnia and Herzegovina | Bosnie-Herzégovine | Bosnia, Bosnien und Herzegowina
ME MNE | Montenegro | Monténégro |
MK MKD | North Macedonia | Macédoine du Nord | Macedonia, Macédoine, Nordmazedonien
MD MDA | Moldova | Moldavie | Moldawien, Republic of Moldova
AD AND | Andorra | Andorre |
MC MCO | Monaco | Monaco | Principauté de Monaco
SM SMR | San Marino | Saint-Marin |
VA VAT | Vatican City | Vatican | Holy See, Saint-Siège, Vatikan
GP GLP | Guadeloupe | Guadeloupe |
MQ MTQ | Martinique | Martinique |
GF GUF | French Guiana | Guyane | Guyane française
RE REU | Réunion | La Réunion | Reunion Island
YT MYT | Mayotte | Mayotte |
NC NCL | New Caledonia | Nouvelle-Calédonie |
PF PYF | French Polynesia | Polynésie française |
"""


def _country_label(value: str) -> str:
    """Lookup form of a country spelling: accents, case, dots and apostrophes do not matter."""
    text = normalize_label(value).replace(".", "").replace("'", " ").replace("’", " ")
    text = re.sub(r"[(),]", " ", text)
    return " ".join(word for word in text.split() if word != "the")


def _build_country_lookup() -> tuple[dict[str, str], dict[str, str]]:
    lookup: dict[str, str] = {}
    english: dict[str, str] = {}
    for line in _COUNTRY_TABLE.strip().splitlines():
        codes, en, fr, others = (part.strip() for part in line.split("|"))
        alpha2, alpha3 = codes.split()
        english[alpha2] = en
        for spelling in (alpha2, alpha3, en, fr, *[o for o in others.split(",") if o.strip()]):
            key = _country_label(spelling)
            if lookup.setdefault(key, alpha2) != alpha2:
                raise ValueError(f"country spelling {spelling!r} maps to {lookup[key]} and {alpha2}")
    return lookup, english


_COUNTRY_LOOKUP, COUNTRY_NAMES = _build_country_lookup()


def country_code(value) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code, None when not recognised.

    English, French and local names, German/Spanish/Italian/Dutch names of the main countries,
    alpha-2 and alpha-3 codes and common variants (``UK``, ``USA``, ``Holland``) are accepted,
    whatever the case and accents.

    Examples
    --------
    >>> [country_code(v) for v in ("france", "FRA", "Allemagne", "Deutschland", "États-Unis", "Etats-Unis",
    ...                            "Great Britain", "België", "Pays-Bas", "Holland", "Atlantis")]
    ['FR', 'FR', 'DE', 'DE', 'US', 'US', 'GB', 'BE', 'NL', 'NL', None]
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return _COUNTRY_LOOKUP.get(_country_label(str(value)))


def country_codes(values: pd.Series) -> pd.Series:
    """:func:`country_code` of every value (once per distinct spelling); missing when not recognised.

    Examples
    --------
    >>> import pandas as pd
    >>> country_codes(pd.Series(["Espagne", "españa", "ES", "Narnia", None])).tolist()
    ['ES', 'ES', 'ES', <NA>, <NA>]
    """
    return _per_unique(values.astype("string"), country_code).astype("string")


# --------------------------------------------------------------------------- phones


def _parse_phone(raw: str, region: str | None) -> tuple[str, bool, str | None]:
    """(value, valid, issue) for one raw number and the ISO region of its customer."""
    text = raw.strip()
    if not any(ch.isdigit() for ch in text):
        return raw, False, "not a phone number"
    international = text.startswith("+")
    if region is None and not international:
        digits = re.sub(r"\D", "", text)
        if digits.startswith("00"):  # 00 is the international prefix almost everywhere it is used
            text, international = "+" + digits[2:], True
        else:
            return raw, False, "country unknown, number not in international format"
    try:
        number = phonenumbers.parse(text, None if international else region)
    except phonenumbers.NumberParseException:
        return raw, False, "not a phone number"
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True, None
    reason = phonenumbers.is_possible_number_with_reason(number)
    where = phonenumbers.region_code_for_number(number) or region or "?"
    detail = {phonenumbers.ValidationResult.TOO_SHORT: "too short",
              phonenumbers.ValidationResult.TOO_LONG: "too long"}.get(reason, "not a valid number")
    return raw, False, f"{detail} for {where}"


def standardize_phones(values: pd.Series, countries: pd.Series | str | None = None) -> pd.DataFrame:
    """Phones in E.164 (``+33612345678``) when they are valid numbers.

    Parameters
    ----------
    values : pandas.Series
        Raw numbers in any national or international format.
    countries : pandas.Series or str, optional
        ISO alpha-2 country of each number (aligned with ``values``, e.g. from
        :func:`country_codes`) or one code for all. Numbers in international form
        (``+49 ...``, ``0049 ...``) are read without it.

    Returns
    -------
    pandas.DataFrame
        ``phone`` (E.164, or the value as given when it is not a valid number),
        ``phone_valid`` (bool; False also when missing) and ``phone_issue`` (None,
        ``"missing"``, or why it was not accepted, e.g. ``"too short for FR"``).

    Notes
    -----
    Each distinct (number, country) pair is parsed once with ``phonenumbers``.

    Examples
    --------
    >>> import pandas as pd
    >>> phones = pd.Series(["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678", "06 12"])
    >>> standardize_phones(phones, "FR")["phone"].tolist()
    ['+33612345678', '+33612345678', '+33612345678', '+33612345678', '06 12']
    >>> standardize_phones(phones, "FR")["phone_issue"].tolist()[-1]
    'too short for FR'
    """
    raw = values.astype("string")
    if countries is None or isinstance(countries, str):
        region = pd.Series(countries, index=values.index, dtype="string")
    else:
        region = countries.astype("string").reindex(values.index)
    pairs = pd.DataFrame({"raw": raw, "region": region})
    present = raw.notna() & (raw.str.strip() != "")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs[present].fillna({"region": ""})))
    parsed = [_parse_phone(text, code or None) for text, code in uniques]
    phone = raw.copy()
    valid = pd.Series(False, index=values.index)
    issue = pd.Series("missing", index=values.index, dtype=object)
    if parsed:
        value_u, valid_u, issue_u = (np.array(column, dtype=object) for column in zip(*parsed, strict=True))
        phone[present] = value_u[codes]
        valid[present] = valid_u[codes].astype(bool)
        issue[present] = issue_u[codes]
    return pd.DataFrame({"phone": phone.astype("string"), "phone_valid": valid.astype(bool),
                         "phone_issue": issue}, index=values.index)


# --------------------------------------------------------------------------- postal codes

# country -> (pattern of a valid code once formatted, width of all-digit codes whose leading zeros
# a spreadsheet may drop, formatter of the compacted code)
_POSTAL_RULES: dict[str, tuple[str, int | None, str | None]] = {
    "FR": (r"(?:0[1-9]|[1-8]\d|9[0-8])\d{3}", 5, None),
    "DE": (r"(?!00)\d{5}", 5, None),
    "ES": (r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}", 5, None),
    "IT": (r"\d{5}", 5, None),
    "US": (r"\d{5}(?:-\d{4})?", 5, None),
    "BE": (r"[1-9]\d{3}", None, None),
    "CH": (r"[1-9]\d{3}", None, None),
    "AT": (r"[1-9]\d{3}", None, None),
    "LU": (r"\d{4}", None, None),
    "DK": (r"\d{4}", None, None),
    "NO": (r"\d{4}", 4, None),
    "NL": (r"[1-9]\d{3} [A-Z]{2}", None, r"^(\d{4})([A-Z]{2})$"),
    "GB": (r"GIR 0AA|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", None, r"^([A-Z0-9]{2,4})(\d[A-Z]{2})$"),
    "PT": (r"\d{4}-\d{3}", None, None),
    "PL": (r"\d{2}-\d{3}", None, None),
    "SE": (r"\d{3} \d{2}", None, r"^(\d{3})(\d{2})$"),
    "CA": (r"[A-Z]\d[A-Z] \d[A-Z]\d", None, r"^([A-Z]\d[A-Z])(\d[A-Z]\d)$"),
}


def standardize_postal_codes(values: pd.Series, countries: pd.Series | str) -> pd.DataFrame:
    """Check and format postal codes for the countries with a simple national format.

    Upper-cased and trimmed everywhere; for the countries in the rules (FR, DE, ES, IT, US,
    BE, CH, AT, LU, DK, NO, NL, GB, PT, PL, SE, CA): a ``F-``/``CH-`` style country prefix is
    removed, spacing is normalized (``1234AB`` -> ``1234 AB``, ``sw1a1aa`` -> ``SW1A 1AA``) and
    leading zeros a spreadsheet dropped are restored (``1000`` -> ``01000`` for a French code).

    Parameters
    ----------
    values : pandas.Series
        Postal codes as text.
    countries : pandas.Series or str
        ISO alpha-2 country of each code (aligned with ``values``) or one code for all.

    Returns
    -------
    pandas.DataFrame
        ``postal_code`` (formatted), ``postal_code_valid`` (bool: False when missing or not
        matching its country's format; True when valid or when no rule applies),
        ``postal_code_issue`` (None, ``"missing"``, ``"invalid for FR"``, or
        ``"not checked (...)"``) and ``postal_code_fix`` (``"leading_zero"``/``"format"``/None).

    Examples
    --------
    >>> import pandas as pd
    >>> out = standardize_postal_codes(pd.Series(["1000", "75001", "1012ab", "sw1a 1aa", "7500"]),
    ...                                pd.Series(["FR", "FR", "NL", "GB", "BE"]))
    >>> out["postal_code"].tolist()
    ['01000', '75001', '1012 AB', 'SW1A 1AA', '7500']
    >>> out["postal_code_valid"].tolist()
    [True, True, True, True, True]
    """
    text = standardize_text(values).str.upper()
    if isinstance(countries, str):
        country = pd.Series(countries, index=values.index, dtype="string")
    else:
        country = countries.astype("string").reindex(values.index)
    formatted = text.copy()
    fix = pd.Series(None, index=values.index, dtype=object)
    valid = text.notna()
    issue = pd.Series(None, index=values.index, dtype=object)
    issue[text.isna()] = "missing"
    checked = pd.Series(False, index=values.index)
    for code, (pattern, width, layout) in _POSTAL_RULES.items():
        rows = (country == code).fillna(False).astype(bool) & text.notna()
        if not rows.any():
            continue
        checked |= rows
        value = text[rows]
        compact = value.str.replace(rf"^(?:{code}|[A-Z]){_SPACE}*-{_SPACE}*", "", regex=True)  # "F-75001", "CH-1200"
        compact = compact.str.replace(rf"{_SPACE}*-{_SPACE}*", "-", regex=True)
        if layout is not None:
            compact = compact.str.replace(" ", "", regex=False).str.replace(layout, r"\1 \2", regex=True)
        else:
            compact = compact.str.replace(_SPACE_RUN, " ", regex=True)
        if width is not None:
            short = compact.str.fullmatch(rf"\d{{{width - 2},{width - 1}}}").fillna(False).astype(bool)
            padded = compact.where(~short, compact.str.zfill(width))
            ok_padded = padded.str.fullmatch(pattern).fillna(False).astype(bool)
            fix[rows] = np.where(short & ok_padded, "leading_zero", None)
            compact = compact.where(~(short & ok_padded), padded)
        ok = compact.str.fullmatch(pattern).fillna(False).astype(bool)
        reformatted = ok & (compact != value) & fix[rows].isna()
        fix[rows] = fix[rows].where(~reformatted, "format")
        formatted[rows] = compact.where(ok, value)
        valid[rows] = ok
        issue[rows] = np.where(ok, None, f"invalid for {code}")
    unchecked = text.notna() & ~checked
    issue[unchecked & country.isna()] = "not checked (country unknown)"
    issue[unchecked & country.notna()] = "not checked (no rule for this country)"
    return pd.DataFrame({"postal_code": formatted.astype("string"), "postal_code_valid": valid.astype(bool),
                         "postal_code_issue": issue, "postal_code_fix": fix}, index=values.index)


# --------------------------------------------------------------------------- transactions

_NOT_A_SALE = ("cancelled",)


def _running_best(sales: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """For merge_asof: per ``by`` group and date, the largest amount so far and the order holding it."""
    sales = sales.sort_values("date", kind="stable")  # cummax/ffill run in row order within each group
    groups = [sales[col] for col in by]
    best = sales["amount"].groupby(groups, sort=False, observed=True).cummax()
    holder = sales["order_id"].where(sales["amount"] == best).groupby(groups, sort=False, observed=True).ffill()
    return sales.assign(best_amount=best, best_order=holder)[[*by, "date", "best_amount", "best_order"]]


def _match_earlier(negatives: pd.DataFrame, sales: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Negative lines that have, among ``sales`` of the same ``by`` on or before their date, one >= |amount|."""
    left = negatives.dropna(subset=[*by, "date"]).sort_values("date", kind="stable")
    right = _running_best(sales.dropna(subset=[*by, "date"]), by)
    if left.empty or right.empty:
        return pd.DataFrame({"best_order": pd.Series(dtype="string")})
    merged = pd.merge_asof(left[[*by, "date", "need", "position"]], right, on="date", by=by,
                           direction="backward")
    merged = merged[merged["best_amount"] >= merged["need"] - 0.005]  # cents: a full refund matches
    return merged.set_index("position")[["best_order"]]


def classify_negative_amounts(transactions: pd.DataFrame, quantity_sign: bool = True) -> pd.DataFrame:
    """Tell credit notes from negative amounts typed by mistake.

    A negative line is a credit note when it can be matched to a purchase (a line with a positive
    amount whose status is not ``cancelled``), tried in this order:

    1. ``same order``: a purchase line carries the same ``order_id`` (any date);
    2. ``same product``: an earlier (or same-day) purchase line of the same customer and
       ``product_id`` of at least ``|amount|``;
    3. ``earlier purchase``: an earlier (or same-day) order of the same customer whose total is
       at least ``|amount|``.

    Otherwise it is a ``negative_error``. With ``quantity_sign`` (default), a line not matched by
    its order whose ``quantity`` is positive is also a ``negative_error``: a return takes units
    back, so a minus sign on the amount alone is the mark of a sale typed as negative.

    Parameters
    ----------
    transactions : pandas.DataFrame
        ``customer_id``, ``date``, ``amount``; ``order_id``, ``product_id``, ``quantity`` and
        ``status`` are used when present.
    quantity_sign : bool, default True
        Apply the quantity-sign rule above.

    Returns
    -------
    pandas.DataFrame
        Same index: ``negative_kind`` (missing for non-negative lines, else ``"credit_note"`` or
        ``"negative_error"``), ``matched_order_id`` (order of the matched purchase) and
        ``negative_match`` (``"same order"``, ``"same product"``, ``"earlier purchase"``,
        ``"positive quantity"`` or ``"no matching purchase"``).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["A", "A", "A", "B"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-01", "2024-03-01"]),
    ...     "amount": [120.0, -120.0, -50.0, -80.0],
    ...     "order_id": ["o1", "o1", "c7", "o9"]})
    >>> classify_negative_amounts(tx).fillna("").values.tolist()
    [['', '', ''], ['credit_note', 'o1', 'same order'], ['credit_note', 'o1', 'earlier purchase'], \
['negative_error', '', 'no matching purchase']]
    """
    missing = [col for col in ("customer_id", "date", "amount") if col not in transactions.columns]
    if missing:
        raise ValueError(f"classify_negative_amounts needs the column(s) {', '.join(missing)}")
    amount = transactions["amount"]
    kind = pd.Series(pd.NA, index=transactions.index, dtype="string")
    matched = pd.Series(pd.NA, index=transactions.index, dtype="string")
    how = pd.Series(pd.NA, index=transactions.index, dtype="string")
    negative = (amount < 0).to_numpy()
    if not negative.any():
        return pd.DataFrame({"negative_kind": kind, "matched_order_id": matched, "negative_match": how})

    columns = [c for c in ("customer_id", "date", "amount", "order_id", "product_id") if c in transactions]
    frame = transactions[columns].reset_index(drop=True).assign(position=np.arange(len(transactions)))
    if "order_id" not in frame:
        frame["order_id"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    is_sale = (frame["amount"] > 0).to_numpy()
    if "status" in transactions.columns:
        is_sale = is_sale & ~_isin(transactions["status"], _NOT_A_SALE)
    negatives = frame[negative].assign(need=lambda f: -f["amount"])
    found = pd.Series(pd.NA, index=frame.index, dtype="string")  # matched order, by position
    rule = pd.Series(pd.NA, index=frame.index, dtype="string")

    same_order = _isin(negatives["order_id"], frame.loc[is_sale, "order_id"])
    found[negatives.index[same_order]] = negatives["order_id"][same_order]
    rule[negatives.index[same_order]] = "same order"
    todo = negatives[~same_order]
    if quantity_sign and "quantity" in transactions.columns:
        positive_quantity = (transactions["quantity"].to_numpy()[todo["position"]] > 0)
        rule[todo.index[positive_quantity]] = "positive quantity"
        todo = todo[~positive_quantity]
    # Only the purchases of customers with a negative line left can match it.
    sales = frame[is_sale & _isin(frame["customer_id"], todo["customer_id"])]
    if "product_id" in frame and not todo.empty:
        hits = _match_earlier(todo, sales, ["customer_id", "product_id"])
        found[hits.index] = hits["best_order"].astype("string")
        rule[hits.index] = "same product"
        todo = todo[~todo["position"].isin(hits.index).to_numpy()]
    if not todo.empty:
        # Orders (or single lines without an order id) of each customer, with their total.
        order_key = sales["order_id"].fillna("\0line " + sales["position"].astype("string"))
        orders = (sales.assign(order_key=order_key)
                  .groupby(["customer_id", "order_key"], sort=False, observed=True)
                  .agg(date=("date", "min"), amount=("amount", "sum"), order_id=("order_id", "first"))
                  .reset_index())
        hits = _match_earlier(todo, orders, ["customer_id"])
        found[hits.index] = hits["best_order"].astype("string")
        rule[hits.index] = "earlier purchase"
    negative_rows = negatives.index
    rule[negative_rows] = rule[negative_rows].fillna("no matching purchase")
    is_credit = rule[negative_rows].isin(["same order", "same product", "earlier purchase"]).to_numpy()
    kind[negative] = np.where(is_credit, "credit_note", "negative_error")
    matched[negative] = found[negative_rows].to_numpy()
    how[negative] = rule[negative_rows].to_numpy()
    return pd.DataFrame({"negative_kind": kind, "matched_order_id": matched, "negative_match": how})


def _canonical_columns(table: str, frame: pd.DataFrame) -> list[str]:
    declared = TABLES[table].column_names if table in TABLES else list(frame.columns)
    return [col for col in declared if col in frame.columns]


def flag_exact_duplicates(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows equal to an earlier row on every one of ``columns`` (all canonical columns by default).

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : list of str, optional
        Columns compared; default: the transactions contract columns present in ``frame``.

    Returns
    -------
    pandas.DataFrame
        ``is_exact_duplicate`` (bool; the first occurrence is False) and ``duplicate_of_line``
        (``source_line`` of the first occurrence, for duplicates; missing otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["A", "A", "A"], "amount": [10.0, 10.0, 12.0],
    ...                    "source_line": [2, 3, 4]})
    >>> flag_exact_duplicates(tx, ["customer_id", "amount"]).values.tolist()
    [[False, <NA>], [True, 2], [False, <NA>]]
    """
    columns = columns if columns is not None else _canonical_columns("transactions", frame)
    if not columns:
        raise ValueError("flag_exact_duplicates needs at least one column to compare")
    # One pass of hashing: rows with the same values share a group number.
    group = frame.groupby(columns, dropna=False, sort=False, observed=True).ngroup().to_numpy()
    duplicate = pd.Series(group, index=frame.index).duplicated(keep="first")
    first_line = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if duplicate.any():
        lines = frame["source_line"].to_numpy() if "source_line" in frame else np.arange(len(frame))
        _, first_row = np.unique(group, return_index=True)  # group numbers are 0..n-1, in order
        first_line[duplicate] = lines[first_row[group[duplicate.to_numpy()]]]
    return pd.DataFrame({"is_exact_duplicate": duplicate.astype(bool), "duplicate_of_line": first_line})


# --------------------------------------------------------------------------- tables

_TEXT_KINDS = ("text",)
_NAME_LIKE = ("name", "city")  # re-cased when ALL CAPS / all lower (addresses keep their case)
_CUSTOMER_SPECIAL = ("name", "email", "phone", "postal_code", "country", "city")


def _insert_after(frame: pd.DataFrame, anchor: str, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """Set ``anchor`` (if given) and put the other derived columns right after it, to read side by side."""
    frame = frame.drop(columns=[c for c in columns if c != anchor and c in frame.columns])
    if anchor in columns:
        frame[anchor] = columns[anchor]
    position = frame.columns.get_loc(anchor) + 1 if anchor in frame.columns else len(frame.columns)
    for offset, name in enumerate(name for name in columns if name != anchor):
        frame.insert(position + offset, name, columns[name])
    return frame


def standardize_table_text(table: str, frame: pd.DataFrame,
                           skip: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`standardize_text` on the free-text columns of a contract table; returns (frame, changes).

    Examples
    --------
    >>> import pandas as pd
    >>> tickets = pd.DataFrame({"customer_id": ["A"], "category": [" hardware  repair "], "source_line": [2]})
    >>> frame, changes = standardize_table_text("transactions", tickets)
    >>> frame["category"].tolist(), changes["rule"].tolist()
    (['hardware repair'], ['text_whitespace'])
    """
    frame = frame.copy()
    keys = None
    parts = []
    text_columns = [c.name for c in TABLES[table].columns if c.kind in _TEXT_KINDS] if table in TABLES else []
    for column in text_columns:
        if column not in frame.columns or column in skip:
            continue
        before = frame[column].astype("string")
        after = standardize_text(before)
        changed = (before != after).fillna(False).astype(bool)
        if changed.any():
            keys = record_keys(table, frame) if keys is None else keys
            parts.append(_log(table, keys, column, before, after, "text_whitespace", changed))
        frame[column] = after
    return frame, _concat_changes(parts)


def standardize_customers(customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardize the customers table; returns (customers, changes).

    Columns added or rewritten (when the source column is present):

    * ``name`` (trimmed, NFC, re-cased when ALL CAPS / all lower), ``name_original`` (as loaded),
      ``name_key`` (:func:`name_key`);
    * ``email``, ``email_valid``, ``email_issue``, ``email_suggestion`` (:func:`standardize_emails`);
    * ``country`` (as loaded, spaces trimmed) and ``country_code`` (:func:`country_codes`);
    * ``phone`` (E.164 when valid), ``phone_original``, ``phone_valid``, ``phone_issue``
      (:func:`standardize_phones`, with the customer's country);
    * ``postal_code``, ``postal_code_valid``, ``postal_code_issue`` (:func:`standardize_postal_codes`);
    * ``city`` re-cased like names; other free-text columns trimmed.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1"], "name": ["SEAN O'BRIEN"], "email": ["Sean@Gmial.com"],
    ...                           "phone": ["020 7946 0018"], "postal_code": ["sw1a1aa"], "country": ["UK"]})
    >>> out, changes = standardize_customers(customers)
    >>> out.loc[0, ["name", "email_valid", "phone", "postal_code", "country_code"]].astype(str).tolist()
    ["Sean O'Brien", 'False', '+442079460018', 'SW1A 1AA', 'GB']
    >>> sorted(changes["rule"])
    ['country_variant', 'email_lowercase', 'email_typo_domain', 'name_case', 'phone_e164', 'postal_format']
    """
    if "customer_id" not in customers.columns:
        raise ValueError("the customers table needs a customer_id column")
    frame, text_changes = standardize_table_text("customers", customers, skip=_CUSTOMER_SPECIAL)
    keys = record_keys("customers", frame)
    parts = [text_changes]

    for column in _NAME_LIKE:
        if column not in frame.columns:
            continue
        before = frame[column].astype("string")
        spaced = standardize_text(before)
        after = standardize_names(before)
        parts.append(_log("customers", keys, column, before, spaced, "text_whitespace",
                          (before != spaced).fillna(False)))
        parts.append(_log("customers", keys, column, spaced, after, "name_case", (spaced != after).fillna(False)))
        if column == "name":
            frame = _insert_after(frame, "name", {"name": after, "name_original": before,
                                                  "name_key": name_keys(after)})
        else:
            frame[column] = after

    if "email" in frame.columns:
        before = frame["email"].astype("string")
        emails = standardize_emails(before)
        parts.append(_log("customers", keys, "email", before, emails["email"], "email_lowercase"))
        issue = emails["email_issue"]
        for rule, mask in (("email_syntax", issue.eq("syntax")), ("email_placeholder", issue.eq("placeholder")),
                           ("email_typo_domain", issue.str.startswith("typo", na=False))):
            new = emails["email_suggestion"].where(mask & emails["email_suggestion"].notna(), emails["email"])
            parts.append(_log("customers", keys, "email", emails["email"], new, rule, mask))
        frame = _insert_after(frame, "email", dict(emails.items()))

    codes = None
    if "country" in frame.columns:
        before = frame["country"].astype("string")
        country = standardize_text(before)
        parts.append(_log("customers", keys, "country", before, country, "text_whitespace",
                          (before != country).fillna(False)))
        codes = country_codes(country)
        canonical = codes.map(COUNTRY_NAMES).astype("string")
        variant = (codes.notna() & (country != canonical)).fillna(False).astype(bool)
        parts.append(_log("customers", keys, "country_code", country, codes, "country_variant", variant))
        parts.append(_log("customers", keys, "country_code", country, codes, "country_unknown",
                          (country.notna() & codes.isna()).fillna(False)))
        frame = _insert_after(frame, "country", {"country": country, "country_code": codes})

    if "phone" in frame.columns:
        before = frame["phone"].astype("string")
        phones = standardize_phones(before, codes)
        parts.append(_log("customers", keys, "phone", before, phones["phone"], "phone_e164",
                          phones["phone_valid"] & (before != phones["phone"]).fillna(False)))
        # Flags log the value kept as new_value (the reason is in phone_issue).
        parts.append(_log("customers", keys, "phone", before, before, "phone_invalid",
                          ~phones["phone_valid"] & before.notna()))
        frame = _insert_after(frame, "phone", {"phone": phones["phone"], "phone_original": before,
                                               "phone_valid": phones["phone_valid"],
                                               "phone_issue": phones["phone_issue"]})

    if "postal_code" in frame.columns:
        before = frame["postal_code"].astype("string")
        postal = standardize_postal_codes(before, codes if codes is not None else pd.Series(
            pd.NA, index=frame.index, dtype="string"))
        for rule, mask in (("postal_leading_zero", postal["postal_code_fix"].eq("leading_zero")),
                           ("postal_format", postal["postal_code_fix"].eq("format")
                            | (postal["postal_code_fix"].isna() & (before != postal["postal_code"]).fillna(False)))):
            parts.append(_log("customers", keys, "postal_code", before, postal["postal_code"], rule, mask))
        invalid = postal["postal_code_issue"].str.startswith("invalid", na=False)
        parts.append(_log("customers", keys, "postal_code", before, postal["postal_code"],
                          "postal_invalid", invalid))
        frame = _insert_after(frame, "postal_code", {
            "postal_code": postal["postal_code"], "postal_code_valid": postal["postal_code_valid"],
            "postal_code_issue": postal["postal_code_issue"]})
    return frame, _concat_changes(parts)


def standardize_transactions(transactions: pd.DataFrame, run_date=None,
                             quantity_sign: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flag the suspicious transaction lines; returns (transactions, changes). No row is removed.

    Columns added: ``is_zero_amount``, ``is_future_date`` (dated after ``run_date``; all False
    without one), ``negative_kind``, ``matched_order_id``, ``negative_match``
    (:func:`classify_negative_amounts`), ``is_exact_duplicate`` and ``duplicate_of_line``
    (:func:`flag_exact_duplicates`, over the contract columns). Free-text columns are trimmed.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["A", "A", "A", "A"], "order_id": ["o1", "o1", "o1", "o2"],
    ...                    "date": pd.to_datetime(["2024-01-05"] * 3 + ["2024-02-01"]),
    ...                    "amount": [100.0, 100.0, 0.0, -999.0], "source_line": [2, 3, 4, 5]})
    >>> out, changes = standardize_transactions(tx)
    >>> changes[["row_key", "rule"]].values.tolist()
    [['o1 line 4', 'amount_zero'], ['o2 line 5', 'negative_error'], ['o1 line 3', 'exact_duplicate']]
    """
    frame, text_changes = standardize_table_text("transactions", transactions)
    keys = pd.Series(pd.NA, index=frame.index, dtype="string")  # built only for the rows logged
    parts = [text_changes]

    def logged(mask, column, old, new, rule):
        """Log rows of ``mask``; ``old``/``new`` may cover only those rows (cheaper on millions of lines)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return empty_changes()
        keys[mask] = record_keys("transactions", frame.loc[mask])
        return _log("transactions", keys, column, old, new, rule, mask)

    amount = frame["amount"]
    zero = _mask(amount == 0)
    frame["is_zero_amount"] = zero
    parts.append(logged(zero, "amount", amount[zero], amount[zero], "amount_zero"))

    future = pd.Series(False, index=frame.index)
    if run_date is not None:
        future = _mask(frame["date"].dt.normalize() > pd.Timestamp(run_date).normalize())
    frame["is_future_date"] = future
    dates = frame.loc[future, "date"].dt.strftime("%Y-%m-%d")
    parts.append(logged(future, "date", dates, dates, "future_date"))

    negatives = classify_negative_amounts(frame, quantity_sign=quantity_sign)
    for column in negatives.columns:
        frame[column] = negatives[column]
    negative = negatives["negative_kind"].notna()
    found = negatives[negative]
    outcome = (found["negative_kind"] + " (" + found["negative_match"]
               + (", order " + found["matched_order_id"]).fillna("") + ")")
    for rule in ("credit_note", "negative_error"):
        parts.append(logged(_mask(negatives["negative_kind"].eq(rule)), "amount", amount[negative], outcome, rule))

    duplicates = flag_exact_duplicates(frame, _canonical_columns("transactions", transactions))
    frame["is_exact_duplicate"] = duplicates["is_exact_duplicate"]
    frame["duplicate_of_line"] = duplicates["duplicate_of_line"]
    parts.append(logged(duplicates["is_exact_duplicate"], "*", None,
                        "duplicate of line " + duplicates["duplicate_of_line"].astype("string"), "exact_duplicate"))
    return frame, _concat_changes(parts)


def standardize_portfolio(tables: dict[str, pd.DataFrame], as_of=None, run_date=None,
                          quantity_sign: bool = True) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Standardize every table present; returns (tables, changes).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Typed tables (``Portfolio.tables`` or :func:`~portfolio_helpers.ingest.loaders.read_saved_tables`).
    as_of : Timestamp, optional
        Analysis date; transactions dated after it are flagged ``is_future_date`` (the loader
        already sets those aside, so normally none is left).
    run_date : Timestamp, optional
        Overrides ``as_of`` as the limit for future dates.
    quantity_sign : bool, default True
        See :func:`classify_negative_amounts`.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``customers`` through :func:`standardize_customers`, ``transactions`` through
        :func:`standardize_transactions`, the other contract tables with their free text
        trimmed; unknown tables unchanged. The input frames are not modified.
    changes : pandas.DataFrame
        The change log, columns :data:`CHANGE_COLUMNS`; ``rule`` is a key of :data:`RULES`.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {"transactions": pd.DataFrame({"customer_id": ["C1"], "date": pd.to_datetime(["2024-01-05"]),
    ...                                         "amount": [10.0], "source_line": [2]}),
    ...           "customers": pd.DataFrame({"customer_id": ["C1"], "country": ["Allemagne"], "source_line": [2]})}
    >>> out, changes = standardize_portfolio(tables, as_of=pd.Timestamp("2024-12-31"))
    >>> out["customers"]["country_code"].tolist(), changes["rule"].tolist()
    (['DE'], ['country_variant'])
    """
    limit = run_date if run_date is not None else as_of
    out: dict[str, pd.DataFrame] = {}
    parts = []
    for name, frame in tables.items():
        if name == "customers":
            out[name], changes = standardize_customers(frame)
        elif name == "transactions":
            out[name], changes = standardize_transactions(frame, run_date=limit, quantity_sign=quantity_sign)
        elif name in TABLES:
            out[name], changes = standardize_table_text(name, frame)
        else:
            out[name], changes = frame, empty_changes()
        parts.append(changes)
    return out, _concat_changes(parts)

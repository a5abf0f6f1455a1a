"""Duplicate customer detection: probabilistic record linkage with Splink on DuckDB.

The same customer is often filed twice in a CRM: typed by someone else, with a
typo, in capitals, without accents, with the phone number in another format or
the first and last names swapped. :func:`find_duplicates` finds those records,
groups them, picks the record that survives in each group and gives the
``customer_id -> survivor_id`` mapping that :func:`apply_mapping` applies to
every table without losing a single transaction.

How it works
------------
1. **Matching keys** (:func:`prepare_customers`, self-contained, in DuckDB):
   lower case, accents and punctuation removed, legal forms dropped (SARL,
   GmbH, S.r.l., Ltd, ...), name words sorted ("Martin Sophie" = "Sophie
   Martin"), phone reduced to the last 9 digits of the national number
   (``+33 6 12 34 56 78`` = ``06.12.34.56.78``), e-mail in lower case,
   address abbreviations spelled out (``av.`` = ``avenue``). A key shared by
   more than ``max_shared`` records ("info@...", a switchboard, a
   placeholder) is cleared: it identifies no one.
2. **Blocking** (:data:`BLOCKING_RULES`): only pairs sharing the normalized
   e-mail, or the phone, or the postal code and the first 3 letters of the
   name key, or the city and the whole name key, or the city and the address
   are compared, never all pairs. On 100,000 generated records this is about
   380,000 pairs instead of 5 billion, and it still reaches 99.95% of the
   planted duplicate pairs. (Blocking on the city and the name prefix, or on
   the name key alone, would add 1.9 million pairs for no gain.)
3. **Scoring**: a Fellegi-Sunter model (Splink 5 on DuckDB) compares name,
   e-mail, phone, address, postal code and city, each on a few levels (exact,
   one typo, ..., different; a missing value is neutral), and combines them
   into a match probability. Exact agreement on a name or a city counts more
   when the value is rare (term-frequency adjustment).
4. **Decision**: pairs at or above ``threshold_merge`` (0.95) are merged;
   pairs from ``threshold_review`` (0.5) up to it go to a review list for a
   human, not merged. A pair whose names clearly differ (a word of one name
   has no counterpart within two typos in the other) is never merged
   automatically, whatever its probability: it goes to review. This protects
   households and colleagues sharing an e-mail, a phone and an address.

Model training
--------------
* u probabilities (how often two *different* customers agree by chance) are
  estimated on one million random pairs (``estimate_u_using_random_sampling(
  ..., seed=seed)``: Splink 5 samples by hashing the ids with the seed, so the
  same seed gives the same model). An intermediate level seen only once or
  twice gets a noisy, tiny u: its Bayes factor is capped at the exact level's
  (a typo is never better evidence than exact agreement). Below
  :data:`MIN_RECORDS_TO_TRAIN` records there are too few pairs to estimate
  anything: fallback u values are used, without term-frequency adjustments.
* m probabilities (how often two records of the *same* customer agree) are
  fixed priors (:data:`M_PROBABILITIES`), not learnt by expectation
  maximisation: on a portfolio of a few thousand records with a hundred
  duplicates, EM on the pairs sharing an e-mail or a phone sees almost only
  matches and returns degenerate values (m = 1 for an exact phone, levels
  never observed left untrained), which turns a single differing field into
  an impossible match. The priors describe how a record gets re-typed (most
  often identical once normalized, sometimes one or two typos, rarely a
  different value) and hold from 2,000 to 100,000 records.
* Exact agreement on the normalized e-mail or phone is strong evidence: its u
  probability is fixed at 1e-6 (e-mail) and 1e-5 (phone: a household may
  share a landline) rather than estimated, a Bayes factor of about 10^5 to
  10^6. It is not a deterministic rule: a shared e-mail with a different name
  and nothing else in common is not merged.
* The probability that two random records are the same customer is the
  number of pairs sharing an e-mail or a phone key, divided by 0.8 (the share
  of duplicates assumed to share one) and by the number of pairs.

Groups, survivor and chaining guard
-----------------------------------
Groups are the connected components of the merge pairs. The survivor of a
group is its most complete record (most non-missing customer fields of the
data contract), then the most recent one (``last_activity`` when given, else
``acquisition_date``), then the smallest ``customer_id``. To avoid chaining
errors (A~B and B~C merged although A and C were never scored as the same
customer), a record stays in a group only if it is linked *directly* to the
survivor by a merge pair; otherwise it stays a customer of its own and its
pairs go to the review list. Nothing is merged on indirect evidence.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from portfolio_helpers.core.contract import TABLES

__all__ = [
    "MATCH_FIELDS",
    "BLOCKING_RULES",
    "M_PROBABILITIES",
    "DuplicateResult",
    "prepare_customers",
    "build_linker",
    "find_duplicates",
    "choose_survivors",
    "apply_mapping",
    "pairwise_scores",
]

#: Fields compared by the model, in the order used by ``fields_agreed``.
MATCH_FIELDS: tuple[str, ...] = ("name", "email", "phone", "address", "postal_code", "city")

#: Blocking rules over the keys of :func:`prepare_customers`: a pair is compared
#: only if it agrees on every key of at least one rule.
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("email_key",),
    ("phone_key",),
    ("postal_key", "name_prefix"),
    ("city_key", "name_key"),
    ("city_key", "address_key"),
)

#: m probability of each comparison level, per field, most specific level first
#: (the last one is "different"). Fixed priors: see the module notes.
M_PROBABILITIES: dict[str, dict[str, float]] = {
    "name": {"exact": 0.58, "one typo": 0.25, "two typos": 0.10, "words of one in the other": 0.05,
             "different": 0.02},
    "email": {"exact": 0.88, "same letters and digits": 0.03, "same before @, domain mistyped": 0.03,
              "different": 0.06},
    "phone": {"exact": 0.88, "one typo": 0.02, "different": 0.10},
    "address": {"exact": 0.80, "similar, same numbers": 0.10, "different": 0.10},
    "postal_code": {"exact": 0.92, "different": 0.08},
    "city": {"exact": 0.93, "one typo": 0.02, "different": 0.05},
}
# Levels from the top of each field that count as "agreed" in fields_agreed.
_AGREEING_LEVELS = {"name": 4, "email": 3, "phone": 2, "address": 2, "postal_code": 1, "city": 2}
# u probability used only when a level never occurs in the random sample (or fixed, see _FIXED_U).
_FALLBACK_U = {
    "name": (1e-4, 1e-5, 1e-4, 1e-4, 0.99),
    "email": (1e-6, 1e-6, 1e-5, 0.9999),
    "phone": (1e-5, 1e-4, 0.9999),
    "address": (1e-4, 1e-4, 0.999),
    "postal_code": (1e-2, 0.99),
    "city": (0.05, 1e-3, 0.95),
}
_FIXED_U = {"email": "exact", "phone": "exact"}
#: Below this many records the u probabilities are not estimated (too few random pairs to mean anything):
#: the fallback values are used, without term-frequency adjustments.
MIN_RECORDS_TO_TRAIN = 500
_RECALL_OF_EXACT_KEYS = 0.8  # share of the duplicates sharing an e-mail or phone key (for the prior)

PREPARED_COLUMNS: tuple[str, ...] = (
    "customer_id", "name_key", "name_key_alt", "name_prefix", "email_key", "email_alnum", "email_local",
    "email_domain", "phone_key", "address_key", "address_numbers", "postal_key", "city_key",
)
# Legal forms and joining words left out of the name key ("Guérin & Fils SARL" = "Guerin Fils").
LEGAL_FORMS: frozenset[str] = frozenset({
    "sa", "sas", "sasu", "sarl", "eurl", "sci", "snc", "scop", "sca", "selarl", "cie",
    "gmbh", "ag", "kg", "ohg", "ug", "ev", "mbh", "gbr", "co",
    "bv", "nv", "srl", "sprl", "bvba", "vzw", "asbl",
    "sl", "slu", "sll", "spa", "sapa",
    "ltd", "limited", "plc", "llc", "llp", "lp", "inc", "corp", "corporation", "incorporated",
    "et", "and", "und",
})
# Address words written in several ways, mapped onto one spelling.
ADDRESS_WORDS: dict[str, str] = {
    "av": "avenue", "ave": "avenue", "avda": "avenida", "bd": "boulevard", "bld": "boulevard",
    "blvd": "boulevard", "r": "rue", "pl": "place", "ch": "chemin", "imp": "impasse", "rte": "route",
    "fg": "faubourg", "str": "strasse", "st": "street", "rd": "road", "dr": "drive", "ln": "lane",
    "sq": "square", "c": "calle", "cl": "calle", "v": "via", "p": "piazza", "pza": "piazza",
}
CITY_WORDS: dict[str, str] = {"st": "saint", "ste": "sainte"}
PHONE_DIGITS = 9  # national digits kept: enough to identify a line, robust to leftover prefixes
NAME_PREFIX_LENGTH = 3

PAIR_COLUMNS = ["customer_id_l", "customer_id_r", "match_probability", "fields_agreed", "decision"]
GROUP_COLUMNS = ["group_id", "customer_id", "survivor_id", "match_probability", "fields_agreed"]
_GAMMA = {name: f"gamma_{name}" for name in MATCH_FIELDS}
_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get


# --------------------------------------------------------------------------------------------------
# Matching keys
# --------------------------------------------------------------------------------------------------


def _sql_list(values) -> str:
    return "[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]"


def _sql_case(mapping: dict[str, str], var: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(mapping.items()))
    return f"CASE {var} {whens} ELSE {var} END"


def _fold(col: str) -> str:
    """SQL: lower case, accents stripped, a few ligatures spelled out."""
    text = f"CAST({col} AS VARCHAR)"
    for letter, spelled in (("ß", "ss"), ("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae")):
        text = f"replace({text}, '{letter}', '{spelled}')"
    return f"strip_accents(lower({text}))"


def _calling_code_pattern() -> str:
    # Country calling codes form a prefix code: at most one of them starts a number.
    codes = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    return "^(" + "|".join(codes) + ")"


def _prepare_sql(max_shared: int) -> str:
    words = "string_split(trim(regexp_replace({x}, '[^a-z0-9]+', ' ', 'g')), ' ')"
    name_words = words.format(x=f"regexp_replace({_fold('name')}, '[.''’`]', '', 'g')")
    address_text = (f"regexp_replace(regexp_replace({_fold('address')}, '[.''’`]', ' ', 'g'), "
                    r"'([a-z])str\b', '\1strasse', 'g')")
    address_words = words.format(x=address_text)
    city_words = words.format(x=_fold("city"))
    email = rf"regexp_replace({_fold('email')}, '\s+', '', 'g')"
    email_alnum = f"regexp_replace({email}, '[^a-z0-9]', '', 'g')"
    digits = "regexp_replace(CAST(phone AS VARCHAR), '[^0-9]', '', 'g')"
    international = r"regexp_matches(CAST(phone AS VARCHAR), '^\s*(\+|00)')"
    national = (f"ltrim(CASE WHEN {international} THEN regexp_replace(regexp_replace({digits}, '^00', ''), "
                f"'{_calling_code_pattern()}', '') ELSE {digits} END, '0')")
    keys = f"""
        SELECT
            CAST(customer_id AS VARCHAR) AS customer_id,
            list_filter({name_words},
                lambda w: w <> '' AND NOT list_contains({_sql_list(LEGAL_FORMS)}, w)) AS name_words,
            CASE WHEN regexp_full_match({email}, '[a-z0-9._%+''-]+@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{{2,}}')
                 THEN {email} END AS email_key,
            CASE WHEN contains({email}, '.') AND length({email_alnum}) >= 6 THEN {email_alnum} END AS email_alnum,
            CASE WHEN contains({email}, '@') AND length(split_part({email}, '@', 1)) >= 3
                 THEN split_part({email}, '@', 1) END AS email_local,
            nullif(split_part({email}, '@', 2), '') AS email_domain,
            right({national}, {PHONE_DIGITS}) AS phone_digits,
            nullif(array_to_string(list_transform(list_filter({address_words}, lambda w: w <> ''),
                lambda w: {_sql_case(ADDRESS_WORDS, 'w')}), ' '), '') AS address_key,
            nullif(ltrim(regexp_replace(upper(CAST(postal_code AS VARCHAR)), '[^A-Z0-9]', '', 'g'), '0'), '')
                AS postal_key,
            nullif(array_to_string(list_transform({city_words}, lambda w: {_sql_case(CITY_WORDS, 'w')}), ''),
                   '') AS city_key
        FROM customers_input
    """

    def unless_shared(col: str) -> str:
        return f"CASE WHEN count({col}) OVER (PARTITION BY {col}) <= {max_shared} THEN {col} END"

    # A phone of fewer than 6 digits or of one repeated digit (0000000000) is a placeholder.
    phone = ("CASE WHEN length(phone_digits) >= 6 "
             "AND length(replace(phone_digits, left(phone_digits, 1), '')) > 0 THEN phone_digits END")
    return f"""
        WITH keys AS ({keys}),
        phones AS (SELECT * EXCLUDE (phone_digits), {phone} AS phone_key FROM keys)
        SELECT
            customer_id,
            nullif(array_to_string(list_sort(name_words), ' '), '') AS name_key,
            nullif(array_to_string(list_transform(list_sort(list_transform(name_words, lambda w: reverse(w))),
                lambda w: reverse(w)), ' '), '') AS name_key_alt,
            left(array_to_string(list_sort(name_words), ' '), {NAME_PREFIX_LENGTH}) AS name_prefix,
            {unless_shared("email_key")} AS email_key,
            {unless_shared("email_alnum")} AS email_alnum,
            {unless_shared("email_local")} AS email_local,
            email_domain,
            {unless_shared("phone_key")} AS phone_key,
            address_key,
            nullif(trim(regexp_replace(address_key, '[^0-9]+', ' ', 'g')), '') AS address_numbers,
            postal_key,
            city_key
        FROM phones
        ORDER BY customer_id
    """


def _as_arrow(frame: pd.DataFrame, columns: list[str]) -> pa.Table:
    """Selected columns as Arrow strings (a column absent from ``frame`` is all-null)."""
    data = {}
    for col in columns:
        if col in frame.columns:
            data[col] = pa.array(frame[col].astype("string[pyarrow]").array).cast(pa.string())
        else:
            data[col] = pa.nulls(len(frame), type=pa.string())
    return pa.table(data)


def _connect() -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB that never installs or loads extensions (nothing is downloaded); no progress bar."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    return con


def _check_ids(customers: pd.DataFrame) -> None:
    if "customer_id" not in customers.columns:
        raise KeyError(f"customers has no customer_id column; columns: {', '.join(map(str, customers.columns))}")
    ids = customers["customer_id"]
    if ids.isna().any():
        raise ValueError(f"{int(ids.isna().sum())} customer record(s) have no customer_id")
    if ids.astype("string").duplicated().any():
        repeated = ids[ids.astype("string").duplicated()].astype(str).unique()[:5]
        raise ValueError(f"customer_id must be unique in customers; repeated: {', '.join(repeated)}")


def prepare_customers(customers: pd.DataFrame, max_shared: int = 10) -> pd.DataFrame:
    """Matching keys of each customer record, normalized for comparison.

    Parameters
    ----------
    customers : DataFrame
        The contract's customers table: ``customer_id`` (unique) and any of
        ``name, email, phone, address, postal_code, city``. A missing column
        counts as empty.
    max_shared : int, default=10
        A key (e-mail, phone) shared by more records than this is cleared: a
        generic ``info@`` address, a switchboard or a placeholder identifies
        no one.

    Returns
    -------
    DataFrame
        One row per customer, sorted by ``customer_id``; string columns
        (null when there is nothing usable):

        ``name_key``
            Name in lower case without accents, punctuation or legal forms
            (SARL, GmbH, S.r.l., Ltd, ...), words sorted alphabetically.
        ``name_prefix``
            First 3 characters of ``name_key`` (for blocking).
        ``email_key``
            Valid e-mail address in lower case, spaces removed.
        ``email_alnum``
            Letters and digits of the e-mail, so that the invalid
            ``jean.roux.mail.fr`` still matches ``jean.roux@mail.fr``.
        ``email_local``, ``email_domain``
            Parts before and after the ``@``.
        ``phone_key``
            Last 9 digits of the national number: international prefix
            (``+33``, ``0033``) and trunk zero removed, so
            ``+33 6 12 34 56 78`` = ``06.12.34.56.78``.
        ``address_key``
            Address words normalized, abbreviations spelled out (``av.`` ->
            ``avenue``, ``str.`` -> ``strasse``, ``Rd`` -> ``road``, ...);
            ``address_numbers`` holds its numbers.
        ``postal_key``
            Postal code in upper case, letters and digits only, leading zeros
            removed.
        ``city_key``
            City without accents, spaces or punctuation (``St-Étienne`` =
            ``saintetienne``).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["C1", "C2"],
    ...     "name": ["Sophie Martin", "MARTIN  Sophie"],
    ...     "email": ["sophie.martin@mail.fr", "Sophie.Martin@Mail.fr"],
    ...     "phone": ["06 12 34 56 78", "+33 6-12-34-56-78"],
    ...     "address": ["12 avenue Jean Jaurès", "12 av. Jean Jaures"],
    ...     "city": ["Saint-Étienne", "ST ETIENNE"]})
    >>> keys = prepare_customers(customers)
    >>> keys[["name_key", "email_key", "phone_key"]].to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'name_key': ['martin sophie', 'martin sophie'],
     'email_key': ['sophie.martin@mail.fr', 'sophie.martin@mail.fr'],
     'phone_key': ['612345678', '612345678']}
    >>> keys[["address_key", "city_key"]].drop_duplicates().to_dict("records")
    [{'address_key': '12 avenue jean jaures', 'city_key': 'saintetienne'}]
    >>> company = pd.DataFrame({"customer_id": ["C3"], "name": ["Giordano & Figli S.r.l."]})
    >>> prepare_customers(company)["name_key"][0]
    'figli giordano'
    """
    _check_ids(customers)
    con = _connect()
    try:
        con.register("customers_input", _as_arrow(customers, ["customer_id", *MATCH_FIELDS]))
        table = con.sql(_prepare_sql(int(max_shared))).to_arrow_table()
    finally:
        con.close()
    return table.to_pandas(types_mapper=_ARROW_STRINGS)


# --------------------------------------------------------------------------------------------------
# The Splink model
# --------------------------------------------------------------------------------------------------


def _close(columns: str | tuple[str, ...], edits: int, jaro_winkler: float):
    """Level: at most ``edits`` typos (Damerau-Levenshtein: insert, delete, replace or swap letters).

    With several columns (spellings of the same key), any of them may be close.
    The Jaro-Winkler similarity is tested first: it is cheap and far below the
    threshold for most pairs, so the slow edit distance is only computed on
    plausible pairs. Values of normal length within ``edits`` typos pass it.
    """
    import splink.comparison_level_library as cll

    columns = (columns,) if isinstance(columns, str) else columns
    sql = " OR ".join(f"(jaro_winkler_similarity({c}_l, {c}_r) >= {jaro_winkler} AND "
                      f"damerau_levenshtein({c}_l, {c}_r) <= {edits})" for c in columns)
    return cll.CustomLevel(sql, f"{columns[0]} within {edits} typo{'s' if edits > 1 else ''}")


def _comparisons(term_frequencies: bool = True) -> list:
    """One Splink comparison per field of :data:`MATCH_FIELDS`, with the m priors and fallback u."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    words_l, words_r = "string_split(name_key_l, ' ')", "string_split(name_key_r, ' ')"
    levels = {
        "name": [
            cll.ExactMatchLevel("name_key"),
            _close(("name_key", "name_key_alt"), 1, 0.7),
            _close(("name_key", "name_key_alt"), 2, 0.8),
            cll.CustomLevel(f"list_has_all({words_l}, {words_r}) OR list_has_all({words_r}, {words_l})",
                            "the words of one name all in the other"),
            cll.ElseLevel(),
        ],
        "email": [
            cll.ExactMatchLevel("email_key"),
            cll.ExactMatchLevel("email_alnum"),
            # Same part before the @ with the domain missing or mistyped (gmial.com). Not jdupont@gmail.com
            # vs jdupont@free.fr: often two namesakes.
            cll.CustomLevel("email_local_l = email_local_r AND (email_domain_l IS NULL OR email_domain_r IS NULL "
                            "OR damerau_levenshtein(email_domain_l, email_domain_r) <= 2)",
                            "same part before @, domain missing or mistyped"),
            cll.ElseLevel(),
        ],
        "phone": [cll.ExactMatchLevel("phone_key"), _close("phone_key", 1, 0.8), cll.ElseLevel()],
        "address": [
            cll.ExactMatchLevel("address_key"),
            # Close spelling with the same numbers: 12 rue X and 14 rue X are neighbours, not one address.
            cll.CustomLevel("jaro_winkler_similarity(address_key_l, address_key_r) >= 0.92 AND "
                            "address_numbers_l IS NOT DISTINCT FROM address_numbers_r",
                            "similar address, same numbers"),
            cll.ElseLevel(),
        ],
        "postal_code": [cll.ExactMatchLevel("postal_key"), cll.ElseLevel()],
        "city": [cll.ExactMatchLevel("city_key"), _close("city_key", 1, 0.7), cll.ElseLevel()],
    }
    null_levels = {
        "name": cll.NullLevel("name_key"),
        "email": cll.CustomLevel("email_alnum_l IS NULL OR email_alnum_r IS NULL",
                                 "e-mail missing").configure(is_null_level=True),
        "phone": cll.NullLevel("phone_key"),
        "address": cll.NullLevel("address_key"),
        "postal_code": cll.NullLevel("postal_key"),
        "city": cll.NullLevel("city_key"),
    }
    tf_columns = {"name": "name_key", "city": "city_key"}  # exact agreement on a rare name counts more
    comparisons = []
    for name in MATCH_FIELDS:
        configured = [null_levels[name]]
        for i, (level, (label, m), u) in enumerate(zip(levels[name], M_PROBABILITIES[name].items(),
                                                       _FALLBACK_U[name], strict=True)):
            options = {"m_probability": m, "u_probability": u, "fix_m_probability": True,
                       "fix_u_probability": _FIXED_U.get(name) == label, "label_for_charts": label}
            if i == 0 and name in tf_columns and term_frequencies:
                options["tf_adjustment_column"] = tf_columns[name]
            configured.append(level.configure(**options))
        comparisons.append(cl.CustomComparison(configured, output_column_name=name))
    return comparisons


def _prior_match_probability(prepared: pd.DataFrame) -> float:
    """Probability that two random records are the same customer.

    Pairs sharing an e-mail or phone key, divided by the assumed share of
    duplicates they find and by the number of pairs.
    """
    n_pairs = len(prepared) * (len(prepared) - 1) / 2
    found = []
    for key in ("email_key", "phone_key"):
        keyed = prepared[["customer_id", key]].dropna()
        joined = keyed.merge(keyed, on=key, suffixes=("_l", "_r"))
        ordered = joined["customer_id_l"] < joined["customer_id_r"]
        found.append(joined.loc[ordered, ["customer_id_l", "customer_id_r"]])
    n_found = len(pd.concat(found).drop_duplicates())
    return float(min(max(n_found / _RECALL_OF_EXACT_KEYS, 1.0) / n_pairs, 0.5))


def build_linker(prepared: pd.DataFrame, seed: int = 42, max_pairs: float = 1e6, db_api=None):
    """A trained Splink linker over prepared customer keys.

    Parameters
    ----------
    prepared : DataFrame
        Output of :func:`prepare_customers` (at least 2 records).
    seed : int, default=42
        Seed of the random sampling of pairs behind the u probabilities: the
        same seed gives the same model.
    max_pairs : float, default=1e6
        Random pairs sampled to estimate the u probabilities.
    db_api : splink.DuckDBAPI, optional
        Splink's database; by default a new in-memory DuckDB that never
        installs or loads extensions (no download).

    Returns
    -------
    splink.Linker
        Ready for ``linker.inference.predict()``; inspect the model with
        ``linker.misc.save_model_to_json()`` or ``linker.visualisations``.

    Notes
    -----
    m probabilities are the fixed priors :data:`M_PROBABILITIES`; u
    probabilities are estimated by ``estimate_u_using_random_sampling`` with
    ``seed``, except exact e-mail and phone agreement (fixed, strong
    evidence); the prior match probability comes from the pairs sharing an
    e-mail or a phone key. The module notes explain why EM is not used.
    """
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    if len(prepared) < 2:
        raise ValueError("at least 2 customer records are needed to look for duplicates")
    trained = len(prepared) >= MIN_RECORDS_TO_TRAIN
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="customer_id",
        comparisons=_comparisons(term_frequencies=trained),
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in BLOCKING_RULES],
        probability_two_random_records_match=_prior_match_probability(prepared),
        retain_matching_columns=True,  # keeps the gamma_* columns behind fields_agreed
        retain_intermediate_calculation_columns=False,
    )
    db_api = db_api if db_api is not None else DuckDBAPI(_connect())
    frame = db_api.register(pa.Table.from_pandas(prepared[list(PREPARED_COLUMNS)], preserve_index=False),
                            table_name="customer_keys")
    with _quiet_splink():
        linker = Linker(frame, settings, log_level=None)
        if not trained:
            return linker
        # One pass over max_pairs random pairs (the default probing in chunks is 2-3 times slower here).
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, num_chunks=1,
                                                         min_count_per_level=None)
        # A rare fuzzy level seen once or twice in the sample gets a tiny, noisy u: cap its evidence at
        # that of exact agreement by rebuilding the linker from the edited model (public JSON form).
        linker = Linker(frame, _cap_fuzzy_evidence(linker.misc.save_model_to_json()), log_level=None)
    return linker


def _cap_fuzzy_evidence(model: dict) -> dict:
    """Raise the u of each intermediate level so that its Bayes factor m/u is at most the exact level's."""
    for comparison in model["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        exact = levels[0]
        top = exact["m_probability"] / exact["u_probability"]
        for level in levels[1:-1]:
            level["u_probability"] = max(level["u_probability"], level["m_probability"] / top)
    return model


@contextlib.contextmanager
def _quiet_splink():
    """Silence Splink's training chatter (levels not observed, ...); errors still show."""
    splink_logger = logging.getLogger("splink")
    previous = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(previous)


def _model_table(linker) -> tuple[pd.DataFrame, float]:
    """The trained parameters: one row per comparison level (null levels left out)."""
    model = linker.misc.save_model_to_json()
    rows = [{"field": comparison["output_column_name"], "level": level.get("label_for_charts"),
             "m_probability": level.get("m_probability"), "u_probability": level.get("u_probability")}
            for comparison in model["comparisons"] for level in comparison["comparison_levels"]
            if not level.get("is_null_level")]
    table = pd.DataFrame(rows, columns=["field", "level", "m_probability", "u_probability"])
    table["bayes_factor"] = table["m_probability"] / table["u_probability"]
    return table, float(model["probability_two_random_records_match"])


# Names both given and clearly different: some word (3 letters or more) of the name with fewer words has no
# counterpart within two typos (or Jaro-Winkler 0.8) in the other name. "Léna Cadiou" vs "Ronan Cadiou" differ;
# "Multiflux Medizintechnik AG" vs "Multfilux Medizintechnik Ae" do not.
_WORD_HAS_COUNTERPART = ("list_bool_or(list_transform({other}, lambda b: damerau_levenshtein(a, b) <= 2 "
                         "OR jaro_winkler_similarity(a, b) >= 0.8))")
_NAMES_DIFFER = f"""(name_key_l IS NOT NULL AND name_key_r IS NOT NULL AND NOT coalesce(CASE
    WHEN len(words_l) <= len(words_r)
    THEN list_bool_and(list_transform(words_l, lambda a: {_WORD_HAS_COUNTERPART.format(other="words_r")}))
    ELSE list_bool_and(list_transform(words_r, lambda a: {_WORD_HAS_COUNTERPART.format(other="words_l")}))
    END, TRUE))"""


def _score_pairs(prepared: pd.DataFrame, threshold: float, seed: int):
    """Scored pairs at or above ``threshold`` (ids, probability, fields agreed), and the model table."""
    from splink import DuckDBAPI

    db_api = DuckDBAPI(_connect())
    linker = build_linker(prepared, seed=seed, db_api=db_api)
    with _quiet_splink():
        predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    agreed = []
    for name in MATCH_FIELDS:
        # Splink numbers the non-null levels from n-1 (first) down to 0 ("different").
        lowest = len(M_PROBABILITIES[name]) - _AGREEING_LEVELS[name]
        agreed.append(f"CASE WHEN {_GAMMA[name]} >= {lowest} THEN '{name}' END")
    sql = f"""
        SELECT least(customer_id_l, customer_id_r) AS customer_id_l,
               greatest(customer_id_l, customer_id_r) AS customer_id_r,
               match_probability,
               concat_ws(', ', {", ".join(agreed)}) AS fields_agreed,
               {_NAMES_DIFFER} AS names_differ
        FROM (
            SELECT *,
                   list_filter(string_split(name_key_l, ' '), lambda w: length(w) >= 3) AS words_l,
                   list_filter(string_split(name_key_r, ' '), lambda w: length(w) >= 3) AS words_r
            FROM {predictions.physical_name}
        )
        ORDER BY match_probability DESC, customer_id_l, customer_id_r
    """
    pairs = db_api.duckdb_con.sql(sql).to_arrow_table().to_pandas(types_mapper=_ARROW_STRINGS)
    pairs = pairs.drop_duplicates(["customer_id_l", "customer_id_r"], ignore_index=True)
    model, prior = _model_table(linker)
    db_api.duckdb_con.close()
    return pairs, model, prior


# --------------------------------------------------------------------------------------------------
# Groups and survivors
# --------------------------------------------------------------------------------------------------


def _completeness(customers: pd.DataFrame) -> np.ndarray:
    fields = [c for c in TABLES["customers"].column_names if c != "customer_id" and c in customers.columns]
    return customers[fields].notna().sum(axis=1).to_numpy(dtype="int64")


def _recency(customers: pd.DataFrame, last_activity) -> np.ndarray:
    """Latest activity date of each record as datetime64[ns] (NaT when unknown)."""
    if last_activity is None:
        if "acquisition_date" not in customers.columns:
            return np.full(len(customers), np.datetime64("NaT"), dtype="datetime64[ns]")
        dates = customers["acquisition_date"]
    elif isinstance(last_activity, str):
        dates = customers[last_activity]
    else:
        dates = customers["customer_id"].map(pd.Series(last_activity))
    dates = pd.to_datetime(pd.Series(dates.to_numpy()), errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.to_numpy(dtype="datetime64[ns]")


def _ranked(customers: pd.DataFrame, last_activity=None) -> pd.Series:
    """Rank of each record (0 = best): most complete, then most recent, then smallest id; indexed by id."""
    ids = customers["customer_id"].astype("string").to_numpy(dtype=object)
    recency = _recency(customers, last_activity)
    newest_first = -np.where(np.isnat(recency), np.iinfo("int64").min + 1, recency.astype("int64"))
    order = np.lexsort((ids, newest_first, -_completeness(customers)))
    rank = np.empty(len(ids), dtype="int64")
    rank[order] = np.arange(len(ids))
    return pd.Series(rank, index=ids)


def choose_survivors(customers: pd.DataFrame, groups: pd.Series, last_activity=None) -> pd.Series:
    """The surviving record of each group.

    Parameters
    ----------
    customers : DataFrame
        Customer records (``customer_id`` and the contract fields).
    groups : Series
        Group label of each record, indexed by ``customer_id``.
    last_activity : str, Series or None
        Latest activity date of each record: a column of ``customers`` or a
        Series indexed by ``customer_id`` (e.g. last purchase date). When
        ``None``, ``acquisition_date`` is used.

    Returns
    -------
    Series
        ``survivor_id`` indexed like ``groups``.

    Notes
    -----
    The survivor is the most complete record (most non-missing customer fields
    of the data contract); ties go to the most recent record (missing dates
    last), then to the smallest ``customer_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["C1", "C2", "C3"],
    ...     "name": ["Ana Ruiz", "Ana Ruiz", "Ana Ruiz"],
    ...     "email": [None, "ana@ruiz.es", "ana@ruiz.es"],
    ...     "acquisition_date": pd.to_datetime(["2024-01-01", "2023-01-01", "2024-06-01"])})
    >>> choose_survivors(customers, pd.Series(["g", "g", "g"], index=["C1", "C2", "C3"])).to_dict()
    {'C1': 'C3', 'C2': 'C3', 'C3': 'C3'}
    """
    groups = pd.Series(groups)
    rank = _ranked(customers, last_activity).reindex(groups.index.astype("string"))
    members = pd.DataFrame({"customer_id": groups.index.to_numpy(), "group": groups.to_numpy(),
                            "rank": rank.to_numpy()})
    best = members.sort_values("rank", kind="stable").groupby("group", sort=False)["customer_id"].first()
    return pd.Series(members["group"].map(best).to_numpy(), index=groups.index, name="survivor_id")


def _groups(customers: pd.DataFrame, merge: pd.DataFrame, last_activity) -> pd.DataFrame:
    """Groups from the merge pairs: connected components, then only members linked directly to the survivor."""
    ids = customers["customer_id"].astype("string").to_numpy(dtype=object)
    position = pd.Series(np.arange(ids.size), index=ids)
    left = position.reindex(merge["customer_id_l"].to_numpy()).to_numpy()
    right = position.reindex(merge["customer_id_r"].to_numpy()).to_numpy()
    graph = coo_matrix((np.ones(left.size), (left, right)), shape=(ids.size, ids.size))
    _, labels = connected_components(graph, directed=False)
    in_group = np.bincount(labels)[labels] > 1
    component = pd.Series(labels[in_group], index=ids[in_group])
    survivor = choose_survivors(customers, component, last_activity)

    both_ways = pd.concat([
        merge.rename(columns={"customer_id_l": "customer_id", "customer_id_r": "survivor_id"}),
        merge.rename(columns={"customer_id_r": "customer_id", "customer_id_l": "survivor_id"}),
    ], ignore_index=True)
    members = pd.DataFrame({"customer_id": survivor.index.to_numpy(dtype=object),
                            "survivor_id": survivor.to_numpy(dtype=object)}).astype("string")
    direct = members.merge(both_ways, on=["customer_id", "survivor_id"], how="inner")
    direct = direct[["customer_id", "survivor_id", "match_probability", "fields_agreed"]]
    kept = np.sort(direct["survivor_id"].unique().to_numpy(dtype=object))
    heads = pd.DataFrame({"customer_id": kept, "survivor_id": kept, "match_probability": np.nan,
                          "fields_agreed": ""})
    groups = pd.concat([heads.astype(direct.dtypes.to_dict()), direct], ignore_index=True)
    groups["is_member"] = groups["customer_id"] != groups["survivor_id"]
    groups = groups.sort_values(["survivor_id", "is_member", "customer_id"], ignore_index=True)
    numbers = pd.factorize(groups["survivor_id"])[0] + 1
    width = max(4, len(str(len(kept))))
    groups.insert(0, "group_id", pd.array([f"G{n:0{width}d}" for n in numbers], dtype="string"))
    groups["match_probability"] = groups["match_probability"].astype("float64")
    return groups[GROUP_COLUMNS]


# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------


@dataclass
class DuplicateResult:
    """Output of :func:`find_duplicates`.

    Attributes
    ----------
    pairs : DataFrame
        Scored pairs at or above ``threshold_review``: ``customer_id_l,
        customer_id_r, match_probability, fields_agreed, decision``
        (``"merge"`` at or above ``threshold_merge`` unless the names clearly
        differ, else ``"review"``), most likely first. ``fields_agreed`` lists
        the fields that agreed exactly or within a typo, e.g. ``"name, email,
        postal_code, city"``.
    groups : DataFrame
        One row per record of a duplicate group, survivor first: ``group_id,
        customer_id, survivor_id, match_probability, fields_agreed``
        (probability and fields of the record's pair with the survivor;
        missing and empty on the survivor's own row).
    mapping : DataFrame
        ``customer_id, survivor_id`` for every customer record; survivors and
        records without duplicates map to themselves
        (``exports/id_mapping.csv``).
    review : DataFrame
        Pairs for a human: scored at or above ``threshold_review`` but whose
        records were not merged (``exports/duplicates_review.csv``; same
        columns as ``pairs``).
    model : DataFrame
        The trained model: ``field, level, m_probability, u_probability,
        bayes_factor``.
    prior : float
        Probability that two random records are the same customer.
    thresholds : dict
        ``threshold_merge``, ``threshold_review`` and ``seed`` used.
    """

    pairs: pd.DataFrame
    groups: pd.DataFrame
    mapping: pd.DataFrame
    review: pd.DataFrame
    model: pd.DataFrame = field(default_factory=pd.DataFrame)
    prior: float = float("nan")
    thresholds: dict = field(default_factory=dict)

    @property
    def n_merged(self) -> int:
        """Records merged into another one (no longer customers of their own)."""
        return int((self.mapping["customer_id"] != self.mapping["survivor_id"]).sum())

    def duplicates_table(self) -> pd.DataFrame:
        """The ``exports/duplicates.csv`` view: one row per record of a duplicate group."""
        return self.groups[GROUP_COLUMNS].copy()


def _survivor(ids: pd.Series, survivor_of: pd.Series) -> np.ndarray:
    """Survivor of each id (string Series indexed by id); ids without one are their own survivor."""
    ids = ids.astype("string")
    found = survivor_of.astype("string").reindex(ids.to_numpy())
    return np.where(found.notna().to_numpy(), found.to_numpy(dtype=object), ids.to_numpy(dtype=object))


def _empty_pairs() -> pd.DataFrame:
    pairs = pd.DataFrame({col: pd.Series(dtype="string") for col in PAIR_COLUMNS})
    return pairs.astype({"match_probability": "float64"})


def find_duplicates(customers: pd.DataFrame, threshold_merge: float = 0.95, threshold_review: float = 0.5,
                    seed: int = 42, *, last_activity=None, require_name_agreement: bool = True,
                    max_shared: int = 10) -> DuplicateResult:
    """Find duplicate customer records, group them and choose a survivor per group.

    Parameters
    ----------
    customers : DataFrame
        The contract's customers table (``customer_id`` unique; ``name``,
        ``email``, ``phone``, ``address``, ``postal_code``, ``city`` compared
        when present).
    threshold_merge : float, default=0.95
        Pairs with a match probability at or above this are merged.
    threshold_review : float, default=0.5
        Pairs from this probability up to ``threshold_merge`` go to the review
        list, not merged.
    seed : int, default=42
        Seed of the random sampling in the model training: the same seed and
        data give the same result.
    last_activity : str, Series or None
        Tie-break for the survivor: a column of ``customers`` or a Series
        indexed by ``customer_id`` with each record's latest activity date;
        default ``acquisition_date``. See :func:`choose_survivors`.
    require_name_agreement : bool, default=True
        Never merge automatically two records whose names are both given and
        clearly differ (a word of one name has no counterpart within two typos
        in the other): the pair goes to review whatever its probability.
        Protects households and colleagues sharing an e-mail, a phone and an
        address ("Léna Cadiou" and "Ronan Cadiou").
    max_shared : int, default=10
        See :func:`prepare_customers`.

    Returns
    -------
    DuplicateResult
        ``pairs``, ``groups``, ``mapping``, ``review``, ``model`` and
        ``duplicates_table()``.

    Notes
    -----
    About 4 s for the 2,463 records of the sample and 10 s for 100,000 records
    on two cores (``benchmarks/bench_dedup.py``); a good part is the estimation
    of the u probabilities on a million random pairs, whatever the size of the
    data. On the sample, pairwise precision and recall against ``truth.json``
    are both 1.0 (112 duplicate pairs), with 2 pairs left for review.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["C1", "C2", "C3"],
    ...     "name": ["Ana Ruiz", "RUIZ Ána", "Bo Li"],
    ...     "email": ["ana.ruiz@correo.es", "Ana.Ruiz@Correo.es", "bo.li@correo.es"],
    ...     "phone": ["+34 612 345 678", "612345678", None]})
    >>> result = find_duplicates(customers)
    >>> result.pairs[["customer_id_l", "customer_id_r", "fields_agreed", "decision"]].to_dict("records")
    [{'customer_id_l': 'C1', 'customer_id_r': 'C2', 'fields_agreed': 'name, email, phone', 'decision': 'merge'}]
    >>> result.mapping.to_dict("list")
    {'customer_id': ['C1', 'C2', 'C3'], 'survivor_id': ['C1', 'C1', 'C3']}

    On the committed sample (a few seconds):

    >>> from portfolio_helpers.ingest.loaders import load_portfolio
    >>> customers = load_portfolio("data/sample/portfolio.yml").tables["customers"]  # doctest: +SKIP
    >>> result = find_duplicates(customers, seed=42)  # doctest: +SKIP
    >>> result.n_merged, len(result.review)  # doctest: +SKIP
    (96, 2)
    >>> result.groups.loc[1, ["customer_id", "survivor_id", "fields_agreed"]].tolist()  # doctest: +SKIP
    ['C002368', 'C000004', 'name, email, phone, address, postal_code, city']
    """
    if not 0 < threshold_review <= threshold_merge <= 1:
        raise ValueError("thresholds must satisfy 0 < threshold_review <= threshold_merge <= 1, got "
                         f"threshold_review={threshold_review}, threshold_merge={threshold_merge}")
    prepared = prepare_customers(customers, max_shared=max_shared)
    model = pd.DataFrame(columns=["field", "level", "m_probability", "u_probability", "bayes_factor"])
    prior = 0.0
    pairs = _empty_pairs().assign(names_differ=pd.Series(dtype=bool))
    if len(prepared) >= 2:
        pairs, model, prior = _score_pairs(prepared, threshold_review, seed)
    merge = pairs["match_probability"] >= threshold_merge
    if require_name_agreement:
        merge &= ~pairs["names_differ"].fillna(False).astype(bool)
    pairs["decision"] = pd.array(np.where(merge, "merge", "review"), dtype="string")
    pairs = pairs[PAIR_COLUMNS].reset_index(drop=True)

    groups = _groups(customers, pairs[pairs["decision"] == "merge"], last_activity)
    survivor_of = pd.Series(groups["survivor_id"].to_numpy(dtype=object), dtype="string",
                            index=groups["customer_id"].to_numpy(dtype=object))
    ids = customers["customer_id"].astype("string")
    mapping = pd.DataFrame({"customer_id": ids.to_numpy(), "survivor_id": _survivor(ids, survivor_of)})
    mapping = mapping.astype("string").sort_values("customer_id", ignore_index=True)

    apart = _survivor(pairs["customer_id_l"], survivor_of) != _survivor(pairs["customer_id_r"], survivor_of)
    review = pairs[apart].reset_index(drop=True)
    thresholds = {"threshold_merge": threshold_merge, "threshold_review": threshold_review, "seed": seed}
    return DuplicateResult(pairs=pairs, groups=groups, mapping=mapping, review=review, model=model, prior=prior,
                           thresholds=thresholds)


# --------------------------------------------------------------------------------------------------
# Applying the mapping and measuring it
# --------------------------------------------------------------------------------------------------


def apply_mapping(tables: dict[str, pd.DataFrame], mapping: pd.DataFrame,
                  fill_missing: bool = True) -> dict[str, pd.DataFrame]:
    """Replace each merged customer id by its survivor's in every table.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Tables of a portfolio (``transactions``, ``customers``, ``payments``,
        ``tickets``, ``leads``, ...). Tables without a ``customer_id`` column
        are returned unchanged.
    mapping : DataFrame
        ``customer_id, survivor_id`` (``DuplicateResult.mapping``). Ids not in
        the mapping are left as they are.
    fill_missing : bool, default=True
        In ``customers``, fill each survivor's missing fields from the records
        merged into it (best ranked first, as for the survivor choice) and set
        its ``acquisition_date`` to the earliest of the group: the customer was
        acquired when first recorded. With ``False`` the survivor's record is
        kept as it is.

    Returns
    -------
    dict of str to DataFrame
        New tables; the inputs are not modified. ``customers`` keeps only the
        survivors (and records not in ``mapping``). Every other table keeps
        all its rows and amounts, with ``customer_id`` replaced by the
        survivor's and the former id in a new ``original_customer_id`` column
        (left as it is if the table already has one, so applying a second
        mapping still points back to the first ids): the merge can be undone.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {
    ...     "customers": pd.DataFrame({"customer_id": ["C1", "C2"], "email": [None, "a@b.fr"],
    ...                                "phone": ["0612345678", None]}),
    ...     "transactions": pd.DataFrame({"customer_id": ["C1", "C2", "C2"], "amount": [10.0, 5.0, 2.5]})}
    >>> mapping = pd.DataFrame({"customer_id": ["C1", "C2"], "survivor_id": ["C2", "C2"]})
    >>> merged = apply_mapping(tables, mapping)
    >>> merged["customers"].to_dict("records")
    [{'customer_id': 'C2', 'email': 'a@b.fr', 'phone': '0612345678'}]
    >>> merged["transactions"].to_dict("list")
    {'customer_id': ['C2', 'C2', 'C2'], 'original_customer_id': ['C1', 'C2', 'C2'], 'amount': [10.0, 5.0, 2.5]}
    """
    survivor_of = pd.Series(mapping["survivor_id"].astype("string").to_numpy(),
                            index=mapping["customer_id"].astype("string").to_numpy())
    if survivor_of.index.duplicated().any():
        raise ValueError("mapping has several rows for the same customer_id")
    out = {}
    for name, table in tables.items():
        if "customer_id" not in table.columns:
            out[name] = table
        elif name == "customers":
            out[name] = _merge_customers(table, survivor_of, fill_missing)
        else:
            frame = table.copy()
            original = frame["customer_id"]
            mapped = original.astype("string").map(survivor_of)
            frame["customer_id"] = mapped.where(mapped.notna(), original.astype("string")).astype(original.dtype)
            if "original_customer_id" not in frame.columns:
                frame.insert(frame.columns.get_loc("customer_id") + 1, "original_customer_id", original)
            out[name] = frame
    return out


def _merge_customers(customers: pd.DataFrame, survivor_of: pd.Series, fill_missing: bool) -> pd.DataFrame:
    ids = customers["customer_id"].astype("string")
    survivor = ids.map(survivor_of)
    survivor = survivor.where(survivor.notna(), ids)
    is_survivor = (survivor == ids).to_numpy(dtype=bool)
    if not fill_missing:
        return customers[is_survivor].reset_index(drop=True)
    frame = customers.assign(_survivor=survivor.to_numpy(), _is_member=~is_survivor,
                             _rank=ids.map(_ranked(customers)).to_numpy())
    frame = frame.sort_values(["_survivor", "_is_member", "_rank"], kind="stable")
    grouped = frame.drop(columns=["_is_member", "_rank"]).groupby("_survivor", sort=False)
    filled = grouped.first()  # first non-missing value of each column, survivor's own first
    if "acquisition_date" in frame.columns:
        filled["acquisition_date"] = grouped["acquisition_date"].min()
    survivors = customers[is_survivor]
    filled = filled.reindex(ids[is_survivor].to_numpy())
    filled["customer_id"] = survivors["customer_id"].to_numpy()
    result = filled[list(customers.columns)].reset_index(drop=True)
    return result.astype(customers.dtypes.to_dict())


def _pairs_within(members: pd.DataFrame, group_col: str) -> pd.MultiIndex:
    members = members[["customer_id", group_col]].dropna().astype("string")
    joined = members.merge(members, on=group_col, suffixes=("_l", "_r"))
    joined = joined[joined["customer_id_l"] < joined["customer_id_r"]]
    return pd.MultiIndex.from_arrays([joined["customer_id_l"].to_numpy(dtype=object),
                                      joined["customer_id_r"].to_numpy(dtype=object)])


def pairwise_scores(predicted_mapping: pd.DataFrame, truth_groups) -> dict:
    """Pairwise precision and recall of a duplicate mapping against known duplicate groups.

    Parameters
    ----------
    predicted_mapping : DataFrame
        ``customer_id, survivor_id`` (``DuplicateResult.mapping``); records with
        the same survivor form a predicted group.
    truth_groups : DataFrame or list of dict
        Known duplicates: a DataFrame with ``group_id, customer_id`` (as from
        :func:`portfolio_helpers.app.sample_data.load_truth`) or the raw
        ``truth.json`` list of ``{"group_id": ..., "customer_ids": [...]}``.

    Returns
    -------
    dict
        ``precision`` (share of predicted pairs that are true duplicates),
        ``recall`` (share of true pairs found), ``f1``, ``n_true_pairs`` and
        ``n_predicted_pairs``, where a pair is two records of the same group.
        With no predicted (true) pair, precision (recall) is 1.

    Examples
    --------
    >>> import pandas as pd
    >>> mapping = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "survivor_id": ["a", "a", "a", "d"]})
    >>> truth = pd.DataFrame({"group_id": ["g1", "g1"], "customer_id": ["a", "b"]})
    >>> pairwise_scores(mapping, truth)
    {'precision': 0.3333333333333333, 'recall': 1.0, 'f1': 0.5, 'n_true_pairs': 1, 'n_predicted_pairs': 3}
    """
    if not isinstance(truth_groups, pd.DataFrame):
        truth_groups = pd.DataFrame([{"group_id": g["group_id"], "customer_id": member}
                                     for g in truth_groups for member in g["customer_ids"]],
                                    columns=["group_id", "customer_id"])
    predicted = _pairs_within(predicted_mapping, "survivor_id")
    true = _pairs_within(truth_groups, "group_id")
    hits = len(predicted.intersection(true))
    precision = hits / len(predicted) if len(predicted) else 1.0
    recall = hits / len(true) if len(true) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "n_true_pairs": len(true), "n_predicted_pairs": len(predicted)}

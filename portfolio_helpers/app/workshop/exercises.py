"""The six exercises of the segmentation workshop: answers, code cells and answer keys.

Each key comes from the kit's own analyses on the student's portfolio (the figures the
notebooks 01-05 report) or from the generator's truth (the hidden segments); the plausible
wrong answers (``hints``) are what a classic mistake gives on the same data: exact duplicates
only, missing e-mails counted as invalid, revenue with the cancelled lines, the Gini of the
small-sample correction, k chosen on raw unscaled features, an AUC measured on the training
leads... A hint whose value the key's tolerance already accepts is dropped: it could never
be told apart from a right answer.

Exercise 6 (advanced level only) forecasts with notebook 06's future-value analysis: which
customers are probably gone by the chosen purchase model's P(alive), and the 12-month expected
revenue of the top decile; its wrong answers are BG/NBD's P(alive) of one-time buyers, "no
purchase in 12 months", past revenue, a ranking by past revenue, the discounted or 36-month value.
"""

from __future__ import annotations

import math
import pprint

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, roc_auc_score, silhouette_score

from portfolio_helpers.analysis import engine, pareto, profitability, scorecard, scoring
from portfolio_helpers.analysis.clv import value
from portfolio_helpers.analysis.clv.portfolio import revenue_last_year
from portfolio_helpers.analysis.threads import single_threaded
from portfolio_helpers.app.sample_data import SAMPLE_SCORING
from portfolio_helpers.app.workshop.grading import WorkshopError, jaccard
from portfolio_helpers.app.workshop.keys import FORECAST_DRAWS, KeyContext
from portfolio_helpers.app.workshop.registry import Answer, Exercise, register
from portfolio_helpers.cleaning import standardize
from portfolio_helpers.core.files import atomic_to_parquet
from portfolio_helpers.reporting.value import GONE_THRESHOLD

__all__ = ["BASELINE_CARD", "SOLUTION_CARD", "CLEANING", "PARETO", "PROFITABILITY", "SEGMENTATION", "SCORING",
           "FORECAST", "TEXT_KEYWORDS", "MODEL_ALIASES", "GONE_OVERLAP", "TOP_DECILE_TOLERANCE"]

#: The stated baseline of exercise 5: a card that only likes referrals.
BASELINE_CARD = {"fit": {"cap": 50, "criteria": [{"column": "source", "equals": "referral", "points": 10}]},
                 "engagement": {"cap": 50, "criteria": []}}
#: The teacher's solution of exercise 5: the fit and engagement criteria of the generated sample's config
#: (the student's config has them removed, so there is no card to copy).
SOLUTION_CARD = {group: SAMPLE_SCORING["leads"][group] for group in ("fit", "engagement")}
#: Words that show a justification of k names a criterion (English and French).
TEXT_KEYWORDS = ("silhouette", "elbow", "coude", "calinski", "davies", "stabil", "size", "taille", "small",
                 "petit", "interpr", "differ", "distinct", "usable", "exploitable", "actionable", "inerti", "ari")


def _numeric(value, tolerance, points=1, also=(), hints=(), kind="number") -> dict:
    """A numeric key entry; hints the tolerance already accepts are dropped (they would never show)."""
    accepted = [float(value), *map(float, also)]
    kept = []
    for wanted, hint, *rest in hints:
        if wanted is None or (isinstance(wanted, float) and math.isnan(wanted)):
            continue
        if any(float(wanted) == other["value"] for other in kept):
            continue  # the first mistake that gives this value explains it
        if all(abs(float(wanted) - a) > tolerance + 1e-9 for a in accepted):
            kept.append({"value": float(wanted), "tolerance": rest[0] if rest else tolerance, "hint": hint})
    return {"kind": kind, "value": value, "tolerance": tolerance, "also": list(also), "points": points,
            "hints": kept}


# --------------------------------------------------------------------------- 1. cleaning


def _cleaning_key(ctx: KeyContext) -> dict:
    metrics = ctx.headline
    raw = ctx.cleaned.portfolio.tables["customers"]
    merged = int(metrics["n_records_merged"])
    truth = sum(len(group["customer_ids"]) - 1 for group in ctx.truth["duplicate_groups"])
    tolerance = max(1, round(0.1 * merged))
    identity = [c for c in raw.columns if c not in ("customer_id", "source_line")]
    exact = [int(raw.duplicated(subset=identity).sum())]
    for columns in (["name", "email"], ["name"], ["email"]):
        present = raw.dropna(subset=columns)
        exact.append(int(present.duplicated(subset=columns).sum()))
    duplicate_hints = [(count, "exact_only") for count in exact]
    duplicate_hints.append((metrics["n_duplicate_groups"], "groups_not_records"))

    customers = ctx.tables["customers"]
    invalid = int(metrics["n_invalid_emails"])
    before_merge = standardize.standardize_emails(raw["email"])
    invalid_before = int((before_merge["email"].notna() & ~before_merge["email_valid"]).sum())
    typo = customers["email_issue"].astype("string").str.startswith("typo").fillna(False)
    present = customers["email"].notna() & ~customers["email_valid"]
    email_hints = [(int((~customers["email_valid"]).sum()), "missing_counted"),
                   (int((~before_merge["email_valid"]).sum()), "missing_counted"),
                   (int((present & ~typo).sum()), "typo_missed")]
    return {
        "n_duplicate_customers": _numeric(merged, tolerance, also=[truth] if truth != merged else [],
                                          hints=duplicate_hints, kind="count"),
        "n_invalid_emails": _numeric(invalid, 0, also=[invalid_before] if invalid_before != invalid else [],
                                     hints=email_hints, kind="count"),
        "n_customers_after_merge": _numeric(int(metrics["n_customers"]), tolerance,
                                            hints=[(len(raw), "not_merged"),
                                                   (len(raw) - exact[0], "exact_only")], kind="count"),
    }


CLEANING = register(Exercise(
    number=1, slug="cleaning", level="intro",
    answers=(Answer("n_duplicate_customers", "count"), Answer("n_invalid_emails", "count"),
             Answer("n_customers_after_merge", "count")),
    imports=("from portfolio_helpers.app.workshop import check\n"
             "from portfolio_helpers.cleaning.pipeline import clean_portfolio\n"
             "from portfolio_helpers.reporting import cleaning as cleaning_report\n"
             "from portfolio_helpers.reporting.narrative import show_table"),
    setup=("cleaned = clean_portfolio(config_path, report_dir=output_dir)  # load, standardize, merge duplicates\n"
           "raw_customers = cleaned.portfolio.tables[\"customers\"]  # as read from the file\n"
           "customers = cleaned.tables[\"customers\"]  # cleaned and merged\n"
           "duplicates = cleaned.duplicates",),
    explore=("show_table(duplicates.duplicates_table().head(12))",
             "customers[\"email_issue\"].value_counts(dropna=False)",
             "len(raw_customers), len(customers)"),
    solution=("metrics = cleaning_report.headline_metrics(cleaned, cleaning_report.load_overview(cleaned), 0.0)\n"
              "n_duplicate_customers = metrics[\"n_records_merged\"]\n"
              "n_invalid_emails = metrics[\"n_invalid_emails\"]\n"
              "n_customers_after_merge = metrics[\"n_customers\"]",),
    key=_cleaning_key,
))


# --------------------------------------------------------------------------- 2. Pareto


def _pareto_key(ctx: KeyContext) -> dict:
    per_customer = ctx.per_customer
    summary = pareto.concentration_summary(per_customer["revenue"])
    every_line = engine.customer_values(ctx.tables["transactions"])  # the mistake: cancelled lines counted
    wrong = pareto.concentration_summary(every_line["value"])
    majors = pareto.major_customers(per_customer.set_index("customer_id")["revenue"], threshold=0.10)
    top = str(per_customer.sort_values("revenue", ascending=False, kind="stable")["customer_id"].iloc[0])
    revenue = round(float(per_customer["revenue"].sum()), 2)
    overview_total = float(ctx.headline["revenue_total"])
    major_hints = [] if top in set(majors.index.astype(str)) else [{"value": [top], "hint": "not_major"}]
    return {
        "revenue_total": _numeric(revenue, 1.0, also=[overview_total] if abs(overview_total - revenue) > 1 else [],
                                  hints=[(float(every_line["value"].sum()), "with_cancelled")]),
        "n_customers_80pct": _numeric(int(summary["n_customers_for_target"]), 0, kind="count",
                                      hints=[(wrong["n_customers_for_target"], "with_cancelled"),
                                             (summary["share_customers_for_target"], "share_not_count", 0.001)]),
        "gini": _numeric(round(summary["gini"], 4), 0.0001,
                         hints=[(wrong["gini"], "with_cancelled"), (summary["gini_corrected"], "gini_corrected")]),
        "hhi": _numeric(round(summary["hhi"], 1), 0.5,
                        hints=[(wrong["hhi"], "with_cancelled"), (summary["hhi"] / 10_000, "hhi_fraction", 0.0001)]),
        "major_customers": {"kind": "ids", "value": sorted(majors.index.astype(str)), "points": 1,
                            "hints": major_hints},
    }


PARETO = register(Exercise(
    number=2, slug="pareto", level="intro",
    answers=(Answer("revenue_total", "number"), Answer("n_customers_80pct", "count"), Answer("gini", "number"),
             Answer("hhi", "number"), Answer("major_customers", "ids")),
    imports=("from portfolio_helpers.analysis import engine, pareto\n"
             "from portfolio_helpers.app.workshop import check\n"
             "from portfolio_helpers.cleaning.pipeline import open_portfolio\n"
             "from portfolio_helpers.core.presence import tables_of"),
    setup=("tables, info = open_portfolio(config_path, output_dir, as_frames=True)  # the cleaned tables of exercise 1, as pandas frames\n"
           "transactions = tables[\"transactions\"]",),
    explore=("transactions[\"status\"].value_counts(dropna=False)",
             "revenue_lines = engine.revenue_lines(transactions)\n"
             "per_customer = engine.customer_values(revenue_lines)\n"
             "summary = pareto.concentration_summary(per_customer[\"value\"])\n"
             "summary"),
    solution=("per_customer = pareto.customer_revenue(**tables_of(tables, \"transactions\", \"customers\"))  # cancelled lines excluded\n"
              "summary = pareto.concentration_summary(per_customer[\"revenue\"])\n"
              "majors = pareto.major_customers(per_customer.set_index(\"customer_id\")[\"revenue\"], threshold=0.10)",
              "revenue_total = round(float(per_customer[\"revenue\"].sum()), 2)\n"
              "n_customers_80pct = summary[\"n_customers_for_target\"]\n"
              "gini = round(summary[\"gini\"], 4)\n"
              "hhi = round(summary[\"hhi\"], 1)\n"
              "major_customers = list(majors.index)"),
    key=_pareto_key,
))


# --------------------------------------------------------------------------- 3. profitability


def _profitability_key(ctx: KeyContext) -> dict:
    pnl = ctx.pnl
    losers = profitability.loss_drivers(pnl, n=len(pnl), min_revenue_quantile=0.0)
    summary = profitability.whale_summary(pnl)
    largest = str(losers["customer_id"].iloc[0]) if len(losers) else ""
    driver = str(losers["main_driver"].iloc[0]) if len(losers) else ""
    by_loss = pnl.sort_values(["profit", "customer_id"], kind="stable")
    biggest_loss = str(by_loss["customer_id"].iloc[0])
    by_revenue = pnl.sort_values("revenue", ascending=False, kind="stable")
    biggest_customer = str(by_revenue["customer_id"].iloc[0])
    id_hints = [{"value": biggest_loss, "hint": "largest_loss"}] if biggest_loss != largest else []
    if float(by_revenue["profit"].iloc[0]) >= 0:
        id_hints.append({"value": biggest_customer, "hint": "profitable_customer"})
    driver_hints = [{"value": name, "hint": "driver_column"} for name in
                    (*profitability.DRIVER_COLUMNS, *profitability.DRIVER_LABELS.values()) if name != driver]
    if driver != "cost of goods":
        driver_hints += [{"value": name, "hint": "cogs_not_driver"} for name in ("cost of goods", "cogs")]
    return {
        "n_unprofitable": _numeric(int(summary["n_unprofitable"]), 0, kind="count",
                                   hints=[(int((pnl["gross_margin"] < 0).sum()), "margin_only"),
                                          (int((pnl["profit"] <= 0).sum()), "zero_profit")]),
        "largest_unprofitable": {"kind": "choice", "accepted": [largest], "points": 1, "hints": id_hints},
        "main_cost_driver": {"kind": "choice", "accepted": [driver], "points": 1, "hints": driver_hints},
    }


PROFITABILITY = register(Exercise(
    number=3, slug="profitability", level="intro",
    answers=(Answer("n_unprofitable", "count"), Answer("largest_unprofitable", "choice"),
             Answer("main_cost_driver", "choice")),
    imports=("from portfolio_helpers.analysis import profitability\n"
             "from portfolio_helpers.app.workshop import check\n"
             "from portfolio_helpers.cleaning.pipeline import open_portfolio\n"
             "from portfolio_helpers.core.presence import tables_of\n"
             "from portfolio_helpers.reporting.narrative import show_table"),
    setup=("tables, info = open_portfolio(config_path, output_dir, as_frames=True)\n"
           "model = profitability.load_cost_model(config_path)  # the costs: section of portfolio.yml\n"
           "pnl = profitability.customer_pnl(**tables_of(tables, \"transactions\", \"payments\", \"tickets\"), model=model,\n"
           "                                 as_of=info[\"as_of\"])  # one P&L line per customer",),
    explore=("show_table(pnl.sort_values(\"profit\").head(10))",
             "show_table(profitability.cost_breakdown(pnl))"),
    solution=("summary = profitability.whale_summary(pnl)\n"
              "losers = profitability.loss_drivers(pnl, n=len(pnl), min_revenue_quantile=0.0)  # largest revenue first",
              "n_unprofitable = summary[\"n_unprofitable\"]\n"
              "largest_unprofitable = losers[\"customer_id\"].iloc[0]\n"
              "main_cost_driver = losers[\"main_driver\"].iloc[0]"),
    key=_profitability_key,
))


# --------------------------------------------------------------------------- 4. segmentation


def _raw_k(ctx: KeyContext, numeric: list[str]) -> int:
    """The k a silhouette on raw, unscaled features picks (the mistake the exercise warns about)."""
    values = ctx.features[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
    matrix = values.fillna(values.median()).fillna(0.0).to_numpy()
    scores = {}
    with single_threaded(len(matrix)):
        for k in range(3, 9):
            labels = KMeans(n_clusters=k, n_init=10, random_state=ctx.seed).fit_predict(matrix)
            scores[k] = silhouette_score(matrix, labels, sample_size=min(len(matrix), 10_000),
                                         random_state=ctx.seed)
    return max(scores, key=scores.get)


def _segmentation_key(ctx: KeyContext) -> dict:
    segments = ctx.segments
    result = segments.result
    clusters = segments.clusters.set_index("customer_id")["cluster"].astype(str)
    truth = ctx.truth_segments
    common = clusters.index.intersection(truth.index)
    reference = float(adjusted_rand_score(truth[common], clusters[common]))
    scored = result.k_scores[result.k_scores["k"].between(3, 8)]
    best_silhouette = int(scored.loc[scored["silhouette"].idxmax(), "k"])
    also = [result.suggested_k] if result.suggested_k not in (None, result.k) else []
    return {
        "k": _numeric(int(result.k), 0, kind="count", also=also,
                      hints=[(_raw_k(ctx, result.numeric), "raw_features"), (2, "two_too_coarse"),
                             (best_silhouette, "silhouette_only")]),
        "k_reason": {"kind": "text", "keywords": list(TEXT_KEYWORDS), "min_length": 15, "points": 1},
        "segment_names": {"kind": "names", "labels_from": "segments", "points": 1},
        "segments": {"kind": "labels", "truth": {str(c): str(truth[c]) for c in common},
                     "reference_ari": round(reference, 4), "tolerance": 0.05, "k_from": "k", "points": 2},
    }


SEGMENTATION = register(Exercise(
    number=4, slug="segmentation", level="intro",
    answers=(Answer("k", "count"), Answer("k_reason", "text"), Answer("segment_names", "names"),
             Answer("segments", "labels", points=2)),
    imports=("from portfolio_helpers.analysis import features, profitability, segmentation\n"
             "from portfolio_helpers.app.workshop import check\n"
             "from portfolio_helpers.cleaning.pipeline import open_portfolio\n"
             "from portfolio_helpers.core.config import load_config\n"
             "from portfolio_helpers.core.presence import tables_of\n"
             "from portfolio_helpers.reporting import segmentation as segmentation_report\n"
             "from portfolio_helpers.reporting.narrative import show_table"),
    setup=("tables, info = open_portfolio(config_path, output_dir, as_frames=True)\n"
           "seed = load_config(config_path).seed\n"
           "pnl, customer_features = features.customer_tables(\n"
           "    **tables_of(tables, \"transactions\", \"customers\", \"payments\", \"tickets\"), as_of=info[\"as_of\"],\n"
           "    model=profitability.load_cost_model(config_path))  # one P&L line and one feature row per customer",),
    explore=("fit = segmentation.fit_segments(customer_features, seed=seed)  # scores k = 2 to 8\n"
             "show_table(fit.k_scores)\n"
             "print(segmentation_report.k_reason(fit))",
             "segments = segmentation.segment_customers(customer_features, k=fit.k, seed=seed)\n"
             "show_table(segments.profiles)"),
    solution=("result = segmentation.segment_customers(customer_features, seed=seed)\n"
              "show_table(result.result.k_scores)",
              "k = result.result.k\n"
              "k_reason = segmentation_report.k_reason(result.result)\n"
              "segment_names = result.names\n"
              "segments = result.clusters  # customer_id, cluster"),
    key=_segmentation_key,
))


# --------------------------------------------------------------------------- 5. lead scoring


def _auc(profiles: pd.DataFrame, scored: pd.DataFrame, ids: pd.Index) -> float:
    return float(roc_auc_score(profiles.loc[ids, "converted"].astype(int), scored.loc[ids, "total_score"]))


def _scoring_key(ctx: KeyContext) -> dict:
    profiles, events = ctx.leads
    known = profiles.index[profiles["outcome_known"]]
    train, test = scoring.split_by_time(profiles.loc[known, "created"], ctx.scoring_settings.test_share)
    baseline = scoring.score_leads(scorecard.scorecard_from_config(BASELINE_CARD, "baseline"),
                                          profiles, events)
    folder = ctx.check_dir
    atomic_to_parquet(profiles.reset_index(), folder / "lead_profiles.parquet")
    atomic_to_parquet(events, folder / "lead_events.parquet")
    data = {"check_data": f"check/{folder.name}", "test": [str(i) for i in test],
            "train": [str(i) for i in train], "known": [str(i) for i in known]}
    return {
        # Never below 0.5: a card that gives everyone the same points would "beat" a worse-than-chance baseline.
        "lead_scorecard": {"kind": "scorecard", "baseline_auc": round(max(0.5, _auc(profiles, baseline, test)), 4),
                           "points": 2, **data},
        "test_auc": {"kind": "auc", "tolerance": 0.005, "card_from": "lead_scorecard", "points": 1, **data},
    }


SCORING = register(Exercise(
    number=5, slug="scoring", level="intro",
    answers=(Answer("lead_scorecard", "scorecard", points=2), Answer("test_auc", "auc")),
    imports=("from sklearn.metrics import roc_auc_score\n\n"
             "from portfolio_helpers.analysis import scorecard, scoring\n"
             "from portfolio_helpers.app.workshop import BASELINE_CARD, check\n"
             "from portfolio_helpers.cleaning.pipeline import open_portfolio\n"
             "from portfolio_helpers.core.config import load_config\n"
             "from portfolio_helpers.reporting.narrative import show_table"),
    setup=("tables, info = open_portfolio(config_path, output_dir, as_frames=True)\n"
           "config = load_config(config_path)\n"
           "settings = scoring.scoring_settings(config.sections.get(\"scoring\"), config.path)\n"
           "profiles, events = scoring.lead_profiles(tables[\"leads\"], info[\"as_of\"], tables.get(\"customers\"),\n"
           "                                         tables[\"transactions\"], open_days=settings.open_days)\n"
           "known = profiles.index[profiles[\"outcome_known\"]]  # converted or closed\n"
           "train, test = scoring.split_by_time(profiles.loc[known, \"created\"], settings.test_share)",),
    explore=("show_table(profiles.loc[train].head(10))\n"
             "events[\"event\"].value_counts()",
             "baseline = scorecard.scorecard_from_config(BASELINE_CARD, \"baseline\")\n"
             "scored = scoring.score_leads(baseline, profiles, events)\n"
             "roc_auc_score(profiles.loc[test, \"converted\"], scored.loc[test, \"total_score\"])"),
    solution=("lead_scorecard = " + pprint.pformat(SOLUTION_CARD, width=108, sort_dicts=False),
              "card = scorecard.scorecard_from_config(lead_scorecard, \"lead_scorecard\")\n"
              "scored = scoring.score_leads(card, profiles, events)\n"
              "test_auc = float(roc_auc_score(profiles.loc[test, \"converted\"], scored.loc[test, \"total_score\"]))",),
    key=_scoring_key,
))


# --------------------------------------------------------------------------- 6. forecast (advanced)

#: Names a student may give each purchase model (case is ignored).
MODEL_ALIASES = {"bgnbd": ("bgnbd", "BG/NBD", "BG-NBD"), "pnbd": ("pnbd", "Pareto/NBD", "Pareto-NBD"),
                 "mbgnbd": ("mbgnbd", "modified BG/NBD", "MBG/NBD", "MBG-NBD")}
#: Jaccard overlap with the kit's list of probably-gone customers that earns full marks.
GONE_OVERLAP = 0.9
#: Relative tolerance of the top decile's 12-month value.
TOP_DECILE_TOLERANCE = 0.01


def _top_decile(values: pd.Series, n_top: int) -> float:
    return float(values.nlargest(n_top).sum())


def _gone_ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame.loc[frame["p_alive"] < GONE_THRESHOLD, "customer_id"].astype(str))


def _overlap_hints(key_ids: list[str], candidates) -> list[dict]:
    """Hint lists an answer could be told apart from the key (and from an earlier hint) by."""
    kept: list[dict] = []
    for ids, hint in candidates:
        if jaccard(ids, key_ids) < GONE_OVERLAP and all(jaccard(ids, k["value"]) < GONE_OVERLAP for k in kept):
            kept.append({"value": sorted(ids), "hint": hint})
    return kept


def _forecast_key(ctx: KeyContext) -> dict:
    result = ctx.forecast
    if result.value is None:
        raise WorkshopError(f"{ctx.config_path}: the portfolio cannot support the forecast exercise "
                            f"({', '.join(result.fitness['problems'])}); create the workshop with more customers")
    v, chosen, s = result.value, result.choice["model"], result.settings
    summary = result.summary
    ids = v["customer_id"].astype(str)
    key_ids = _gone_ids(v)
    one_time = set(ids[summary["frequency"].to_numpy() == 0])
    others = {model: value.customer_value(summary, fit, result.spend_fit, horizon_months=s.horizon_months,
                                          discount_rate=s.discount_rate, time_unit=s.time_unit)
              for model, fit in result.fits.items() if model != chosen and fit.ok}
    last_year = revenue_last_year(ctx.tables["transactions"], ctx.as_of)
    bought_last_year = set(last_year.loc[last_year["value"].notna(), last_year.columns[0]].astype(str))
    candidates = [([i for i in key_ids if i not in one_time], "one_time_left_out"),
                  (sorted(set(ids) - bought_last_year), "no_purchase_12m")]
    if "bgnbd" in others:
        candidates.insert(0, (_gone_ids(others.pop("bgnbd")), "one_time_alive"))
    candidates += [(_gone_ids(frame), "other_model") for frame in others.values()]
    gone = {"kind": "overlap", "value": key_ids, "tolerance": GONE_OVERLAP, "partial": 0.5, "points": 2,
            "hints": _overlap_hints(key_ids, candidates)}
    if chosen == "bgnbd":
        gone["correct"] = "correct_bgnbd"  # right, and a word on the model's P(alive) of one-time buyers

    n = len(v)
    n_top = max(math.ceil(0.1 * n), 1)
    revenue = v.set_index(ids)["expected_revenue"]
    key_value = round(_top_decile(revenue, n_top), 2)
    floor = round(_top_decile(revenue, max(n // 10, 1)), 2)
    past = ctx.per_customer.assign(customer_id=ctx.per_customer["customer_id"].astype(str)).set_index(
        "customer_id")["revenue"]
    recent = last_year.set_index(last_year[last_year.columns[0]].astype(str))["value"]
    forecast_top = revenue.nlargest(n_top).index
    longer = value.customer_value(summary, result.fit, result.spend_fit, pnl=None,
                                  horizon_months=ctx.config_horizon, discount_rate=s.discount_rate,
                                  time_unit=s.time_unit).set_index(ids)
    hints = [(_top_decile(past, n_top), "past_revenue"), (_top_decile(recent, n_top), "past_revenue"),
             (float(past.reindex(forecast_top).fillna(0).sum()), "past_revenue"),
             (float(recent.reindex(forecast_top).fillna(0).sum()), "past_revenue"),
             (float(revenue.reindex(past.nlargest(n_top).index).fillna(0).sum()), "ranked_by_past"),
             (float(revenue.reindex(recent.nlargest(n_top).index).fillna(0).sum()), "ranked_by_past"),
             (_top_decile(longer["expected_revenue"], n_top), "horizon"),
             (_top_decile(longer["clv"], n_top), "horizon"),
             (_top_decile(v.set_index(ids)["clv"], n_top), "discounted"),
             (float(revenue.sum()), "all_customers")]
    tolerance = round(TOP_DECILE_TOLERANCE * abs(key_value), 2)
    top = _numeric(key_value, tolerance, points=2, also=[floor] if floor != key_value else [],
                   hints=[(wanted, hint, max(tolerance, TOP_DECILE_TOLERANCE * abs(wanted))) for wanted, hint in hints])
    names = [name for aliases in MODEL_ALIASES.values() for name in aliases]
    return {
        "model": {"kind": "choice", "accepted": list(MODEL_ALIASES[chosen]), "points": 1,
                  "hints": [{"value": name, "hint": "not_chosen"} for name in names
                            if name not in MODEL_ALIASES[chosen]]
                  + [{"value": name, "hint": "spend_model"} for name in ("gg", "Gamma-Gamma")]},
        "probably_gone": gone,
        "top_decile_value": top,
    }


FORECAST = register(Exercise(
    number=6, slug="forecast", level="advanced",
    answers=(Answer("model", "choice"), Answer("probably_gone", "overlap", points=2),
             Answer("top_decile_value", "number", points=2)),
    imports=("import math\n\n"
             "from portfolio_helpers.analysis.clv import value\n"
             "from portfolio_helpers.analysis.clv.portfolio import future_value\n"
             "from portfolio_helpers.app.workshop import check\n"
             "from portfolio_helpers.cleaning.pipeline import open_portfolio\n"
             "from portfolio_helpers.core.config import load_config\n"
             "from portfolio_helpers.reporting import value as value_report\n"
             "from portfolio_helpers.reporting.narrative import show_table"),
    setup=("tables, info = open_portfolio(config_path, output_dir, as_frames=True)\n"
           "transactions, as_of = tables[\"transactions\"], info[\"as_of\"]\n"
           "seed = load_config(config_path).seed\n"
           "settings = value.load_clv_settings(config_path)  # the clv: section of portfolio.yml\n"
           "settings",),
    explore=(),
    solution=("settings = value_report.settings_with_overrides(settings, 12, -1)  # 12 months, not the config's horizon\n"
              f"result = future_value(transactions, settings, as_of, seed=seed, n_draws={FORECAST_DRAWS})\n"
              "print(result.fitness[\"problems\"], value_report.choice_sentence(result))\n"
              "show_table(value_report.shown_model_table(result))",
              "forecast = result.value  # one row per customer: p_alive, expected_revenue...\n"
              "model = result.choice[\"model\"]\n"
              "probably_gone = list(forecast.loc[forecast[\"p_alive\"] < value_report.GONE_THRESHOLD, \"customer_id\"])\n"
              "n_top = math.ceil(0.1 * len(forecast))  # the top 10% of customers by forecast value\n"
              "top_decile_value = float(forecast[\"expected_revenue\"].nlargest(n_top).sum())"),
    key=_forecast_key,
))

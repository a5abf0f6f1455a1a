"""Texts of the workshop notebooks and of the checker's feedback, in English and French.

Kept as data (one dictionary per language, the same keys in both) so that a teacher can
reword an exercise without touching code, and a test can check that both languages have
every text. Feedback texts never hold a value of the key; ``{tolerance}``, ``{ari}``,
``{auc}`` and ``{error}`` are filled in by the checker, ``{baseline_auc}`` by the builder
(the exercise introductions go through ``str.format``: literal braces are doubled); numbers
are written the language's way (``0,625`` in French). The comments of the notebooks' code
cells are translated too (``comments``: English text -> text in the language).
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Any

__all__ = ["LANGUAGES", "TEXTS", "feedback_text", "exercise_texts", "cli_text", "localized_code", "number_text"]

LANGUAGES: tuple[str, ...] = ("en", "fr")

_EN: dict[str, Any] = {
    "common": {
        "exercise": "Exercise",
        "how": "Run the cells from the top. Assign your answers in the cell **Your answers**, then run the "
               "**Check** cell at the end: it scores each answer and tells you what to look at again, "
               "never the answer itself. You can check as often as you like; the last check counts.",
        "explore": "**Try this** (the kit's functions to start from):",
        "answers": "### Your answers\n\nReplace each `None`:",
        "check": "### Check",
        "solution": "Solution notebook (teacher): it runs the kit's functions on one student's portfolio "
                    "and checks the answers without saving them. Set `student_dir` to the student's folder.",
        "tolerance": "tolerance",
    },
    "comments": {
        # The comments of the notebooks' code cells, by their English text (checked by a test: every
        # comment of every exercise's cells is here, in both languages).
        "this folder": "this folder",
        "the kit's saved tables": "the kit's saved tables",
        "load, standardize, merge duplicates": "load, standardize, merge duplicates",
        "as read from the file": "as read from the file",
        "cleaned and merged": "cleaned and merged",
        "the cleaned tables of exercise 1, as pandas frames": "the cleaned tables of exercise 1, as pandas frames",
        "cancelled lines excluded": "cancelled lines excluded",
        "the costs: section of portfolio.yml": "the costs: section of portfolio.yml",
        "one P&L line per customer": "one P&L line per customer",
        "largest revenue first": "largest revenue first",
        "one P&L line and one feature row per customer": "one P&L line and one feature row per customer",
        "scores k = 2 to 8": "scores k = 2 to 8",
        "customer_id, cluster": "customer_id, cluster",
        "converted or closed": "converted or closed",
        "the clv: section of portfolio.yml": "the clv: section of portfolio.yml",
        "12 months, not the config's horizon": "12 months, not the config's horizon",
        "one row per customer: p_alive, expected_revenue...": "one row per customer: p_alive, expected_revenue...",
        "the top 10% of customers by forecast value": "the top 10% of customers by forecast value",
    },
    "cli": {
        "created": "Workshop: {path} ({students}, exercises {exercises}, seed {seed}); keys and solutions in "
                   "{teacher}",
        "guessable_seed": "note: seed {seed} can be guessed; whoever finds it rebuilds the answer keys with the "
                          "kit. Leave --seed out for a random one (kept in {teacher}/workshop.json).",
        "one_student": "1 student",
        "n_students": "{n} students",
        "total": "total: {points} / {max_points}",
        "grades": "Grades: {path}",
        "columns": "exercise,points,max_points",
    },
    "feedback": {
        "correct": "correct.",
        "blank": "no answer yet.",
        "not_a_number": "expected a number.",
        "not_a_count": "expected a whole number (a count).",
        "not_a_text": "expected a text.",
        "not_a_list": "expected a list of customer ids (an empty list `[]` if there is none).",
        "not_a_mapping": "expected a dictionary (or a table of customer ids and clusters).",
        "wrong": "not within the tolerance (±{tolerance}).",
        "count_not_list": "expected a list of customer ids, not how many there are.",
        "overlap_partial": "your list overlaps the expected one at {overlap} (Jaccard); some customers are missing "
                           "or should not be there.",
        "total": "Total: {points} / {max_points} points.",
    },
    "exercises": {
        "cleaning": {
            "title": "Clean the customer file",
            "intro": "Your portfolio comes from a CRM export with the defects real exports have: the same customer "
                     "entered twice with a different case, accents or phone format, invalid e-mails, mixed date "
                     "formats. The kit's cleaning pipeline (`clean_portfolio`) standardizes every field and finds "
                     "duplicate customers by probabilistic record linkage, then merges each group into one survivor.",
            "explore": "`duplicates.duplicates_table()` lists each group and its survivor; `email_issue` says why an "
                       "e-mail is not valid. Think about what counts as a duplicate and what counts as *invalid* "
                       "(is a missing e-mail invalid?).",
            "answers": {
                "n_duplicate_customers": "how many customer records are duplicates of another one (the records "
                                         "that disappear when the groups are merged); ±10%",
                "n_invalid_emails": "how many e-mails are present but invalid (bad syntax, placeholder or typo domain)",
                "n_customers_after_merge": "how many customers remain after the merge; ±10% of the duplicates",
            },
            "feedback": {
                "n_duplicate_customers": {
                    "wrong": "not within the tolerance (±10%). Count the records merged into a survivor.",
                    "exact_only": "you counted exact duplicates only: many more records are the same customer "
                                  "written differently (case, accents, phone format). Use the record linkage of "
                                  "the cleaning pipeline.",
                    "groups_not_records": "you counted the duplicate groups; the question asks for the records "
                                          "that disappear (a group of three has two duplicates).",
                },
                "n_invalid_emails": {
                    "wrong": "not the number of invalid e-mails. Look at `email_issue`.",
                    "missing_counted": "you counted missing e-mails as invalid: an empty e-mail is missing, not "
                                       "invalid.",
                    "typo_missed": "some invalid e-mails are well formed but on a typo domain (gmial.com): they "
                                   "count too.",
                },
                "n_customers_after_merge": {
                    "wrong": "not within the tolerance. Count the customers of the cleaned table.",
                    "not_merged": "that is the number of records before the merge.",
                    "exact_only": "you removed the exact duplicates only; merge the groups the record linkage "
                                  "found.",
                },
            },
        },
        "pareto": {
            "title": "80/20: how concentrated is revenue?",
            "intro": "Revenue counts every line except the cancelled ones; credit notes (negative lines) are "
                     "deducted. `pareto.concentration_summary` gives, from one value per customer, the number "
                     "of customers that make 80% of revenue, the Gini coefficient and the Herfindahl-Hirschman "
                     "Index (HHI, in points: squared percentage shares, 0 to 10,000). `pareto.major_customers` "
                     "lists the customers at 10% of revenue or more (IFRS 8).",
            "explore": "Look at the statuses of the lines first: which lines are revenue? "
                       "`engine.revenue_lines` keeps exactly those.",
            "answers": {
                "revenue_total": "net revenue of the portfolio, cancelled lines excluded; ±1 (currency units)",
                "n_customers_80pct": "how many customers make 80% of revenue; exact",
                "gini": "Gini coefficient of revenue per customer, 4 decimals; ±0.0001",
                "hhi": "HHI in points; ±0.5",
                "major_customers": "list of the ids of the customers at 10% of revenue or more (`[]` if none); "
                                   "exact",
            },
            "feedback": {
                "revenue_total": {
                    "wrong": "not within the tolerance (±1). Sum the revenue lines.",
                    "with_cancelled": "your revenue includes the cancelled lines: they were never invoiced.",
                },
                "n_customers_80pct": {
                    "wrong": "not the kit's count. Use `concentration_summary` on revenue per customer.",
                    "with_cancelled": "your revenue per customer includes the cancelled lines.",
                    "share_not_count": "you gave the share of customers; the question asks for how many.",
                },
                "gini": {
                    "wrong": "not within the tolerance (±0.0001).",
                    "with_cancelled": "your revenue per customer includes the cancelled lines.",
                    "gini_corrected": "that is the small-sample corrected Gini; give the plain one (`gini`).",
                },
                "hhi": {
                    "wrong": "not within the tolerance (±0.5).",
                    "with_cancelled": "your revenue per customer includes the cancelled lines.",
                    "hhi_fraction": "the HHI is in points: shares in percent, squared (0 to 10,000).",
                },
                "major_customers": {
                    "wrong": "not the list of major customers. Use `major_customers` with the 10% threshold.",
                    "not_major": "the largest customer does not reach 10% of revenue here.",
                },
            },
        },
        "profitability": {
            "title": "Who costs more than they bring?",
            "intro": "A customer's profit is its revenue minus the cost of goods (gross margin) minus the cost to "
                     "serve it: orders, lines, deliveries, returns, late payment, after-sales service and account "
                     "management, priced with the `costs:` section of `portfolio.yml`. "
                     "`profitability.customer_pnl` gives one P&L line per customer; "
                     "`profitability.loss_drivers` the unprofitable customers, largest revenue first, with the "
                     "main cost group behind each loss.",
            "explore": "Sort the P&L by profit and compare gross margin and cost to serve.",
            "answers": {
                "n_unprofitable": "how many customers lose money (profit below 0); exact",
                "largest_unprofitable": "id of the unprofitable customer with the largest revenue",
                "main_cost_driver": "the main cost driver of that customer, as `loss_drivers` names it",
            },
            "feedback": {
                "n_unprofitable": {
                    "wrong": "not the number of customers with a negative profit.",
                    "margin_only": "you counted customers with a negative gross margin: deduct the cost to serve too.",
                    "zero_profit": "a profit of exactly 0 is not a loss.",
                },
                "largest_unprofitable": {
                    "wrong": "not the unprofitable customer with the largest revenue.",
                    "largest_loss": "you picked the largest loss; the question asks for the largest customer "
                                    "(by revenue) among those who lose money.",
                    "profitable_customer": "that customer is profitable.",
                },
                "main_cost_driver": {
                    "wrong": "not its main cost driver.",
                    "driver_column": "name the cost group as `loss_drivers` does (its `main_driver` column): "
                                     "orders, lines and deliveries count together as order handling.",
                    "cogs_not_driver": "its gross margin is positive: the loss comes from the cost to serve.",
                },
            },
        },
        "segmentation": {
            "title": "Segment the customers",
            "intro": "Segments are groups of customers who behave alike. The kit clusters a feature table "
                     "(recency, frequency, monetary value, order value, discounts, returns, late payment, service, "
                     "margin, customer type) after a log transform and a robust scaling, for k = 2 to 8, and "
                     "suggests a k a marketing team can act on. Choose k, say why, name the segments. The check "
                     "then tells you how well your segments match the hidden segments the data was generated "
                     "from (adjusted Rand index, 1 = the same partition, 0 = chance).",
            "explore": "Compare the silhouette, the size of the smallest segment and how many features separate "
                       "the segments for each k. Clustering raw amounts without scaling lets the largest figures "
                       "decide alone.",
            "answers": {
                "k": "the number of segments you choose (the kit's rule, or a k tied with it); exact",
                "k_reason": "one or two sentences: why this k (name the criterion)",
                "segment_names": "a name per segment: `{cluster number: name}`, distinct names",
                "segments": "the cluster of each customer (`segment_customers(...).clusters`, or a Series "
                            "indexed by customer id)",
            },
            "feedback": {
                "k": {
                    "wrong": "not the k the kit's rule suggests. Look at the silhouette of the usable k.",
                    "raw_features": "that k is what raw, unscaled features give: the largest amounts decide "
                                    "alone. The kit logs and scales the features first.",
                    "two_too_coarse": "two segments is often the sharpest split (one-time against repeat buyers) "
                                      "but too coarse to act on; choose among 3 to 8.",
                    "silhouette_only": "that k has the best silhouette, but a segment too small or segments that "
                                       "differ on fewer than two features.",
                },
                "k_reason": {
                    "correct": "thank you, noted for your teacher.",
                    "too_short": "write one or two sentences.",
                    "no_criterion": "say which criterion decided (silhouette, segment size, features apart, "
                                    "stability...).",
                },
                "segment_names": {
                    "correct": "every segment has a name.",
                    "names_without_segments": "give your segments first (`segments`).",
                    "names_missing": "give a name to every segment of your answer `segments`.",
                    "names_not_distinct": "two segments have the same name.",
                },
                "segments": {
                    "labels_good": "adjusted Rand index with the hidden segments: {ari}, as good as the kit's "
                                   "segmentation.",
                    "labels_weak": "adjusted Rand index with the hidden segments: {ari}; the kit's segmentation "
                                   "does better. Check the features and their scaling.",
                    "labels_not_k": "your segments do not have k groups (adjusted Rand index {ari}).",
                    "labels_unknown_ids": "these are not the customer ids of your portfolio.",
                },
            },
        },
        "scoring": {
            "title": "Score the leads",
            "intro": "A points scorecard gives each lead points for its fit (who it is: role, size, industry, "
                     "budget) and its engagement (what it did: meetings, downloads, clicks), each group capped, "
                     "out of 100. Write one as a dictionary shaped like `BASELINE_CARD` (the `scoring: leads:` "
                     "section of a config, see the kit's README): `fit` and `engagement`, each with a `cap` and "
                     "`criteria` such as `{{\"column\": \"role\", \"equals\": \"CEO / owner\", \"points\": 15}}` or "
                     "`{{\"event\": \"meeting\", \"at_least\": 1, \"points\": 15}}`. It is judged on "
                     "the held-out leads (`test`: the most recent known outcomes) by the ROC AUC of its points. "
                     "**Baseline to beat:** a card giving 10 points to referrals only, AUC **{baseline_auc}** "
                     "on the held-out leads (never below 0.5, the AUC of chance).",
            "explore": "Look at the leads of the training set and their events; score them with the baseline "
                       "card.",
            "answers": {
                "lead_scorecard": "your scorecard (dictionary with `fit` and `engagement`); it must beat the "
                                  "baseline on the held-out leads",
                "test_auc": "the AUC of your scorecard on the held-out leads; ±0.005",
            },
            "feedback": {
                "lead_scorecard": {
                    "card_beats_baseline": "AUC on the held-out leads {auc}: better than the baseline.",
                    "card_below_baseline": "AUC on the held-out leads {auc}: not better than the baseline. "
                                           "Which events did the converted leads have?",
                    "card_no_engagement": "add engagement criteria (events such as meetings or downloads).",
                    "card_no_fit": "add fit criteria (role, size, industry, budget).",
                    "card_invalid": "the scorecard is not valid: {error}",
                },
                "test_auc": {
                    "auc_wrong": "not the AUC of your scorecard on the held-out leads.",
                    "auc_on_train": "you measured the AUC on the training leads; use the held-out ones (`test`).",
                    "auc_on_all": "you measured the AUC on every known lead; use the held-out ones (`test`).",
                    "auc_without_card": "give a valid scorecard first (`lead_scorecard`).",
                },
            },
        },
        "forecast": {
            "title": "Forecast: who is probably gone, what the best customers will bring",
            "intro": "Buy-till-you-die models describe each customer by a purchase rate while alive and a chance of "
                     "dropping out unseen. `future_value` (notebook 06) fits three purchase models (BG/NBD, "
                     "Pareto/NBD, modified BG/NBD) on the purchases before `clv.calibration_end`, keeps the one "
                     "that best predicts the purchases after it, refits it on all the data and adds the "
                     "Gamma-Gamma spend model: `result.value` gives, per customer, the probability of being still "
                     "alive (`p_alive`) and the expected purchases and revenue over the horizon of the settings. "
                     "The models need at least 30 customers who bought on two days or more "
                     "(`result.fitness`). A customer is *probably gone* when P(alive) < 0.2 "
                     "(`value_report.GONE_THRESHOLD`). Read the `clv:` section of your config before you start: "
                     "the question asks for the **next 12 months**.",
            "explore": "Functions to use: `future_value`, `value_report.settings_with_overrides`, "
                       "`value_report.shown_model_table`, `value_report.choice_sentence`, `value_report.p_alive_note`. "
                       "What does the chosen model say about a customer who bought only once?",
            "answers": {
                "model": "the purchase model the kit chose (`bgnbd`, `pnbd` or `mbgnbd`)",
                "probably_gone": "list of the ids of the customers with P(alive) < 0.2 under that model; full "
                                 "marks from an overlap (Jaccard) of 0.9 with the kit's list",
                "top_decile_value": "the expected revenue of the next 12 months of the top 10% of customers "
                                    "ranked by that expected revenue (round the number of customers up); ±1%",
            },
            "feedback": {
                "model": {
                    "wrong": "not a purchase model of the kit: `bgnbd`, `pnbd` or `mbgnbd`.",
                    "not_chosen": "that model was fitted, but not chosen: the kit keeps the model with the lowest "
                                  "holdout error (`result.choice`).",
                    "spend_model": "Gamma-Gamma is the spend model; the question asks for the purchase model.",
                },
                "probably_gone": {
                    "correct_bgnbd": "correct. Note that with BG/NBD a customer who bought only once has P(alive) "
                                     "= 1 by construction: none of them can be in this list, a property of the "
                                     "model, not a finding.",
                    "wrong": "far from the kit's list. Take `p_alive` of the chosen model's `result.value`.",
                    "one_time_alive": "that is BG/NBD's list: with BG/NBD a customer who bought only once has "
                                      "P(alive) = 1 by construction, so none of them is listed. Use the model the "
                                      "kit chose.",
                    "one_time_left_out": "you left out the customers who bought only once: the chosen model gives "
                                         "them a P(alive) too, often a low one.",
                    "no_purchase_12m": "you listed the customers without a purchase in the last 12 months: that is "
                                       "a recency rule, not the model's P(alive), which weighs each customer's own "
                                       "purchase rhythm.",
                    "other_model": "that is the list of another purchase model than the one the kit chose.",
                    "count_not_list": "give the list of customer ids, not how many there are.",
                },
                "top_decile_value": {
                    "wrong": "not within 1% of the kit's figure. Rank the customers by expected revenue over 12 "
                             "months and sum the top 10%.",
                    "past_revenue": "you summed revenue already made; the question asks for the expected revenue "
                                    "of the next 12 months (`expected_revenue`).",
                    "ranked_by_past": "you took the top 10% by past revenue; rank the customers by their forecast "
                                      "value instead: the best past customers are not all the best future ones.",
                    "horizon": "that is the value over the config's planning horizon, not over 12 months: set the "
                               "horizon with `settings_with_overrides`.",
                    "discounted": "that is the discounted value (`clv`); the question asks for the expected revenue, "
                                  "not discounted.",
                    "all_customers": "that is the expected revenue of every customer; keep the top 10%.",
                },
            },
        },
    },
}

_FR: dict[str, Any] = {
    "common": {
        "exercise": "Exercice",
        "how": "Exécutez les cellules depuis le début. Donnez vos réponses dans la cellule **Vos réponses**, puis "
               "exécutez la cellule **Vérification** à la fin : elle note chaque réponse et vous dit quoi revoir, "
               "jamais la réponse elle-même. Vous pouvez vérifier autant de fois que vous voulez ; la dernière "
               "vérification compte.",
        "explore": "**À essayer** (les fonctions du kit pour commencer) :",
        "answers": "### Vos réponses\n\nRemplacez chaque `None` :",
        "check": "### Vérification",
        "solution": "Corrigé (enseignant) : il exécute les fonctions du kit sur le portefeuille d'un étudiant et "
                    "vérifie les réponses sans les enregistrer. Indiquez le dossier de l'étudiant dans "
                    "`student_dir`.",
        "tolerance": "tolérance",
    },
    "comments": {
        "this folder": "ce dossier",
        "the kit's saved tables": "les tables enregistrées par le kit",
        "load, standardize, merge duplicates": "chargement, normalisation, fusion des doublons",
        "as read from the file": "tels que lus dans le fichier",
        "cleaned and merged": "nettoyés et fusionnés",
        "the cleaned tables of exercise 1, as pandas frames": "les tables nettoyées de l'exercice 1, en DataFrames "
                                                              "pandas",
        "cancelled lines excluded": "lignes annulées exclues",
        "the costs: section of portfolio.yml": "la section costs: de portfolio.yml",
        "one P&L line per customer": "un compte de résultat par client",
        "largest revenue first": "du plus gros chiffre d'affaires au plus petit",
        "one P&L line and one feature row per customer": "un compte de résultat et une ligne de variables par "
                                                         "client",
        "scores k = 2 to 8": "évalue k de 2 à 8",
        "customer_id, cluster": "le segment (cluster) de chaque client (customer_id)",
        "converted or closed": "convertis ou perdus",
        "the clv: section of portfolio.yml": "la section clv: de portfolio.yml",
        "12 months, not the config's horizon": "12 mois, pas l'horizon de la configuration",
        "one row per customer: p_alive, expected_revenue...": "une ligne par client : p_alive, "
                                                              "expected_revenue...",
        "the top 10% of customers by forecast value": "les 10 % de clients en tête par valeur prévue",
    },
    "cli": {
        "created": "Atelier : {path} ({students}, exercices {exercises}, graine {seed}) ; réponses attendues et "
                   "corrigés dans {teacher}",
        "guessable_seed": "remarque : la graine {seed} peut être devinée ; qui la trouve reconstruit les réponses "
                          "attendues avec le kit. Omettez --seed pour une graine aléatoire (conservée dans "
                          "{teacher}/workshop.json).",
        "one_student": "1 étudiant",
        "n_students": "{n} étudiants",
        "total": "total : {points} / {max_points}",
        "grades": "Notes : {path}",
        "columns": "exercice,points,sur",
    },
    "feedback": {
        "correct": "juste.",
        "blank": "pas encore de réponse.",
        "not_a_number": "un nombre est attendu.",
        "not_a_count": "un nombre entier est attendu (un effectif).",
        "not_a_text": "un texte est attendu.",
        "not_a_list": "une liste d'identifiants clients est attendue (une liste vide `[]` s'il n'y en a aucun).",
        "not_a_mapping": "un dictionnaire est attendu (ou une table des identifiants clients et des segments).",
        "wrong": "hors de la tolérance (±{tolerance}).",
        "count_not_list": "une liste d'identifiants clients est attendue, pas leur nombre.",
        "overlap_partial": "votre liste recouvre celle attendue à {overlap} (Jaccard) ; des clients manquent ou ne "
                           "devraient pas y être.",
        "total": "Total : {points} / {max_points} points.",
    },
    "exercises": {
        "cleaning": {
            "title": "Nettoyer le fichier clients",
            "intro": "Votre portefeuille vient d'un export CRM avec les défauts des vrais exports : le même client "
                     "saisi deux fois avec une casse, des accents ou un format de téléphone différents, des e-mails "
                     "invalides, des formats de date mélangés. Le pipeline de nettoyage du kit (`clean_portfolio`) "
                     "normalise chaque champ et trouve les doublons par rapprochement probabiliste, puis fusionne "
                     "chaque groupe en un seul enregistrement survivant.",
            "explore": "`duplicates.duplicates_table()` liste chaque groupe et son survivant ; `email_issue` dit "
                       "pourquoi un e-mail n'est pas valide. Qu'est-ce qui compte comme doublon, et comme "
                       "*invalide* (un e-mail absent est-il invalide ?) ?",
            "answers": {
                "n_duplicate_customers": "combien d'enregistrements clients sont des doublons d'un autre (ceux qui "
                                         "disparaissent à la fusion) ; ±10 %",
                "n_invalid_emails": "combien d'e-mails sont renseignés mais invalides (syntaxe, valeur bouche-trou "
                                    "ou domaine mal orthographié)",
                "n_customers_after_merge": "combien de clients restent après la fusion ; ±10 % des doublons",
            },
            "feedback": {
                "n_duplicate_customers": {
                    "wrong": "hors de la tolérance (±10 %). Comptez les enregistrements fusionnés dans un survivant.",
                    "exact_only": "vous n'avez compté que les doublons exacts : bien d'autres enregistrements sont "
                                  "le même client écrit autrement (casse, accents, format du téléphone). Utilisez le "
                                  "rapprochement du pipeline de nettoyage.",
                    "groups_not_records": "vous avez compté les groupes de doublons ; la question porte sur les "
                                          "enregistrements qui disparaissent (un groupe de trois compte deux doublons).",
                },
                "n_invalid_emails": {
                    "wrong": "ce n'est pas le nombre d'e-mails invalides. Regardez `email_issue`.",
                    "missing_counted": "vous avez compté les e-mails absents comme invalides : un e-mail vide est "
                                       "manquant, pas invalide.",
                    "typo_missed": "certains e-mails invalides sont bien formés mais sur un domaine mal orthographié "
                                   "(gmial.com) : ils comptent aussi.",
                },
                "n_customers_after_merge": {
                    "wrong": "hors de la tolérance. Comptez les clients de la table nettoyée.",
                    "not_merged": "c'est le nombre d'enregistrements avant la fusion.",
                    "exact_only": "vous n'avez retiré que les doublons exacts ; fusionnez les groupes trouvés par le "
                                  "rapprochement.",
                },
            },
        },
        "pareto": {
            "title": "80/20 : le chiffre d'affaires est-il concentré ?",
            "intro": "Le chiffre d'affaires compte toutes les lignes sauf les lignes annulées ; les avoirs (lignes "
                     "négatives) sont déduits. `pareto.concentration_summary` donne, à partir d'une valeur par "
                     "client, le nombre de clients qui font 80 % du chiffre d'affaires, le coefficient de Gini et "
                     "l'indice de Herfindahl-Hirschman (HHI, en points : parts en pourcentage au carré, de 0 à "
                     "10 000). `pareto.major_customers` liste les clients à 10 % du chiffre d'affaires ou plus "
                     "(IFRS 8).",
            "explore": "Regardez d'abord les statuts des lignes : lesquelles font du chiffre d'affaires ? "
                       "`engine.revenue_lines` garde exactement celles-là.",
            "answers": {
                "revenue_total": "chiffre d'affaires net du portefeuille, lignes annulées exclues ; ±1 (unité "
                                 "monétaire)",
                "n_customers_80pct": "combien de clients font 80 % du chiffre d'affaires ; exact",
                "gini": "coefficient de Gini du chiffre d'affaires par client, 4 décimales ; ±0,0001",
                "hhi": "HHI en points ; ±0,5",
                "major_customers": "liste des identifiants des clients à 10 % du chiffre d'affaires ou plus "
                                   "(`[]` s'il n'y en a aucun) ; exacte",
            },
            "feedback": {
                "revenue_total": {
                    "wrong": "hors de la tolérance (±1). Additionnez les lignes de chiffre d'affaires.",
                    "with_cancelled": "votre chiffre d'affaires inclut les lignes annulées : elles n'ont jamais été "
                                      "facturées.",
                },
                "n_customers_80pct": {
                    "wrong": "ce n'est pas le décompte du kit. Utilisez `concentration_summary` sur le chiffre "
                             "d'affaires par client.",
                    "with_cancelled": "votre chiffre d'affaires par client inclut les lignes annulées.",
                    "share_not_count": "vous avez donné la part des clients ; la question demande combien.",
                },
                "gini": {
                    "wrong": "hors de la tolérance (±0,0001).",
                    "with_cancelled": "votre chiffre d'affaires par client inclut les lignes annulées.",
                    "gini_corrected": "c'est le Gini corrigé pour petit échantillon ; donnez le Gini simple (`gini`).",
                },
                "hhi": {
                    "wrong": "hors de la tolérance (±0,5).",
                    "with_cancelled": "votre chiffre d'affaires par client inclut les lignes annulées.",
                    "hhi_fraction": "le HHI est en points : parts en pourcentage, au carré (de 0 à 10 000).",
                },
                "major_customers": {
                    "wrong": "ce n'est pas la liste des clients majeurs. Utilisez `major_customers` avec le seuil "
                             "de 10 %.",
                    "not_major": "le plus gros client n'atteint pas 10 % du chiffre d'affaires ici.",
                },
            },
        },
        "profitability": {
            "title": "Qui coûte plus qu'il ne rapporte ?",
            "intro": "Le résultat d'un client est son chiffre d'affaires moins le coût des marchandises (marge "
                     "brute) moins son coût de service : commandes, lignes, livraisons, retours, retards de "
                     "paiement, service après-vente et gestion du compte, valorisés par la section `costs:` de "
                     "`portfolio.yml`. `profitability.customer_pnl` donne un compte de résultat par client ; "
                     "`profitability.loss_drivers` les clients non rentables, du plus gros chiffre d'affaires au "
                     "plus petit, avec le principal poste de coût de chaque perte.",
            "explore": "Triez le compte de résultat par résultat et comparez marge brute et coût de service.",
            "answers": {
                "n_unprofitable": "combien de clients perdent de l'argent (résultat négatif) ; exact",
                "largest_unprofitable": "identifiant du client non rentable au plus gros chiffre d'affaires",
                "main_cost_driver": "le principal poste de coût de ce client, nommé comme dans `loss_drivers`",
            },
            "feedback": {
                "n_unprofitable": {
                    "wrong": "ce n'est pas le nombre de clients au résultat négatif.",
                    "margin_only": "vous avez compté les clients à marge brute négative : déduisez aussi le coût de "
                                   "service.",
                    "zero_profit": "un résultat exactement nul n'est pas une perte.",
                },
                "largest_unprofitable": {
                    "wrong": "ce n'est pas le client non rentable au plus gros chiffre d'affaires.",
                    "largest_loss": "vous avez choisi la plus grosse perte ; la question porte sur le plus gros "
                                    "client (en chiffre d'affaires) parmi ceux qui perdent de l'argent.",
                    "profitable_customer": "ce client est rentable.",
                },
                "main_cost_driver": {
                    "wrong": "ce n'est pas son principal poste de coût.",
                    "driver_column": "nommez le poste comme `loss_drivers` (sa colonne `main_driver`) : commandes, "
                                     "lignes et livraisons comptent ensemble dans « order handling ».",
                    "cogs_not_driver": "sa marge brute est positive : la perte vient du coût de service.",
                },
            },
        },
        "segmentation": {
            "title": "Segmenter les clients",
            "intro": "Les segments sont des groupes de clients qui se comportent de la même façon. Le kit regroupe "
                     "une table de variables (récence, fréquence, montant, panier moyen, remises, retours, retards "
                     "de paiement, service, marge, type de client) après une transformation logarithmique et une "
                     "mise à l'échelle robuste, pour k = 2 à 8, et propose un k exploitable par une équipe "
                     "marketing. Choisissez k, justifiez-le, nommez les segments. La vérification vous dira ensuite "
                     "à quel point vos segments retrouvent les segments cachés qui ont servi à générer les données "
                     "(indice de Rand ajusté : 1 = la même partition, 0 = le hasard).",
            "explore": "Comparez pour chaque k la silhouette, la taille du plus petit segment et le nombre de "
                       "variables qui séparent les segments. Regrouper les montants bruts sans mise à l'échelle "
                       "laisse les plus gros chiffres décider seuls.",
            "answers": {
                "k": "le nombre de segments choisi (la règle du kit, ou un k à égalité avec lui) ; exact",
                "k_reason": "une ou deux phrases : pourquoi ce k (nommez le critère)",
                "segment_names": "un nom par segment : `{numéro de segment: nom}`, noms distincts",
                "segments": "le segment de chaque client (`segment_customers(...).clusters`, ou une Series indexée "
                            "par identifiant client)",
            },
            "feedback": {
                "k": {
                    "wrong": "ce n'est pas le k que propose la règle du kit. Regardez la silhouette des k "
                             "exploitables.",
                    "raw_features": "ce k est celui que donnent les variables brutes, sans mise à l'échelle : les "
                                    "plus gros montants décident seuls. Le kit passe les variables au logarithme et "
                                    "les met à l'échelle d'abord.",
                    "two_too_coarse": "deux segments, c'est souvent la coupure la plus nette (clients d'un achat "
                                      "contre clients fidèles) mais trop grossière pour agir ; choisissez entre 3 et 8.",
                    "silhouette_only": "ce k a la meilleure silhouette, mais un segment trop petit ou des segments "
                                       "qui diffèrent sur moins de deux variables.",
                },
                "k_reason": {
                    "correct": "merci, c'est noté pour votre enseignant.",
                    "too_short": "écrivez une ou deux phrases.",
                    "no_criterion": "dites quel critère a décidé (silhouette, taille des segments, variables qui "
                                    "les séparent, stabilité...).",
                },
                "segment_names": {
                    "correct": "chaque segment a un nom.",
                    "names_without_segments": "donnez d'abord vos segments (`segments`).",
                    "names_missing": "donnez un nom à chaque segment de votre réponse `segments`.",
                    "names_not_distinct": "deux segments portent le même nom.",
                },
                "segments": {
                    "labels_good": "indice de Rand ajusté avec les segments cachés : {ari}, aussi bon que la "
                                   "segmentation du kit.",
                    "labels_weak": "indice de Rand ajusté avec les segments cachés : {ari} ; la segmentation du kit "
                                   "fait mieux. Vérifiez les variables et leur mise à l'échelle.",
                    "labels_not_k": "vos segments ne forment pas k groupes (indice de Rand ajusté {ari}).",
                    "labels_unknown_ids": "ce ne sont pas les identifiants clients de votre portefeuille.",
                },
            },
        },
        "scoring": {
            "title": "Noter les leads",
            "intro": "Une grille de points donne à chaque lead des points pour son profil (qui il est : fonction, "
                     "taille, secteur, budget) et son engagement (ce qu'il a fait : rendez-vous, téléchargements, "
                     "clics), chaque groupe plafonné, sur 100. Écrivez-en une sous forme de dictionnaire sur le modèle "
                     "de `BASELINE_CARD` (la section `scoring: leads:` d'une configuration, voir le README du kit) : "
                     "`fit` et `engagement`, chacun avec un plafond `cap` et des `criteria` comme "
                     "`{{\"column\": \"role\", \"equals\": \"CEO / owner\", \"points\": 15}}` ou "
                     "`{{\"event\": \"meeting\", \"at_least\": 1, \"points\": 15}}`. Elle est jugée sur les leads mis de côté (`test` : les issues "
                     "connues les plus récentes) par l'AUC ROC de ses points. **Référence à battre :** une grille "
                     "qui ne donne que 10 points aux recommandations (referral), AUC **{baseline_auc}** sur les "
                     "leads mis de côté (jamais moins de 0,5, l'AUC du hasard).",
            "explore": "Regardez les leads d'apprentissage et leurs événements ; notez-les avec la grille de "
                       "référence.",
            "answers": {
                "lead_scorecard": "votre grille (dictionnaire avec `fit` et `engagement`) ; elle doit battre la "
                                  "référence sur les leads mis de côté",
                "test_auc": "l'AUC de votre grille sur les leads mis de côté ; ±0,005",
            },
            "feedback": {
                "lead_scorecard": {
                    "card_beats_baseline": "AUC sur les leads mis de côté {auc} : mieux que la référence.",
                    "card_below_baseline": "AUC sur les leads mis de côté {auc} : pas mieux que la référence. "
                                           "Quels événements avaient les leads convertis ?",
                    "card_no_engagement": "ajoutez des critères d'engagement (événements comme les rendez-vous ou "
                                          "les téléchargements).",
                    "card_no_fit": "ajoutez des critères de profil (fonction, taille, secteur, budget).",
                    "card_invalid": "la grille n'est pas valide : {error}",
                },
                "test_auc": {
                    "auc_wrong": "ce n'est pas l'AUC de votre grille sur les leads mis de côté.",
                    "auc_on_train": "vous avez mesuré l'AUC sur les leads d'apprentissage ; utilisez ceux mis de "
                                    "côté (`test`).",
                    "auc_on_all": "vous avez mesuré l'AUC sur tous les leads connus ; utilisez ceux mis de côté "
                                  "(`test`).",
                    "auc_without_card": "donnez d'abord une grille valide (`lead_scorecard`).",
                },
            },
        },
        "forecast": {
            "title": "Prévoir : qui est probablement parti, ce que rapporteront les meilleurs clients",
            "intro": "Les modèles « buy-till-you-die » décrivent chaque client par un rythme d'achat tant qu'il est "
                     "actif et une probabilité de partir sans prévenir. `future_value` (notebook 06) ajuste trois "
                     "modèles d'achat (BG/NBD, Pareto/NBD, BG/NBD modifié) sur les achats avant "
                     "`clv.calibration_end`, garde celui qui prédit le mieux les achats qui suivent, le réajuste sur "
                     "toutes les données et ajoute le modèle de dépense Gamma-Gamma : `result.value` donne, par "
                     "client, la probabilité d'être encore actif (`p_alive`) et les achats et le chiffre "
                     "d'affaires attendus sur l'horizon des réglages. Les modèles demandent au moins 30 clients "
                     "ayant acheté deux jours ou plus (`result.fitness`). Un client est *probablement parti* quand "
                     "P(actif) < 0,2 (`value_report.GONE_THRESHOLD`). Lisez la section `clv:` de votre "
                     "configuration avant de commencer : la question porte sur les **12 prochains mois**.",
            "explore": "Fonctions à utiliser : `future_value`, `value_report.settings_with_overrides`, "
                       "`value_report.shown_model_table`, `value_report.choice_sentence`, `value_report.p_alive_note`. "
                       "Que dit le modèle choisi d'un client qui n'a acheté qu'une fois ?",
            "answers": {
                "model": "le modèle d'achat choisi par le kit (`bgnbd`, `pnbd` ou `mbgnbd`)",
                "probably_gone": "liste des identifiants des clients avec P(actif) < 0,2 selon ce modèle ; tous les "
                                 "points à partir d'un recouvrement (Jaccard) de 0,9 avec la liste du kit",
                "top_decile_value": "le chiffre d'affaires attendu sur les 12 prochains mois des 10 % de clients "
                                    "en tête selon ce chiffre d'affaires attendu (nombre de clients arrondi au-dessus) "
                                    "; ±1 %",
            },
            "feedback": {
                "model": {
                    "wrong": "ce n'est pas un modèle d'achat du kit : `bgnbd`, `pnbd` ou `mbgnbd`.",
                    "not_chosen": "ce modèle a été ajusté, mais pas choisi : le kit garde le modèle à la plus petite "
                                  "erreur sur la période de test (`result.choice`).",
                    "spend_model": "Gamma-Gamma est le modèle de dépense ; la question porte sur le modèle d'achat.",
                },
                "probably_gone": {
                    "correct_bgnbd": "juste. Notez qu'avec BG/NBD un client qui n'a acheté qu'une fois a P(actif) = 1 "
                                     "par construction : aucun d'eux ne peut être dans cette liste, c'est une "
                                     "propriété du modèle, pas un constat.",
                    "wrong": "loin de la liste du kit. Prenez `p_alive` dans `result.value` du modèle choisi.",
                    "one_time_alive": "c'est la liste de BG/NBD : avec BG/NBD un client qui n'a acheté qu'une fois a "
                                      "P(actif) = 1 par construction, donc aucun n'y figure. Utilisez le modèle "
                                      "choisi par le kit.",
                    "one_time_left_out": "vous avez laissé de côté les clients d'un seul achat : le modèle choisi "
                                         "leur donne aussi une P(actif), souvent basse.",
                    "no_purchase_12m": "vous avez listé les clients sans achat depuis 12 mois : c'est une règle de "
                                       "récence, pas la P(actif) du modèle, qui tient compte du rythme d'achat de "
                                       "chaque client.",
                    "other_model": "c'est la liste d'un autre modèle d'achat que celui choisi par le kit.",
                    "count_not_list": "donnez la liste des identifiants clients, pas leur nombre.",
                },
                "top_decile_value": {
                    "wrong": "pas à 1 % près du chiffre du kit. Classez les clients par chiffre d'affaires attendu "
                             "sur 12 mois et additionnez les 10 % premiers.",
                    "past_revenue": "vous avez additionné du chiffre d'affaires déjà réalisé ; la question porte "
                                    "sur le chiffre d'affaires attendu des 12 prochains mois (`expected_revenue`).",
                    "ranked_by_past": "vous avez pris les 10 % premiers selon le chiffre d'affaires passé ; classez "
                                      "les clients selon leur valeur prévue : les meilleurs clients d'hier ne sont "
                                      "pas tous ceux de demain.",
                    "horizon": "c'est la valeur sur l'horizon de planification de la configuration, pas sur 12 "
                               "mois : fixez l'horizon avec `settings_with_overrides`.",
                    "discounted": "c'est la valeur actualisée (`clv`) ; la question porte sur le chiffre d'affaires "
                                  "attendu, non actualisé.",
                    "all_customers": "c'est le chiffre d'affaires attendu de tous les clients ; gardez les 10 % "
                                     "premiers.",
                },
            },
        },
    },
}

#: Every text, by language.
TEXTS: dict[str, dict[str, Any]] = {"en": _EN, "fr": _FR}


def exercise_texts(lang: str, slug: str) -> dict[str, Any]:
    """The texts of one exercise in one language."""
    return TEXTS[lang]["exercises"][slug]


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def number_text(value: Any, lang: str, digits: int | None = None) -> str:
    """A number as the language writes it (decimal comma in French); other values unchanged.

    ``digits`` fixes the decimals; else a float is written without trailing zeros. A text that
    is a number (``"0.62"``) is rewritten too.

    Examples
    --------
    >>> number_text(0.6251, "fr", 3), number_text(1.0, "en"), number_text("0.05", "fr"), number_text("a.b", "fr")
    ('0,625', '1', '0,05', 'a.b')
    >>> number_text(1234567890123, "fr")
    '1234567890123'
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and digits is None:
        text = str(value)
    elif isinstance(value, int | float):
        text = f"{value:.{digits}f}" if digits is not None else f"{value:.10g}"
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        text = value
    else:
        return value if isinstance(value, str) else str(value)
    return text.replace(".", ",") if lang == "fr" else text


def _numbers(values: dict[str, Any], lang: str) -> dict[str, Any]:
    return {key: number_text(value, lang) for key, value in values.items() if value is not None}


def feedback_text(lang: str, slug: str | None, name: str | None, feedback_id: str, **values: Any) -> str:
    """The feedback sentence for one answer: the exercise's own wording first, else the generic one.

    Examples
    --------
    >>> feedback_text("en", "pareto", "gini", "with_cancelled")
    'your revenue per customer includes the cancelled lines.'
    >>> feedback_text("fr", "pareto", "hhi", "blank")
    'pas encore de réponse.'
    >>> feedback_text("fr", "pareto", "hhi", "wrong", tolerance=0.5)
    'hors de la tolérance (±0,5).'
    """
    texts = TEXTS[lang]
    specific = texts["exercises"][slug]["feedback"].get(name, {}) if slug else {}
    template = specific.get(feedback_id) or texts["feedback"][feedback_id]
    return template.format(**_numbers(values, lang))


def cli_text(lang: str, name: str, **values: Any) -> str:
    """A message of ``portfolio workshop`` in the workshop's language (English when unknown).

    Examples
    --------
    >>> cli_text("fr", "total", points="3.5", max_points=24)
    'total : 3,5 / 24'
    >>> cli_text("en", "n_students", n=20)
    '20 students'
    """
    lang = lang if lang in TEXTS else "en"
    return TEXTS[lang]["cli"][name].format(**_numbers(values, lang))


def localized_code(lang: str, source: str) -> str:
    """A notebook code cell with its comments in the language (``TEXTS[lang]["comments"]``).

    Raises
    ------
    KeyError
        A comment that has no text in the language: every comment a student reads is translated.

    Examples
    --------
    >>> localized_code("fr", 'student_dir = "."  # this folder')
    'student_dir = "."  # ce dossier'
    """
    comments = TEXTS[lang]["comments"]
    lines = source.split("\n")
    tokens = [token for token in tokenize.generate_tokens(io.StringIO(source).readline)
              if token.type == tokenize.COMMENT]
    for token in tokens:
        row, column = token.start
        text = token.string[1:].strip()
        if text not in comments:
            raise KeyError(f"the code comment {text!r} has no {lang!r} text in TEXTS[{lang!r}]['comments']")
        lines[row - 1] = lines[row - 1][:column] + "# " + comments[text]
    return "\n".join(lines)

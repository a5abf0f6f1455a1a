"""Contact rules: do-not-contact and consent per channel, on every kind of call list."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import contact
from portfolio_helpers.analysis.voice import VoiceResults
from portfolio_helpers.ingest.parsing import parse_boolean
from portfolio_helpers.reporting import voice

CUSTOMERS = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e", "f"],
    "preferred_channel": ["phone", "phone", "email", "mail", "email", None],
    "consent_email": ["yes", "oui", "no", "non", None, "1"],
    "consent_phone": ["TRUE", "0", "1", "false", "n", "y"],
    "do_not_contact": ["no", "no", "yes", "0", "no", "False"],
})


@pytest.mark.parametrize("spelling,value", [("yes", True), ("Oui", True), ("1", True), ("true", True), ("Y", True),
                                            (" TRUE ", True), ("no", False), ("non", False), ("0", False),
                                            ("false", False), ("N", False)])
def test_consent_spellings(spelling, value):
    parsed = parse_boolean(pd.Series([spelling, None]))
    assert parsed.values.tolist() == [value, pd.NA] and not parsed.bad.any()


def test_unreadable_consent_is_flagged():
    assert parse_boolean(pd.Series(["maybe", "2"])).bad.tolist() == [True, True]


def test_rules_by_hand():
    result = contact.apply_contact_rules(pd.DataFrame({"customer_id": list("abcdefz")}), CUSTOMERS)
    # a: phone consented and preferred; b: prefers phone without consent -> e-mail; c: do not contact;
    # d: prefers mail (needs no consent); e: no consent at all; f: consents both, no preference -> e-mail;
    # z: not in the customers table, so no consent on file
    assert result.frame[["customer_id", "contact_channel"]].values.tolist() == [
        ["a", "phone"], ["b", "email"], ["d", "mail"], ["f", "email"]]
    assert dict(zip(result.exclusions["reason"], result.exclusions["n"], strict=True)) == {
        contact.REASON_DO_NOT_CONTACT: 1, contact.REASON_NOT_ON_FILE: 1, contact.REASON_NO_CONSENT: 1}
    assert result.n_excluded_no_consent == 2 and result.consent_known
    assert result.without_consent == {"email": 4, "phone": 4}  # c, d, e, z / b, d, e, z


def test_without_consent_columns_nothing_is_filtered():
    calls = pd.DataFrame({"customer_id": ["a", "b", "z"]})
    result = contact.apply_contact_rules(calls, CUSTOMERS[["customer_id", "preferred_channel"]])
    assert result.frame["customer_id"].tolist() == ["a", "b", "z"] and not result.consent_known
    assert result.frame["contact_channel"].tolist() == ["phone", "phone", pd.NA]
    assert contact.apply_contact_rules(calls, None).n_excluded == 0


def test_only_email_consent_known_leaves_phone_open():
    result = contact.apply_contact_rules(pd.DataFrame({"customer_id": ["c", "e"]}),
                                         CUSTOMERS[["customer_id", "consent_email"]])
    assert result.frame["customer_id"].tolist() == ["c", "e"]  # phone consent not known: reachable by phone
    assert result.frame["contact_channel"].tolist() == ["phone", "phone"]


LISTS = {  # the lists the kit exports for action, as their exports hold them
    "at_risk_customers": pd.DataFrame({"customer_id": list("abcde"), "monetary": [5.0, 4, 3, 2, 1]}),
    "prospects_lookalike": pd.DataFrame({"customer_id": list("edcba"), "stage": ["prospect"] * 5}),
    "valuable_detractors": pd.DataFrame({"customer_id": list("cabed"), "score": [1, 2, 3, 4, 5]}),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_customer_list_excludes_and_counts(name, tmp_path):
    kept = voice.reachable(LISTS[name], {"customers": CUSTOMERS}, tmp_path, name)
    assert sorted(kept["customer_id"]) == ["a", "b", "d"] and kept["contact_channel"].notna().all()
    log = voice.read_contact_log(tmp_path).set_index("reason")
    assert log.loc[contact.REASON_DO_NOT_CONTACT, "n"] == 1 and log.loc[contact.REASON_NO_CONSENT, "n"] == 1
    assert (log["list"] == name).all() and (log["listed"] == 5).all() and (log["kept"] == 3).all()


def test_lead_list_uses_the_leads_consent_and_logs_each_list_once(tmp_path):
    leads = pd.DataFrame({"lead_id": ["L1", "L1", "L2", "L3"],
                          "date": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-01-01", "2025-01-01"]),
                          "consent_email": ["yes", "no", "oui", "non"], "do_not_contact": [None, None, "1", "0"]})
    scored = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "total_score": [80, 70, 60]})
    tables = {"leads": leads, "customers": CUSTOMERS}
    kept = voice.reachable(scored, tables, tmp_path, "leads_scored", "lead_id")
    # L1's latest e-mail consent is "no", phone consent is not known: kept, by phone; L2 asked not to be contacted
    assert kept[["lead_id", "contact_channel"]].values.tolist() == [["L1", "phone"], ["L3", "phone"]]
    voice.reachable(scored, tables, tmp_path, "leads_scored", "lead_id")  # a rerun replaces the list's rows
    voice.reachable(LISTS["at_risk_customers"], tables, tmp_path, "at_risk_customers")
    log = voice.read_contact_log(tmp_path)
    assert log.groupby("list")["n"].sum().to_dict() == {"at_risk_customers": 2, "leads_scored": 1}
    assert voice.reachable(None, tables, tmp_path, "leads_scored", "lead_id") is None


YES_NO = st.sampled_from(["yes", "no", "oui", "non", "1", "0", "true", "false", None])


@settings(deadline=None, max_examples=25)
@given(st.lists(st.tuples(st.sampled_from(["email", "phone", "mail", "visit", None]), YES_NO, YES_NO, YES_NO),
                min_size=1, max_size=30),
       st.sets(st.sampled_from(list(contact.CONTACT_COLUMNS))))
def test_contact_rules_invariants(rows, dropped):
    customers = pd.DataFrame(rows, columns=list(contact.CONTACT_COLUMNS)).drop(columns=list(dropped))
    customers.insert(0, "customer_id", [f"c{i}" for i in range(len(rows))])
    result = contact.apply_contact_rules(customers[["customer_id"]], customers)
    assert len(result.frame) + result.n_excluded == len(customers)
    kept = customers.set_index("customer_id").loc[result.frame["customer_id"]]
    if "do_not_contact" in kept.columns:
        assert not parse_boolean(kept["do_not_contact"]).values.fillna(False).any()
    for channel, consent in (("email", "consent_email"), ("phone", "consent_phone")):
        chosen = (result.frame["contact_channel"] == channel).fillna(False).to_numpy()
        if consent in kept.columns and customers[consent].notna().any() and chosen.any():  # (empty: not known)
            assert parse_boolean(kept[consent][chosen]).values.fillna(False).all()
    if not result.consent_known:
        assert result.n_excluded == 0


def test_at_risk_call_list_by_hand(tmp_path):
    risk = pd.DataFrame({"customer_id": list("abcde"), "monetary": [5000.0, 4000.0, 3000.0, 2000.0, 1000.0],
                         "recency_days": [200, 90, 120, 61, 300], "usual_gap_days": [40.0, 30.0, 50.0, 20.0, 100.0],
                         "days_overdue": [120.0, 30.0, 20.0, 21.0, 100.0], "value_score": [90.0, 80, 70, 60, 50]})
    customers = CUSTOMERS.assign(owner=["Ann", "Bob", "Cy", "Di", "Ed", "Flo"])
    tables = {"customers": customers}
    calls = voice.reachable(voice.at_risk_calls(risk, tables), tables, tmp_path, "at_risk_customers")
    # c asked not to be contacted, e consented to no channel (e-mail left empty, phone "n")
    assert calls[["customer_id", "owner", "revenue_at_risk", "contact_channel"]].values.tolist() == [
        ["a", "Ann", 5000.0, "phone"], ["b", "Bob", 4000.0, "email"], ["d", "Di", 2000.0, "mail"]]
    assert calls["reason"].tolist() == ["no purchase for 200 days, 5.0× their usual 40 days between purchases",
                                        "no purchase for 90 days, 3.0× their usual 30 days between purchases",
                                        "no purchase for 61 days, 3.0× their usual 20 days between purchases"]
    assert voice.exclusion_sentence(tmp_path, "at_risk_customers") == (
        "Valuable customers at risk: 3 of 5 may be contacted; 2 left out: 1 asked not to be contacted "
        "(do_not_contact), 1 gave no consent for any channel.")
    assert voice.exclusion_sentence(tmp_path, "prospects_lookalike") == ""  # not run


def test_exclusion_sentences_when_nobody_is_left_out_or_consent_is_not_known(tmp_path):
    kept = pd.DataFrame({"customer_id": ["a", "b"]})
    voice.reachable(kept, {"customers": CUSTOMERS}, tmp_path, "prospects_lookalike")
    voice.reachable(pd.DataFrame({"lead_id": ["L1", "L2"]}), {"customers": CUSTOMERS}, tmp_path, "leads_scored",
                    "lead_id")
    assert voice.exclusion_sentence(tmp_path, "prospects_lookalike") == (
        "Look-alike prospects: both are kept (nobody asked not to be contacted, each consented to a channel).")
    assert voice.exclusion_sentence(tmp_path, "leads_scored") == (
        "Open leads to call: consent is not known (their table has no consent or do-not-contact column), "
        "so both are kept.")


def test_contact_text_names_each_table_and_each_list(tmp_path):
    leads = pd.DataFrame({"lead_id": ["L1", "L2"], "date": pd.to_datetime(["2025-01-01"] * 2),
                          "consent_email": ["yes", "no"]})
    tables = {"leads": leads, "customers": CUSTOMERS[["customer_id", "preferred_channel"]]}
    result = VoiceResults(tables)
    voice.reachable(pd.DataFrame({"lead_id": ["L1", "L2"]}), tables, tmp_path, "leads_scored", "lead_id")
    voice.reachable(pd.DataFrame({"customer_id": ["a"]}), tables, tmp_path, "at_risk_customers")
    text = voice.contact_text(result, tmp_path)
    # Only the leads carry consent: the leads list is filtered (L2 has no e-mail consent; phone is not known,
    # so it stays open), the customers' list is not, and each says so.
    assert "The leads table gives `consent_email`; not known there, so not filtered: phone consent." in text
    assert "Open leads to call: both are kept" in text
    assert "Valuable customers at risk: consent is not known" in text and "Consent is not known**" not in text
    assert "Consent is not known" in voice.contact_text(VoiceResults({"customers": CUSTOMERS[["customer_id"]]}),
                                                        tmp_path)


def test_every_list_of_a_page_in_one_call_by_hand(tmp_path):
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "date": pd.to_datetime(["2025-01-01"] * 3),
                          "consent_phone": ["oui", "non", "true"], "do_not_contact": ["0", "0", "1"]})
    tables = {"customers": CUSTOMERS, "leads": leads}
    lists = {"leads_scored": pd.DataFrame({"lead_id": ["L3", "L2", "L1"], "total_score": [90, 80, 70]}),
             "at_risk_customers": LISTS["at_risk_customers"],
             "prospects_lookalike": pd.DataFrame({"customer_id": ["f", "z"], "lookalike_score": [50.0, 40.0]}),
             "valuable_detractors": None}
    results = contact.contact_lists(lists, tables, id_cols={"leads_scored": "lead_id"})
    # L3 asked not to be contacted; e-mail consent is not known, so e-mail stays open: L2 (no phone consent)
    # and L1 (no preference; e-mail comes before phone) are kept, by e-mail
    assert results["leads_scored"].frame[["lead_id", "contact_channel"]].values.tolist() == [
        ["L2", "email"], ["L1", "email"]]
    assert results["at_risk_customers"].frame["customer_id"].tolist() == ["a", "b", "d"]
    # z is not in the customers table: no consent on file
    assert results["prospects_lookalike"].frame["customer_id"].tolist() == ["f"]
    assert results["prospects_lookalike"].exclusions.to_dict("records") == [
        {"reason": contact.REASON_NOT_ON_FILE, "n": 1}]
    assert results["valuable_detractors"] is None
    # the same through the reporting layer, which logs every list of the call at once
    (tmp_path / "exports").mkdir()
    pd.DataFrame([{"list": "valuable_detractors", "listed": 9, "kept": 9, "consent_known": True, "reason": "",
                   "n": 0}]).to_csv(tmp_path / voice.CONTACT_LOG, index=False)  # an earlier run's list
    kept = voice.reachable_lists(lists, tables, tmp_path, id_cols={"leads_scored": "lead_id"})
    assert {name: None if frame is None else len(frame) for name, frame in kept.items()} == {
        "leads_scored": 2, "at_risk_customers": 3, "prospects_lookalike": 1, "valuable_detractors": None}
    log = voice.read_contact_log(tmp_path)
    assert log.groupby("list")["n"].sum().to_dict() == {"at_risk_customers": 2, "leads_scored": 1,
                                                         "prospects_lookalike": 1}  # the stale list is gone
    # no consent: e on the at-risk list, z (not on file) among the prospects; L3 and c asked not to be contacted
    assert voice.voice_metrics(VoiceResults(tables), tmp_path) == {"n_excluded_no_consent": 2}
    view = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "lookalike_score": [30.0, 20.0, 10.0]})
    assert voice.only_reachable(view, kept["leads_scored"], "lead_id")[["lead_id", "contact_channel"]] \
        .values.tolist() == [["L1", "email"], ["L2", "email"]]


def test_notebooks_apply_the_contact_rules_once_to_every_exported_list():
    import ast

    import nbformat

    from portfolio_helpers.app.runner import DEFAULT_NOTEBOOKS_DIR

    def nodes(stem):
        cells = nbformat.read(DEFAULT_NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4).cells
        return [node for cell in cells if cell.cell_type == "code" for node in ast.walk(ast.parse(cell.source))]

    def calls(stem, names):
        return [node for node in nodes(stem) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in names]

    ruled = calls("05_scoring", ("reachable", "reachable_lists", "apply_contact_rules", "contact_lists"))
    assert [c.func.attr for c in ruled] == ["reachable_lists"]
    assert [key.value for key in ruled[0].args[0].keys] == ["leads_scored", "at_risk_customers",
                                                            "prospects_lookalike"]
    # every CSV the page writes is one of the lists that call returned, as it returned it
    exported = {c.args[0].id for c in calls("05_scoring", ("atomic_to_csv",))}
    assigned = {node.targets[0].id: ast.unparse(node.value) for node in nodes("05_scoring")
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert {name: assigned[name] for name in exported} == {
        "scored_export": "reached['leads_scored']", "at_risk_view": "reached['at_risk_customers']",
        "prospects": "reached['prospects_lookalike']"}
    assert [ast.unparse(c.func) for c in calls("08_voice", ("reachable", "reachable_lists", "log_contacts"))] == ["report.log_contacts"]


def test_the_lead_call_list_shows_the_channel_the_rules_gave():
    from portfolio_helpers.reporting import scoring as scoring_report

    columns = scoring_report.CALL_LIST_COLUMNS
    scored = pd.DataFrame([[f"{c}-{i}" for c in columns] + ["x", "email"] for i in range(2)],
                          columns=[*columns, "last_activity", "contact_channel"])
    assert list(scoring_report.call_list(scored).columns) == [*columns, "contact_channel"]
    assert list(scoring_report.call_list(scored.drop(columns="contact_channel")).columns) == columns


def test_each_customers_status_by_hand():
    """exports/customers.csv had no contact status: filtering it on at_risk reached people who asked not to be
    contacted. Four customers: a may be called (consented, prefers phone), b prefers a letter (no consent needed),
    c asked not to be contacted, d consented to nothing."""
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                              "preferred_channel": ["phone", "mail", "email", None],
                              "consent_email": ["yes", "no", "yes", "no"], "consent_phone": ["oui", "non", "1", "0"],
                              "do_not_contact": ["no", "no", "yes", "no"]})
    per_customer = pd.DataFrame({"customer_id": ["d", "c", "b", "a"], "at_risk": [True, True, False, True]})
    out = voice.with_contact_status(per_customer, {"customers": customers})
    assert list(out.columns) == ["customer_id", "at_risk", "contact_channel", "contact_status"]
    assert out.astype(object).where(out.notna(), None).values.tolist() == [
        ["d", True, None, contact.REASON_NO_CONSENT],
        ["c", True, None, contact.REASON_DO_NOT_CONTACT],
        ["b", False, "mail", "ok"],
        ["a", True, "phone", "ok"]]
    # the same rule as the call list of the at-risk customers: the same people kept, by the same channel
    calls = contact.apply_contact_rules(per_customer[per_customer["at_risk"]], customers)
    assert calls.frame[["customer_id", "contact_channel"]].values.tolist() == [["a", "phone"]]
    assert dict(zip(calls.exclusions["reason"], calls.exclusions["n"], strict=True)) == {
        contact.REASON_DO_NOT_CONTACT: 1, contact.REASON_NO_CONSENT: 1}
    # a customer missing from the customers table has no consent on file
    stray = voice.with_contact_status(pd.DataFrame({"customer_id": ["z"]}), {"customers": customers})
    assert stray["contact_status"].tolist() == [contact.REASON_NOT_ON_FILE] and stray["contact_channel"].isna().all()


@pytest.mark.parametrize("columns", [["customer_id"], ["customer_id", "owner"]])
def test_without_contact_columns_the_export_gains_nothing(columns):
    customers = pd.DataFrame({"customer_id": ["a", "b"], "owner": ["Ann", "Bob"]})[columns]
    per_customer = pd.DataFrame({"customer_id": ["a", "b"], "at_risk": [True, False]})
    for tables in ({"customers": customers}, {}):
        assert voice.with_contact_status(per_customer, tables).equals(per_customer)
    empty = customers.assign(do_not_contact=None)  # a contact column empty for everyone is not known
    assert voice.with_contact_status(per_customer, {"customers": empty}).equals(per_customer)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.tuples(st.sampled_from(["email", "phone", "mail", "visit", None]), YES_NO, YES_NO, YES_NO),
                min_size=1, max_size=30),
       st.sets(st.sampled_from(list(contact.CONTACT_COLUMNS))), st.integers(0, 2**16))
def test_statuses_follow_the_call_lists_rule(rows, dropped, seed):
    customers = pd.DataFrame(rows, columns=list(contact.CONTACT_COLUMNS)).drop(columns=list(dropped))
    customers.insert(0, "customer_id", [f"c{i}" for i in range(len(rows))])
    listed = customers[["customer_id"]].sample(frac=0.6, random_state=seed)
    listed = pd.concat([listed, pd.DataFrame({"customer_id": ["stranger"]})], ignore_index=True)
    result = contact.apply_contact_rules(listed, customers)
    statuses = contact.contact_statuses(listed, customers)
    if statuses is None:
        assert not result.known
        return
    ok = statuses[statuses["contact_status"] == "ok"]
    assert ok["customer_id"].tolist() == result.frame["customer_id"].tolist()
    assert ok["contact_channel"].tolist() == result.frame["contact_channel"].tolist()
    assert statuses.loc[statuses["contact_status"] != "ok", "contact_channel"].isna().all()
    counts = statuses.loc[statuses["contact_status"] != "ok", "contact_status"].value_counts().to_dict()
    assert counts == dict(zip(result.exclusions["reason"], result.exclusions["n"], strict=True))

"""The shipped CX-ONE-GO set with a consent ledger (policies/ledger.pdp): its decisions cite the events they
relied on, and without a ledger it decides as before. Both sides of each rule: policies/tests/ledger.yaml."""

from pathlib import Path

import pytest

import pdp
from pdp.ledger import open_ledger
from tests.support.ledger import KEY, event

POLICIES = Path(__file__).resolve().parent.parent / "policies"
EMAIL = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
         "data_subject": {"id": "u-81723", "type": "customer", "age": 30, "country": "IN"}}


@pytest.fixture(scope="module")
def policies():
    return pdp.load(POLICIES)


def test_the_set_declares_each_attribute_the_ledger_fills(policies):
    assert {f.dotted: (f.source, f.name) for f in policies.ledger_fills} == {
        "data_subject.consent.marketing": ("consent", "marketing"),
        "data_subject.consent.cookies": ("consent", "cookies"),
        "data_subject.consent.location": ("consent", "location"),
        "context.email_marketing_opted_out": ("marketing_opt_out", "email"),
        "context.ads_opted_out": ("marketing_opt_out", "ads"),
        "context.objection_upheld": ("objection", None),
        "context.processing_restricted": ("restriction", None),
        "context.consented_to_current_version": ("current_version_accepted", None),
    }


def test_an_opt_out_in_the_ledger_denies_promotional_email_and_the_reasons_name_the_event(policies, tmp_path):
    with open_ledger(tmp_path / "consent.db", key=KEY) as ledger:
        assert policies.decide(EMAIL).decision == "allow"  # no ledger: as today
        withdrawn = ledger.record(event("consent.withdrawn", "u-81723", topic="marketing"))
        decision = pdp.with_ledger(policies, ledger).decide(EMAIL)
    assert decision.decision == "deny"
    reasons = {r["rule"]: r for r in decision.to_dict()["reasons"]}
    assert set(reasons) == {"marketing.email_opt_out", "marketing.opted_out"}
    for reason in reasons.values():
        [cited] = reason["ledger"]
        assert (cited["attribute"], cited["value"], cited["by"]) == ("data_subject.consent.marketing", False, "ledger")
        assert cited["event_ids"] == [withdrawn.event_id] and withdrawn.event_id in cited["says"]


def test_a_person_with_no_events_is_decided_on_the_request_alone(policies, tmp_path):
    with open_ledger(tmp_path / "consent.db", key=KEY) as ledger:
        ledger.record(event("consent.withdrawn", "someone-else", topic="marketing"))
        for consent in ({}, {"marketing": False}, {"marketing": True}):
            request = {**EMAIL, "data_subject": {**EMAIL["data_subject"], "consent": consent}}
            decided = pdp.with_ledger(policies, ledger).decide(request).to_dict()
            plain = policies.decide(request).to_dict()
            assert (decided["decision"], [r["rule"] for r in decided["reasons"]]) == \
                (plain["decision"], [r["rule"] for r in plain["reasons"]])

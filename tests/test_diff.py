"""`pdp diff`: every kind of request whose decision an edit changes, on real edits of the CX-ONE-GO set."""

import json
import shutil
from pathlib import Path

import pytest

import pdp
from pdp.cli import main
from pdp.analysis.diff import diff, replay
from pdp.analysis.space import Space
from tests.support.sets import build_set
from tests.support.space import every_request

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def old(cx_one_go):
    """The set before the edit."""
    return cx_one_go


def edited(tmp_path, file: str, before: str, after: str) -> Path:
    """A copy of the CX-ONE-GO set with one edit (the original is never touched)."""
    copy = tmp_path / "new"
    shutil.copytree(POLICIES, copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert text.count(before) == 1, f"the edit must match once in {file}"
    path.write_text(text.replace(before, after), encoding="utf-8")
    return copy


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_the_same_policy_set_changes_nothing(capsys, old):
    report = diff(old, old)
    assert not report.changed and report.changes == []
    code, out, _ = run(capsys, ["diff", str(POLICIES), str(POLICIES)])
    assert code == 0 and out.startswith("no decision changes")


def test_opting_out_made_unconditional(tmp_path, old):
    """Remove the `when` of marketing.opted_out: marketing is now denied to everyone, opted out or not."""
    new_dir = edited(tmp_path, "marketing.pdp",
                     "  for marketing\n  when data_subject.consent.marketing == false\n", "  for marketing\n")
    report = diff(old, pdp.load(new_dir))
    assert report.changed
    assert {(c.before, c.after) for c in report.changes} == {("allow", "deny")}
    assert all(c.rules_after == ("marketing.opted_out",) for c in report.changes)
    # the requests now denied are exactly those where the person had not opted out
    whens = {case.when for c in report.changes for case in c.cases}
    assert whens == {"data_subject.consent.marketing is absent or true", "data_subject.consent.marketing is true"}
    email = next(c for c in report.changes if c.rules_before == ("marketing.promotional_email",))
    (case,) = email.cases
    assert case.actions == ("use",) and case.purposes == ("marketing.communications.email",)
    assert "user.contact.email" in case.categories
    assert case.render().startswith("use of ") and case.render().endswith(
        "for marketing.communications.email when data_subject.consent.marketing is absent or true")
    assert old.outcome(email.example).decision == "allow"
    text = report.render()
    assert "now DENIED, was ALLOWED: by marketing.opted_out (§2.6); before: marketing.promotional_email (§2.5)" in text
    # SMS needed consent already: it changes only for those who gave it
    sms = next(c for c in report.changes if c.rules_before == ("marketing.sms_opt_in",))
    assert [case.when for case in sms.cases] == ["data_subject.consent.marketing is true"]


@pytest.mark.slow
def test_the_age_of_children_lowered_to_16(tmp_path, old):
    new_dir = edited(tmp_path, "children.pdp", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 18\n", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 16\n")
    report = diff(old, pdp.load(new_dir))
    assert report.changes and all((c.before, c.after) == ("deny", "allow") for c in report.changes)
    assert all(c.rules_before == ("children.under_18",) for c in report.changes)
    assert {case.when for c in report.changes for case in c.cases} == {"data_subject.age >= 16 and < 18"}
    for change in report.changes:
        assert 16 <= change.example["data_subject"]["age"] < 18
    # erasure was allowed before and still is: no change reported for it
    assert not any("erase" in case.actions for c in report.changes for case in c.cases)
    operate = next(c for c in report.changes if c.rules_after == ("use.operate_service",))
    assert any(case.actions == ("use",) for case in operate.cases)


def test_deleting_the_no_sale_rule_changes_only_the_persons_own_requests(tmp_path, old):
    """Selling stays refused without disclosure.no_sale (no allow covers `sales`: default deny); only a data
    subject's own requests (access, correction, erasure) that name the purpose `sales` are no longer refused."""
    new_dir = edited(tmp_path, "disclosure.pdp",
                     'deny disclosure.no_sale "We are not in the business of selling your personal information"\n'
                     '  cite "§3"\n  to collect, use, share, transfer, access, correct, erase\n  for sales\n'
                     '  overrides rights.access, rights.correct, rights.erase, children.erase\n', "")
    report = diff(old, pdp.load(new_dir))
    assert sorted((c.before, c.after, c.rules_before, c.rules_after) for c in report.changes) == [
        ("deny", "allow", ("disclosure.no_sale",), ("children.erase", "rights.erase")),
        ("deny", "allow", ("disclosure.no_sale",), ("rights.access",)),
        ("deny", "allow", ("disclosure.no_sale",), ("rights.correct",)),
        ("deny", "allow", ("disclosure.no_sale",), ("rights.erase",)),
    ]
    for change in report.changes:
        (case,) = change.cases
        assert case.purposes == ("sales",) and case.when == ""
        assert change.example["purpose"] == "sales"


@pytest.mark.slow
def test_the_command_line_exit_status_and_json(capsys, tmp_path):
    new_dir = edited(tmp_path, "disclosure.pdp", '"We are not in the business of selling your personal information"',
                     '"We do not sell your personal information"')
    code, _, _ = run(capsys, ["diff", str(POLICIES), str(new_dir)])
    assert code == 0  # an edit that changes no decision (here: a message) needs no sign-off
    new_dir = edited(tmp_path / "b", "children.pdp", "when data_subject.age < 18\n  unless",
                     "when data_subject.age < 21\n  unless")
    code, out, _ = run(capsys, ["diff", str(POLICIES), str(new_dir), "--format", "json"])
    body = json.loads(out)
    assert code == 1 and body["changed"] is True
    change = body["changes"][0]
    assert change["before"] == "allow" and change["after"] == "deny" and change["rules_after"] == ["children.under_18"]
    assert change["cases"][0]["when"] == "data_subject.age >= 18 and < 21"
    assert body["space"]["cells"] > 0 and body["space"]["enumerated"] > 0
    code, _, err = run(capsys, ["diff", str(POLICIES), str(tmp_path / "nowhere")])
    assert code == 2 and "not a valid policy set" in err


@pytest.mark.slow
def test_replaying_a_decision_log(capsys, tmp_path, old):
    from pdp.io.decision_log import DecisionLog

    log_path = tmp_path / "decisions.db"
    requests = [
        {"action": "use", "purpose": "essential.service.operations", "data_categories": ["user.contact.email"],
         "data_subject": {"id": "u-1", "age": 17}},
        {"action": "use", "purpose": "essential.service.operations", "data_categories": ["user.contact.email"],
         "data_subject": {"id": "u-2", "age": 30}},
        {"action": "share", "purpose": "analytics", "data_categories": ["user.name"],
         "recipient": {"id": "payments-co"}, "data_subject": {"id": "u-3", "age": 16.5}},
        {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
         "data_subject": {"id": "u-4", "age": 15}},
    ]
    (tmp_path / "decisions.db.key").write_text("k" * 32)  # as `pdp serve` keeps it: ids the registers name come back
    with DecisionLog(log_path, pseudonym_key=b"k" * 32, mask=["context.note"]) as log:
        for request in requests:
            log.append(request, old.decide(request).to_dict())
    new_dir = edited(tmp_path, "children.pdp", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 18\n", "  to collect, use, share, transfer, access, correct\n"
                     "  when data_subject.age < 16\n")
    result = replay(old, pdp.load(new_dir), log_path)
    assert (result.total, result.replayed, result.refused, result.stale) == (4, 4, 0, 0)
    assert dict(result.flips) == {("deny", "allow"): 2}
    assert result.by_rules[("deny", "allow", ("children.under_18",), ("use.operate_service",))] == 1
    code, out, _ = run(capsys, ["diff", str(POLICIES), str(new_dir), "--replay", str(log_path)])
    assert code == 1 and "2 would now be decided differently" in out and "2 deny -> allow" in out
    code, _, err = run(capsys, ["diff", str(POLICIES), str(new_dir), "--replay", str(tmp_path / "none.db")])
    assert code == 2 and "no decision log" in err


# ---------------------------------------------------------------- the diff against the engine, request by request


def test_every_changed_request_of_a_small_space_is_reported():
    old = build_set('''
        allow mail to use for marketing of user.contact when data_subject.consent.marketing != false
        deny minors when data_subject.age < 18
        allow move to transfer when destination_country == "IN" or recipient.dpa
        deny gone to transfer when recipient.type == "third_party"
    ''')
    new = build_set('''
        allow mail to use for marketing.communications of user.contact when data_subject.consent.marketing == true
        deny minors when data_subject.age < 16
        allow move to transfer when destination_country == "IN" or recipient.dpa
        deny gone to transfer when recipient.type in ["third_party", "advertising_partner"]
        allow erase to erase
    ''')
    report = diff(old, new)
    space = Space([old, new])
    expected: dict = {}
    for group in space.groups:
        for request in every_request(space, group):
            before, after = old.outcome(request), new.outcome(request)
            if before.decision != after.decision:
                key = (before.decision, after.decision, tuple(r.rule for r in before.reasons),
                       tuple(r.rule for r in after.reasons))
                expected[key] = expected.get(key, 0) + 1
    got = {(c.before, c.after, c.rules_before, c.rules_after): c.requests for c in report.changes}
    assert got == expected and len(got) > 3

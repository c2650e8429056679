"""`pdp query`: questions about the whole policy set, answered exactly, with a request that proves a yes."""

import json
from pathlib import Path

import pytest

import pdp
from pdp.cli import main
from pdp.io.loader import read_sources
from pdp.analysis.query import Question, QuestionError, ask, quote_bare_words
from tests.support.sets import HEADER, VOCAB, build_set, request

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def cx(cx_one_go):
    return read_sources(POLICIES), cx_one_go


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def holds(policy_set, sources, request, condition) -> bool:
    """Does `condition` hold for the request, as the engine reads it?"""
    from pdp.analysis.query import compile_where
    from pdp.vocab.request import apply_lookups

    (probe,) = compile_where([condition], sources, policy_set)
    return probe.applies(apply_lookups(request, policy_set.lookups)) is True


# ---------------------------------------------------------------- the three questions, on CX-ONE-GO


def test_marketing_can_never_use_health_data(cx):
    """'Can any request with a purpose under marketing ever be allowed to use user.health_and_medical?' No:
    no allow rule covers health data, and minimisation.special_categories denies it explicitly."""
    sources, policy_set = cx
    answer = ask(policy_set, Question("allow", ("use",), ("marketing",), ("user.health_and_medical",)), sources)
    assert not answer.yes and answer.request is None
    assert answer.cells > 0 and answer.matching == answer.cells and answer.found == 0
    processing = ("collect", "use", "share", "transfer")
    assert not ask(policy_set, Question("allow", processing, ("marketing",), ("user.health_and_medical",)), sources).yes
    # only the data subject's own rights reach it (access, correction, erasure: §4 has no purpose limit)
    rights = ask(policy_set, Question("allow", (), ("marketing",), ("user.health_and_medical",)), sources)
    assert rights.yes and rights.request["action"] in ("access", "correct", "erase")


@pytest.mark.slow
def test_contact_data_can_go_abroad_without_a_dpa(cx):
    """'Can anything under user.contact ever be transferred to a country other than IN without a DPA?' Yes:
    Clicentrix's own facilities abroad (§8: SG in data/facilities.yaml) need no recipient and so no DPA,
    and an acquirer (§9) or an affiliate takes the data without one."""
    sources, policy_set = cx
    where = ('destination_country != IN', 'recipient.dpa is absent or recipient.dpa == false')
    answer = ask(policy_set, Question("allow", ("transfer",), (), ("user.contact",), where), sources)
    assert answer.yes
    request = answer.request
    assert request["action"] == "transfer" and request["data_categories"][0].startswith("user.contact")
    assert policy_set.outcome(request).decision == "allow"
    assert holds(policy_set, sources, request, 'destination_country != "IN"')
    assert request.get("recipient", {}).get("dpa") is not True
    assert {r.rule for r in answer.outcome.reasons} <= {"transfers.own_facilities", "transfers.acquirer"}
    # in a question an absent attribute is a value: `!= true` also holds for a request that leaves the DPA out
    strict = ask(policy_set, Question("allow", ("transfer",), (), ("user.contact",),
                                      ("destination_country != IN", "recipient.dpa != true")), sources)
    assert strict.yes and strict.request.get("recipient", {}).get("dpa") is not True
    # a recipient whose DPA status is `false`: only a register says so (a request cannot), and the one
    # provider it lists without a DPA gets nothing (§3.2): never
    said = ask(policy_set, Question("allow", ("transfer",), (), ("user.contact",),
                                    ("destination_country != IN", "recipient.dpa == false")), sources)
    assert not said.yes
    # but never to a service provider without one (§3.2)
    provider = ask(policy_set, Question("allow", ("transfer", "share"), (), ("user.contact",),
                                        ('recipient.type == "service_provider"', "recipient.dpa != true")), sources)
    assert not provider.yes


@pytest.mark.slow
def test_a_17_year_old_s_data_is_only_erased_or_used_as_the_law_requires(cx):
    """'Is anything allowed for a data subject aged 17?' Erasure (§10, §4), and what the law requires of data
    already held: a legal obligation (§2.1, §3.4) or a breach notice (§6). children.under_18 denies the rest."""
    sources, policy_set = cx
    answer = ask(policy_set, Question("allow", where=("data_subject.age == 17",)), sources)
    assert answer.yes and answer.request["data_subject"]["age"] == 17
    erase = ask(policy_set, Question("allow", ("erase",), where=("data_subject.age == 17",)), sources)
    assert {r.rule for r in erase.outcome.reasons} == {"children.erase", "rights.erase"}
    required = 'purpose under ["essential.legal_obligation", "third_party_sharing.legal_obligation", ' \
               '"essential.service.notifications.breach"]'
    others = tuple(sorted(policy_set.vocabulary.actions - {"erase"}))
    assert not ask(policy_set, Question("allow", others, where=("data_subject.age == 17", f"not ({required})")),
                   sources).yes
    for action in ("collect", "access", "correct"):
        assert not ask(policy_set, Question("allow", (action,), where=("data_subject.age == 17",)), sources).yes


@pytest.mark.slow
def test_the_three_questions_from_the_command_line(capsys):
    code, out, _ = run(capsys, ["query", str(POLICIES), "--allowed", "--action", "use", "--purpose-under", "marketing",
                                "--category-under", "user.health_and_medical"])
    assert code == 0 and out.startswith("no: ")
    code, out, _ = run(capsys, ["query", str(POLICIES), "--action", "transfer", "--category-under", "user.contact",
                                "--where", "destination_country != IN", "--where", "recipient.dpa is absent"])
    assert code == 1 and out.startswith("yes: ") and '"action": "transfer"' in out
    assert "decided by: allow transfers." in out
    code, out, _ = run(capsys, ["query", str(POLICIES), "--where", "data_subject.age == 17", "--format", "json"])
    body = json.loads(out)
    assert code == 1 and body["answer"] == "yes" and body["request"]["action"] == "erase"
    assert body["decision"] == "allow" and body["space"]["enumerated"] > 0


# ---------------------------------------------------------------- answers and witnesses


def test_denied_questions(cx):
    sources, policy_set = cx
    answer = ask(policy_set, Question("deny", ("erase",), where=("data_subject.age == 17", 'purpose != "sales"')), sources)
    assert not answer.yes  # an erasure is always allowed (rights.erase has no condition), unless asked for as a sale
    answer = ask(policy_set, Question("deny", ("erase",), ("sales",)), sources)
    assert answer.yes and {r.rule for r in answer.outcome.reasons} == {"disclosure.no_sale"}
    answer = ask(policy_set, Question("deny", ("use",), ("essential.service",), ("user.contact.email",)), sources)
    assert answer.yes and policy_set.outcome(answer.request).decision == "deny"


def test_the_witness_combines_independent_attributes():
    rules = '''
        allow mail cite "§1" to use for marketing of user.contact.email when data_subject.consent.marketing == true
        deny minors cite "§2" when data_subject.age < 18
        deny abroad cite "§3" when destination_country != "IN"
    '''
    ps = build_set(rules)
    sources = pdp.Sources({"p.pdp": HEADER + rules}, ("vocabulary.yaml", VOCAB))
    answer = ask(ps, Question("allow", where=("data_subject.age == 17",)), sources)
    assert not answer.yes and answer.matching > 0
    answer = ask(ps, Question("allow", where=("data_subject.age > 17", "destination_country is present")), sources)
    assert answer.yes
    assert answer.request["destination_country"] == "IN" and answer.request["data_subject"]["age"] >= 18
    assert answer.request["data_subject"]["consent"]["marketing"] is True
    # a question no request meets at all is a "no" that says so
    empty = ask(ps, Question("allow", where=("data_subject.age < 10", "data_subject.age > 20")), sources)
    assert not empty.yes and empty.matching == 0 and "exclude each other" in empty.render()


@pytest.mark.parametrize("rules, data, failing", [
    # `context.score` is `any`: a request may give it a value `under` cannot test (a hypothesis finding)
    ('allow tested cite "§1" when context.score under "marketing"\n', {}, {"context": {"score": True}}),
    ('allow tested cite "§1" when context.score < 3\n', {}, {"context": {"score": "a"}}),
    ('allow tested cite "§1" when context.score\n', {}, {"context": {"score": 1}}),
    # `under` another attribute: the register's value decides too
    ('lookup recipient in data.reg\nallow tested cite "§1" when context.score under recipient.type\n',
     {"reg": "p1: {type: affiliate}\n"}, {"recipient": {"id": "p1"}, "context": {"score": 1}}),
])
def test_a_rule_that_fails_closed_is_a_deny_a_query_finds(rules, data, failing):
    ps = build_set(rules + 'allow anyway cite "§2"\n', data=data)  # the deny is the failure's alone
    outcome = ps.decide(request(**failing))
    assert outcome.decision == "deny" and outcome.reasons[0].effect == "error"
    answer = ask(ps, Question("deny", ("use",), ("essential.service",), ("user.contact.email",)))
    assert answer.yes and answer.outcome.reasons[0].effect == "error" and answer.outcome.reasons[0].rule == "tested"


def test_a_multi_category_request_is_allowed_when_each_category_alone_is():
    ps = build_set('allow a cite "§1" to use of user.name\nallow b cite "§1" to use of user.contact '
                   'when data_subject.age >= 18\n')
    both = {"action": "use", "purpose": "essential", "data_categories": ["user.name", "user.contact.email"]}
    for age, expected in ((17, "deny"), (18, "allow")):
        request = dict(both, data_subject={"age": age})
        alone = [ps.outcome(dict(request, data_categories=[c])).decision for c in both["data_categories"]]
        assert ps.outcome(request).decision == expected == ("allow" if alone == ["allow", "allow"] else "deny")


# ---------------------------------------------------------------- bad questions


def test_bare_words_that_are_no_attribute_are_text():
    assert quote_bare_words("destination_country != IN") == 'destination_country != "IN"'
    assert quote_bare_words("purpose under marketing.communications") == 'purpose under "marketing.communications"'
    assert quote_bare_words("recipient.dpa != true and data_subject.age < 18") == \
        "recipient.dpa != true and data_subject.age < 18"


def test_a_bare_word_where_an_attribute_belongs_is_not_text():
    """Issue 8, finding 5: `destinaton_country == US` was read as `"destinaton_country" == "US"`."""
    assert quote_bare_words("destinaton_country == US") == 'destinaton_country == "US"'
    assert quote_bare_words("US == destination_country") == '"US" == destination_country'
    assert quote_bare_words("destinaton_country") == "destinaton_country"
    # a value that looks like a misspelt attribute stays an attribute, for the checker to refuse
    assert quote_bare_words("recipient.country == destinaton_country") == "recipient.country == destinaton_country"
    assert quote_bare_words("recipient.type in [affiliate, recipent]") == 'recipient.type in ["affiliate", recipent]'


@pytest.mark.parametrize("where, wrong, right", [
    ("destinaton_country == US", "destinaton_country", "destination_country"),
    ("US == destinaton_country", "destinaton_country", "destination_country"),
    ("recipient.country == destinaton_country", "destinaton_country", "destination_country"),
    ("recipent.type == affiliate", "recipent.type", "recipient"),
    ("not destinaton_country in [US]", "destinaton_country", "destination_country"),
    ("data_subjet.age < 18 or purpose under marketing", "data_subjet.age", "data_subject"),
])
def test_a_misspelt_attribute_in_where_is_an_error_with_a_suggestion(capsys, where, wrong, right):
    """Issue 8, finding 5: answered "no ... never", exit 0, before."""
    code, out, err = run(capsys, ["query", str(POLICIES), "--where", where])
    assert code == 2 and out == ""
    assert f"unknown attribute `{wrong}`" in err and f"did you mean `{right}" in err


HEALTH_VOCAB = "consent_topics: [health]\n"
HEALTH_RULES = """
allow health.collect "We collect health data to run the Service"
  cite "§1"
  to collect
  for essential.service
  of user.health_and_medical

deny health.refused "Not if you refused"
  cite "§1"
  of user.health_and_medical
  when data_subject.consent.health == false
"""


def test_absent_is_not_true_in_a_question(capsys, tmp_path):
    """Issue 8, finding 6: `consent.health != true` answered "never allowed", though the policy allows
    collecting health data when the consent is absent. Absent is a value in `--where`: `!= true` holds for it."""
    (tmp_path / "p.pdp").write_text(HEADER + HEALTH_RULES)
    (tmp_path / "vocabulary.yaml").write_text(HEALTH_VOCAB)
    argv = ["query", str(tmp_path), "--allowed", "--category-under", "user.health_and_medical"]
    code, out, _ = run(capsys, argv + ["--where", "data_subject.consent.health != true", "--format", "json"])
    assert code == 1
    answer = json.loads(out)
    assert answer["answer"] == "yes" and answer["decision"] == "allow"
    assert answer["request"].get("data_subject", {}).get("consent", {}).get("health") is None
    # the other readings of "not consented" agree, and `== false` is refused as the policy says
    for where in ("not data_subject.consent.health", "data_subject.consent.health not in [true]",
                  "data_subject.consent.health is absent"):
        assert run(capsys, argv + ["--where", where])[0] == 1, where
    assert run(capsys, argv + ["--where", "data_subject.consent.health == false"])[0] == 0
    # and `is present` leaves the absent consent out: then only a refusal is left, which is denied
    code, out, _ = run(capsys, argv + ["--where", "data_subject.consent.health is present",
                                       "--where", "data_subject.consent.health != true"])
    assert code == 0, out


def test_where_holds_as_a_question_reads_it():
    """The two-valued reading of `--where`, test by test, against a request that leaves everything out."""
    from pdp.engine.conditions import compile_test
    from pdp.lang.parser import parse_policy

    def value(condition, env):
        parsed, errors = parse_policy(HEADER + f"allow r when {condition}\n", "w.pdp")
        assert not errors
        return compile_test(parsed.rules[0].when[0], {}, absent_is_value=True)(env)

    empty = {}
    assert value("data_subject.age < 18", empty) is False
    assert value("not (data_subject.age < 18)", empty) is True
    assert value("data_subject.age != 18", empty) is True
    assert value('recipient.type == "affiliate"', empty) is False
    assert value('recipient.type not in ["affiliate"]', empty) is True
    assert value('recipient.type in ["affiliate"]', empty) is False
    assert value('purpose under "marketing"', empty) is False
    assert value("recipient.dpa", empty) is False
    assert value("recipient.dpa or data_subject.age >= 18", empty) is False
    assert value("recipient.dpa != true", {"recipient": {"dpa": True}}) is False


def test_bad_questions_exit_2_with_a_reason(capsys, cx):
    sources, policy_set = cx
    with pytest.raises(QuestionError, match="unknown purpose `marketting`; did you mean `marketing`"):
        ask(policy_set, Question("allow", purposes=("marketting",)), sources)
    with pytest.raises(QuestionError, match="unknown-attribute: unknown attribute `data_subject.agee`"):
        ask(policy_set, Question("allow", where=("data_subject.agee == 17",)), sources)
    with pytest.raises(QuestionError, match="type-mismatch"):
        ask(policy_set, Question("allow", where=('data_subject.age == "old"',)), sources)
    code, _, err = run(capsys, ["query", str(POLICIES), "--category-under", "user.contacts"])
    assert code == 2 and "unknown data category `user.contacts`" in err
    code, _, err = run(capsys, ["query", str(POLICIES), "--where", "data_subject.age = 17"])
    assert code == 2 and "--where `data_subject.age = 17`: syntax" in err


def test_a_policy_set_with_errors_is_not_questioned(capsys, tmp_path):
    (tmp_path / "p.pdp").write_text('policy "x" version "1"\nallow a to usee\n')
    code, _, err = run(capsys, ["query", str(tmp_path)])
    assert code == 2 and "unknown-action" in err

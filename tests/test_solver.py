"""The solver-backed analysis (pdp.analysis.space.encoding): its formulas agree with the engine request by request,
its answers equal the enumeration's on small sets, and every example it returns is one the engine decides so."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.analysis.query import Question, ask
from pdp.analysis.space import ENUMERATION, SOLVER, Space, SpaceTooLarge
from pdp.analysis.space.encoding import Encoding, Undecided
from pdp.cli import main
from tests.support.generate import fewer, ill_typed
from tests.support.sets import HEADER, build_set, request
from tests.support.space import (ACTIONS, DATA, VOCAB, assert_agrees, engine_verdict, generated_requests,
                                 policies, verdict_of)




def built(text):
    try:
        return build_set(text, vocabulary=VOCAB, data=DATA)
    except pdp.PolicyError:
        return None


def sources_of(text):
    return pdp.Sources({"p.pdp": HEADER + text}, ("vocabulary.yaml", VOCAB),
                       {f"data/{k}.yaml": v for k, v in DATA.items()})


engine = engine_verdict  # the engine's decision and the rules its reasons name, or ("refused", {})


# ---------------------------------------------------------------- the formulas against the engine


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), batch=st.lists(generated_requests, min_size=1, max_size=10))
def test_the_encoding_decides_every_generated_request_as_the_engine(text, batch):
    ps = built(text)
    if ps is None:
        return
    space = Space([ps])
    encoding = Encoding(space)
    for req in batch:  # refusals too: a request the engine refuses must be one the encoding decides nothing for
        assert_agrees(encoding.predict(0, req), [engine(ps, req)], 0, ill_typed(space, req), (text, req))


def test_a_self_declared_affiliate_is_refused_though_no_rule_reads_the_recipient():
    """The engine refuses a recipient the register does not list that calls itself an affiliate (`except`),
    whatever the rules read. The space made `recipient.type` a dimension only when a rule read it: here none
    does, so the encoding decided the request (allow by r0) where the engine refuses it."""
    text = ('lookup recipient in data.reg\n  if unlisted, request states type, dpa\n  except type "affiliate"\n'
            'allow r0 cite "§0" to use\n')
    ps = built(text)
    space = Space([ps])
    encoding = Encoding(space)
    for recipient in ({"type": "affiliate"}, {"type": "affiliate", "id": "zz"}, {"type": "affiliate", "id": "p1"},
                      {"type": "third_party"}, {}):
        req = request(recipient=recipient)
        predicted, located = encoding.predict(0, req), space.predict(0, req)
        assert_agrees(predicted, [engine(ps, req)], 0, False, req)
        assert_agrees(None if located is None else verdict_of(located), [engine(ps, req)], 0, False, req)
    assert engine(ps, request(recipient={"type": "affiliate"}))[0] == "refused"
    assert engine(ps, request(recipient={"type": "affiliate", "id": "p1"}))[0] == "allow"


def test_failures_are_read_left_to_right_as_the_engine_reads_them():
    """`false and <fails>` is false, `true and <fails>` fails, `unknown or <fails>` fails: the engine's closures
    stop at the first item that settles the junction, and at the first that raises."""
    ps = build_set('allow a cite "§1" when context.score < 3 and context.note == "x"\n'
                   'allow b cite "§2" when context.note == "x" and context.score < 3\n'
                   'allow c cite "§3" when data_subject.age < 18 or context.score\n')
    encoding = Encoding(Space([ps]))
    for ctx in ({"score": "a", "note": "y"}, {"score": 1, "note": "x"}, {"score": "a", "note": "x"},
                {"note": "y"}, {"score": 7}):
        for age in (None, 5, 40):
            req = request(context=ctx, **({"data_subject": {"age": age}} if age is not None else {}))
            assert encoding.predict(0, req) == engine(ps, req), req


# ---------------------------------------------------------------- query: the solver against the enumeration

WHERE = ["data_subject.age == 17", "data_subject.age >= 18", "recipient.dpa != true", 'destination_country != "IN"',
         "context.score is absent", 'recipient.type == "affiliate"', "data_subject.consent.marketing == true",
         'context.note == "x"']


@st.composite
def questions(draw):
    return Question(draw(st.sampled_from(["allow", "deny"])),
                    tuple(draw(st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True))),
                    tuple(draw(st.lists(st.sampled_from(["essential", "marketing"]), max_size=1))),
                    tuple(draw(st.lists(st.sampled_from(["user.contact", "user.name"]), max_size=1))),
                    tuple(draw(st.lists(st.sampled_from(WHERE), max_size=2, unique=True))))


@settings(fewer(8), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), question=questions())
def test_the_solver_answers_a_question_as_the_enumeration_does(text, question):
    ps = built(text)
    if ps is None:
        return
    sources = sources_of(text)
    try:
        enumerated = ask(ps, question, sources, method=ENUMERATION, limit=20_000)
    except SpaceTooLarge:
        return
    solved = ask(ps, question, sources, method=SOLVER)
    assert solved.yes == enumerated.yes, (text, question)
    assert (solved.matching > 0) == (enumerated.matching > 0), (text, question)
    if solved.yes:  # the example is replayed through the engine (`ask` does too, and refuses to report otherwise)
        assert ps.outcome(solved.request).decision == question.decision
        assert solved.outcome.decision == question.decision


def test_a_rule_reading_twelve_attributes_is_answered_with_an_example():
    tests = [f"context.n{i} > {i}" for i in range(12)]
    attributes = "".join(f"  context.n{i}: number\n" for i in range(12))
    text = ('allow wide cite "§1" to use when ' + " and ".join(tests) + "\n"
            'deny one cite "§2" to use when context.n3 == 9 and context.n7 < 20\n')
    vocabulary = "attributes:\n" + attributes
    ps = build_set(text, vocabulary=vocabulary)
    sources = pdp.Sources({"p.pdp": HEADER + text}, ("vocabulary.yaml", vocabulary))
    with pytest.raises(SpaceTooLarge):  # 3^12 combinations in one component: beyond the enumeration
        ask(ps, Question("allow", ("use",)), sources, method=ENUMERATION, limit=100_000)
    answer = ask(ps, Question("allow", ("use",), where=("context.n3 == 9",)), sources)
    assert answer.yes and answer.stats.method == "solver"
    assert ps.outcome(answer.request).decision == "allow" and answer.request["context"]["n3"] == 9
    assert answer.request["context"]["n7"] >= 20  # the deny is avoided
    assert not ask(ps, Question("allow", ("use",), where=("context.n3 == 9", "context.n7 < 20")), sources).yes
    assert not ask(ps, Question("allow", ("use",), where=("context.n11 <= 11",)), sources).yes


def test_a_question_the_solver_cannot_settle_is_undecided_never_no(capsys, tmp_path, monkeypatch):
    from pdp.analysis.space import encoding

    ps = build_set('allow a cite "§1" to use when data_subject.age >= 18\n')
    monkeypatch.setattr(encoding, "RLIMIT", 1)  # no work at all: z3 gives up on every question
    with pytest.raises(Undecided):
        ask(ps, Question("allow"), method=SOLVER)
    (tmp_path / "p.pdp").write_text(HEADER + 'allow a cite "§1" to use when data_subject.age >= 18\n')
    code = main(["query", str(tmp_path), "--method", "solver"])
    assert code == 3 and "could not be decided within the budget" in capsys.readouterr().err


# ---------------------------------------------------------------- check: the warnings


@settings(fewer(6), suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), boxes=st.booleans())
def test_the_solver_finds_the_warnings_the_enumeration_finds(text, boxes):
    """With the boxes (solved.BOXES) and with the solver alone."""
    from pdp.analysis import solved
    from pdp.analysis.warnings import analyse

    ps = built(text)
    if ps is None:
        return
    enumerated = [(d.code, d.message) for d in analyse(ps, method=ENUMERATION)]
    if any(code == "analysis-skipped" for code, _ in enumerated):
        return
    default, solved.BOXES = solved.BOXES, boxes
    try:
        found = [(d.code, d.message) for d in analyse(ps, method=SOLVER)]
    finally:
        solved.BOXES = default
    assert found == enumerated, (text, boxes)


def test_a_rule_only_a_refused_request_could_meet_applies_to_none():
    """An unlisted recipient may not call itself an affiliate (`except`), and the register's one affiliate has no
    DPA: the rules that want an affiliate with a DPA meet only requests the set refuses. The small solver and the
    boxes see the refusal's own formula (solved._Pairs.decided), so they agree with the enumeration."""
    from pdp.analysis import solved
    from pdp.analysis.warnings import analyse

    ps = built('lookup recipient in data.reg\n  if unlisted, request states type, dpa\n  except type "affiliate"\n'
               'allow a cite "§1" to share of user when recipient.type == "affiliate" and recipient.dpa == true\n'
               'allow b cite "§1" to share of user when recipient.type == "service_provider"\n'
               'deny c cite "§1" to share of user when recipient.type == "affiliate" and recipient.dpa == true\n')
    enumerated = [(d.code, d.message) for d in analyse(ps, method=ENUMERATION)]
    assert [m.split("`")[1] for _, m in enumerated] == ["a", "c"]
    assert all("applies to no request" in m for _, m in enumerated)
    default = solved.BOXES
    try:
        for boxes in (True, False):
            solved.BOXES = boxes
            assert [(d.code, d.message) for d in analyse(ps, method=SOLVER)] == enumerated
    finally:
        solved.BOXES = default

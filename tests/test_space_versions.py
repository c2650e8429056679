"""Property: for any generated policy set that keeps earlier versions (§11) and any request, with or
without `collected_at` and `data_subject.accepted_policy_version`, the decision space predicts the
engine's decision under the version the request selects, with the rule index on and off; `explain`
says the same; and `pdp query` never answers "never" for a decision some such request gets (issue 8).
"""

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pdp
from pdp.explain import explain
from pdp.analysis.query import Question, ask
from pdp.analysis.space import Selections, Space, SpaceTooLarge
from tests.support.generate import fewer, generated_rules, ill_typed
from tests.support.space import (ACTIONS, CATEGORIES, DATA, LOOKUPS, PURPOSES, REFUSED, SPACE_CONDITIONS, VOCAB,
                                 assert_agrees, engine_verdict, generated_requests, same, verdict_of)

VERSIONED_VOCAB = VOCAB + "subject_requests: [erase]\n"
DATES = ["2024-01-01", "2025-01-01", "2026-01-01"]
COLLECTED = [None, "2023-06-01", "2023-12-31", "2024-01-01", "2024-07-01", "2025-01-01", "2025-12-31", "2026-01-01",
             "2027-03-01"]
ACCEPTED = [None, "v1", "v2", "v3"]


@st.composite
def histories(draw):
    """Policy texts of two or three versions, oldest first, each with its own generated rules."""
    count = draw(st.integers(2, 3))
    dates = sorted(draw(st.lists(st.sampled_from(DATES), min_size=count, max_size=count, unique=True)))
    texts = []
    for i, day in enumerate(dates):
        lookup = draw(st.sampled_from(LOOKUPS)) + "\n" if draw(st.booleans()) else ""
        rules = generated_rules(draw, ACTIONS + ["erase"], PURPOSES, CATEGORIES, SPACE_CONDITIONS, rules=4, items=2)
        texts.append(f'policy "t" version "v{i + 1}" effective {day}\n' + lookup + rules)
    return texts


def versioned_set(texts: list[str], index: bool) -> pdp.PolicySet:
    """The versions built as `pdp.load` builds a directory with versions/ (the last is the current one)."""
    def sources(text: str, versions=None) -> pdp.Sources:
        return pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VERSIONED_VOCAB),
                           {f"data/{k}.yaml": v for k, v in DATA.items()}, versions=versions)

    earlier = tuple(pdp.EarlierVersion(Path("versions") / str(i), sources(text)) for i, text in enumerate(texts[:-1]))
    return pdp.build(sources(texts[-1], earlier), index=index)


requests = st.builds(
    lambda base, action, collected, accepted: _with(base, action, collected, accepted),
    generated_requests, st.sampled_from([None, None, "erase"]), st.sampled_from(COLLECTED), st.sampled_from(ACCEPTED))


def _with(base: dict, action, collected, accepted) -> dict:
    request = dict(base)
    if action:
        request["action"] = action
    if collected:
        request["collected_at"] = collected
    if accepted:
        request["data_subject"] = {**request.get("data_subject", {}), "accepted_policy_version": accepted}
    return request


# v1 refuses a self-declared affiliate (`except`), v3 has no lookup and decides it: the space left the request
# out for every version, so a query could answer "never" for what v3 allows
AFFILIATE = ['policy "t" version "v1" effective 2024-01-01\n' + LOOKUPS[2] + '\nallow r0 cite "§0"\n',
             'policy "t" version "v2" effective 2025-01-01\nallow r0 cite "§0"\n',
             'policy "t" version "v3" effective 2026-01-01\n'
             'allow r0 cite "§0"\n  when (recipient.type in ["service_provider", "affiliate"])\n']
AFFILIATE_REQUEST = {"action": "use", "purpose": "essential", "data_categories": ["user"],
                     "recipient": {"type": "affiliate"}}


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(texts=histories(), batch=st.lists(requests, min_size=1, max_size=10))
@example(texts=AFFILIATE, batch=[AFFILIATE_REQUEST, {**AFFILIATE_REQUEST, "collected_at": "2024-07-01"},
                                 {**AFFILIATE_REQUEST, "recipient": {"id": "zz", "type": "affiliate"},
                                  "collected_at": "2025-01-01"}])
def test_versioned_sets_the_space_predicts_the_engine_under_the_selected_version(texts, batch):
    try:
        policy, plain = versioned_set(texts, index=True), versioned_set(texts, index=False)
    except pdp.PolicyError:
        return
    selections = Selections(policy)
    try:
        space = Space(selections.history, limit=20_000)
    except SpaceTooLarge:
        return
    for req in batch:  # refusals too: a request the engine refuses is one the space decides nothing for
        try:
            decided = policy.decide(req)
        except pdp.RequestError:
            decided = None
        if decided is not None:
            assert same(plain.decide(req), decided), (texts, req)  # the index changes nothing
            e = explain(policy, req)
            assert (e.decision, [r.rule for r in e.reasons]) == (decided.decision, [r.rule for r in decided.reasons])
        try:
            predicted = selections.predict(space, req)
        except SpaceTooLarge:
            return
        except pdp.RequestError:  # no version can be selected (a malformed date): the engine refuses it too
            assert decided is None, (texts, req)
            continue
        undated = {k: v for k, v in req.items() if k != "collected_at"}
        # outside the space: a value of a kind no condition reads, or a request every version refuses
        outside_ok = ill_typed(space, req) or all(engine_verdict(v, undated)[0] == REFUSED for v in space.versions)
        expected = (REFUSED, frozenset()) if decided is None else verdict_of(decided)
        assert_agrees(None if predicted is None else verdict_of(predicted), [expected], 0, outside_ok, (texts, req))
        if predicted is not None and decided is not None:
            assert same(predicted, decided), (texts, req)  # the reasons in the engine's order too


# v3 allows everything, and tests `context.note under "a"`, which the vocabulary types `any`: a note of true or
# false is a valid request that the engine denies, failing closed; the space offered the note only as text, so a
# query for a deny answered "never"
UNDER_A_BOOLEAN = ['policy "t" version "v1" effective 2024-01-01\nallow r0 cite "§0"\nallow r1 cite "§1"\n',
                   'policy "t" version "v2" effective 2025-01-01\nallow r0 cite "§0"\n',
                   'policy "t" version "v3" effective 2026-01-01\nallow r0 cite "§0"\n  when (context.note under "a")\n'
                   'allow r1 cite "§1"\n']
UNDER_A_BOOLEAN_REQUEST = {"action": "erase", "purpose": "essential", "data_categories": ["user"],
                           "context": {"note": False}}


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow])
@given(texts=histories(), batch=st.lists(requests, min_size=1, max_size=6))
@example(texts=UNDER_A_BOOLEAN, batch=[UNDER_A_BOOLEAN_REQUEST, {**UNDER_A_BOOLEAN_REQUEST, "action": "use"}])
def test_versioned_sets_a_query_never_hides_a_decision_a_request_gets(texts, batch):
    try:
        policy = versioned_set(texts, index=True)
    except pdp.PolicyError:
        return
    answers: dict = {}
    for req in batch:
        try:
            decision = policy.decide(req).decision
        except pdp.RequestError:
            continue
        key = (decision, req["action"], req["purpose"], req["data_categories"][0])
        if key not in answers:
            try:
                question = Question(decision, (req["action"],), (req["purpose"],), (req["data_categories"][0],))
                answers[key] = ask(policy, question, limit=20_000)
            except SpaceTooLarge:
                return
        answer = answers[key]  # a "yes" was re-decided by the engine inside `ask`, or it raised
        assert answer.yes, (texts, req, decision)
        assert policy.decide(answer.request).decision == decision

"""`/v1/decide`'s per-request shortcuts (server/deciding.py: `SERVED_DECIDERS`, `ONE_AT_A_TIME`, `KEPT_ANSWERS`)
answer as the plain path: the same answer and the same bytes, but for the decision id, for any body; the kept
answers are the very `to_dict`, `encodes` and `decision_log.projected` of every decision, asked once or again; a
set swapped out is let go."""

import asyncio
import copy
import gc
import json
import re
import weakref
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import Response

import pdp
from pdp.engine.decision import Decision, Reason
from pdp.io.decision_log import projected
from pdp.server import Settings, create_app, deciding
from pdp.server.deciding import Answers, encodes
from pdp.server.routes import decide_body
from tests.server.test_direct import bodies
from tests.support.generate import fewer
from tests.test_narrowing import _built, requests, rule_sets

ROOT = Path(__file__).resolve().parents[2]
ID = re.compile(rb'"decision_id":"[0-9a-f]{32}"')


@pytest.fixture(scope="module")
def app():
    made = create_app(Settings(policy_dir=ROOT / "policies", reload=False))
    loop = asyncio.new_event_loop()
    context = made.router.lifespan_context(made)
    loop.run_until_complete(context.__aenter__())
    yield made
    loop.run_until_complete(context.__aexit__(None, None, None))
    loop.close()


def switched(on: bool, monkeypatch) -> None:
    for name in deciding.SWITCHES:
        monkeypatch.setattr(deciding, name, on)


def answered(app, body: dict, on: bool) -> tuple:
    """What `decide_body` gives for `body` with every shortcut `on` or off: (status, body bytes) of an error
    answer, or (answer without its id, payload without its id, the set, explain)."""
    with pytest.MonkeyPatch.context() as patch:
        switched(on, patch)
        decided = decide_body(app, copy.deepcopy(body))
    if isinstance(decided, Response):
        return decided.status_code, bytes(decided.body)
    assert decided.fields in (None, projected(decided.answer))  # what the writer process is handed of it
    answer = dict(decided.answer)
    assert ID.search(decided.payload) and answer.pop("decision_id") in decided.payload.decode()
    return answer, ID.sub(b"", decided.payload), decided.policy_set, decided.explain


@given(body=bodies())
@fewer(2)
def test_the_shortcuts_answer_as_the_plain_path(app, body):
    """Any body (good, edited, not a request at all), asked twice: the same answers with and without."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return
    if not isinstance(parsed, dict):
        return
    plain = answered(app, parsed, on=False)
    assert answered(app, parsed, on=True) == plain
    assert answered(app, parsed, on=True) == plain  # asked again: the outcome's kept answer


@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=6))
@fewer(3)
def test_kept_answers_are_each_decisions_own(text, batch):
    """Every decision of a generated set, each request asked twice (the memo's same outcome, a new id): the kept
    answer is `to_dict()`, its JSON `encodes(to_dict())`, byte for byte."""
    policy_set = _built(text)
    if policy_set is None:
        return
    answers = Answers()
    for request in batch * 2:
        try:
            decision = policy_set.decide(request)
        except pdp.RequestError:
            continue
        expected = decision.to_dict()
        assert answers.of(decision) == (expected, encodes(expected), projected(expected))


def test_an_answer_that_cannot_be_encoded_is_not_kept():
    reason = Reason("r1", "deny", None, "a lone surrogate \ud800")
    decision = Decision("deny", (reason,), (), {"name": "s"}, "0" * 32)
    answers = Answers()
    for _ in range(2):
        answer, payload, fields = answers.of(decision)
        assert payload is None and fields is None and answer == decision.to_dict()


def test_an_outcome_told_apart_by_each_of_its_parts():
    """Entries are found by the reasons' identity and checked on every part: another decision, policy or set of
    obligations with the same reasons gets its own answer."""
    reasons = (Reason("r1", "allow", None, "ok"),)
    answers = Answers()
    decisions = [Decision("allow", reasons, (), {"name": "a"}, "1" * 32),
                 Decision("deny", reasons, (), {"name": "a"}, "2" * 32),
                 Decision("deny", reasons, (), {"name": "b"}, "3" * 32)]
    for decision in decisions * 2:
        expected = decision.to_dict()
        assert answers.of(decision) == (expected, encodes(expected), projected(expected))


def test_answers_are_bounded(monkeypatch):
    monkeypatch.setattr(Answers, "LIMIT", 3)
    answers = Answers()
    for number in range(10):
        answers.of(Decision("deny", (Reason(f"r{number}", "deny", None, "no"),), (), {}, "0" * 32))
        assert len(answers._kept) <= 3


def test_a_set_is_served_by_one_decider_until_it_is_swapped_out(app):
    holder = app.state.holder
    before = holder.current
    first, second = pdp.load(str(ROOT / "policies")), pdp.load(str(ROOT / "policies"))
    try:
        holder.current = first
        decide_body(app, {"action": "use"})
        made = holder.served
        assert made.policy_set is first
        decide_body(app, {"action": "use"})
        assert holder.served is made  # once per set, not per request
        holder.current = second
        decide_body(app, {"action": "use"})
        assert holder.served.policy_set is second  # made again for the set swapped in
        gone = weakref.ref(first)
        del first, made
        gc.collect()
        assert gone() is None  # nothing of the old set's decider keeps it
    finally:
        holder.current = before

"""The request memo (engine/request_memo.py) answers exactly as the plain evaluation: with it on and off, every
decision, reason (errors included, in their order), obligation and partial allow is the same, for requests asked
again, and for requests that differ only in values Python confuses and the policy language does not (true, 1,
1.0; 0.0 and -0.0)."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdp.engine import request_memo
from pdp.lang import ast
from tests.support.generate import fewer
from tests.support.sets import CX_ONE_GO, build_set, request
from tests.test_narrowing import _built, _outcome, requests, rule_sets



def _equal_in_python(value) -> list:
    """Values of other types (or signs) that Python finds equal to a scalar: true, 1 and 1.0; 0.0 and -0.0."""
    if type(value) not in (bool, int, float) or value != value or value in (float("inf"), float("-inf")):
        return []
    alike = [kind(value) for kind in (bool, int, float) if kind is not type(value) and kind(value) == value]
    return alike + ([-value] if value == 0 and type(value) is float else [])


def _lookalikes(req: dict):
    """The request, then each copy with one scalar replaced by a value Python finds equal to it."""
    yield req
    for path, value in _scalars(req):
        for other in _equal_in_python(value):
            changed = copy.deepcopy(req)
            holder = changed
            for part in path[:-1]:
                holder = holder[part]
            holder[path[-1]] = other
            yield changed


def _neighbours(req: dict, others: list[dict]):
    """The request with one attribute at a time set as another request has it: requests that differ from it in
    one value only, which the memo must tell apart exactly when a rule reads that value."""
    for other in others:
        for path, value in _scalars(other):
            if path[0] in ("action", "purpose", "data_categories"):
                continue
            changed = copy.deepcopy(req)
            holder = changed
            for part in path[:-1]:
                if not isinstance(holder.get(part), dict):
                    holder[part] = {}
                holder = holder[part]
            holder[path[-1]] = value
            yield changed


def _scalars(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _scalars(value, path + (key,))
    elif path:
        yield path, node


@pytest.fixture
def memo_off():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(request_memo, "ENABLED", False)
        yield


@fewer(3)
@given(text=rule_sets(), batch=st.lists(requests, min_size=1, max_size=4), others=st.lists(requests, max_size=3))
def test_the_memo_decides_as_the_plain_path(text, batch, others):
    remembering = _built(text)
    if remembering is None:
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(request_memo, "ENABLED", False)
        plain = _built(text)
    assert remembering.request_memo is not None and plain.request_memo is None
    asked = [variant for req in batch for near in (req, *_neighbours(req, others)) for variant in _lookalikes(near)]
    for req in asked + asked[::-1]:  # each asked again, after the others: answered from the memo
        assert _outcome(remembering, req) == _outcome(plain, req), req


RULES = """
allow score_one to use for essential when context.score == 1
deny broken to use for essential when context.score < 5
allow adult to use for marketing when data_subject.age >= 18
"""


def test_what_no_rule_reads_shares_one_outcome():
    policy_set = build_set(RULES)
    for person in ("p1", "p2", "p3"):
        decided = policy_set.decide(request(purpose="marketing", data_subject={"id": person, "age": 30}))
        assert decided.decision == "allow"
    assert len(policy_set.request_memo) == 1
    assert policy_set.decide(request(purpose="marketing", data_subject={"id": "p4", "age": 17})).decision == "deny"
    assert len(policy_set.request_memo) == 2


def test_true_is_not_one():
    policy_set = build_set("allow score_one to use for essential when context.score == 1\n")
    assert policy_set.decide(request(context={"score": 1})).decision == "allow"
    assert policy_set.decide(request(context={"score": True})).decision == "deny"
    assert policy_set.decide(request(context={"score": 1.0})).decision == "allow"
    assert len(policy_set.request_memo) == 3


def test_an_evaluation_error_is_not_remembered():
    policy_set = build_set(RULES)
    for _ in range(2):
        decided = policy_set.decide(request(context={"score": "high"}))
        assert decided.decision == "deny" and decided.reasons[0].effect == "error"
    assert len(policy_set.request_memo) == 0


def test_a_value_too_long_for_a_key_is_evaluated_every_time():
    policy_set = build_set("allow listed to use for essential when context.score is present\n")
    long = list(range(request_memo.MAX_ITEMS + 1))
    assert policy_set.decide(request(context={"score": long})).decision == "allow"
    assert len(policy_set.request_memo) == 0
    assert policy_set.decide(request(context={"score": long[:3]})).decision == "allow"
    assert len(policy_set.request_memo) == 1


def test_a_text_too_long_for_a_key_is_evaluated_every_time():
    policy_set = build_set('allow a to use for essential when context.note == "x" or context.score == "x"\n')
    assert policy_set.decide(request(context={"note": "y" * (request_memo.MAX_TEXT + 1)})).decision == "deny"
    assert policy_set.decide(request(context={"score": ["y" * request_memo.MAX_TEXT, "z"]})).decision == "deny"
    assert len(policy_set.request_memo) == 0
    assert policy_set.decide(request(context={"note": "y" * 10})).decision == "deny"
    assert len(policy_set.request_memo) == 1


def test_targets_whose_rules_read_many_attributes_are_not_remembered(monkeypatch):
    monkeypatch.setattr(request_memo, "MAX_PATHS", 1)
    policy_set = build_set("allow a to use for essential when context.note is present and context.score is present\n"
                           "allow b to use for marketing when context.note is present\n")
    for purpose in ("essential", "essential", "marketing", "marketing"):
        assert policy_set.decide(request(purpose=purpose, context={"note": "x", "score": 1})).decision == "allow"
    assert len(policy_set.request_memo) == 1  # (marketing's one attribute; essential reads two)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(request_memo, "LIMIT", 3)
    policy_set = build_set(RULES)
    for age in range(10):
        policy_set.decide(request(purpose="marketing", data_subject={"age": age + 10}))
        assert len(policy_set.request_memo) <= 3


def test_targets_whose_rules_hold_a_node_it_does_not_know_are_not_remembered(monkeypatch):
    monkeypatch.setattr(request_memo, "KNOWN_NODES", tuple(n for n in request_memo.KNOWN_NODES if n is not ast.Under))
    policy_set = build_set('allow a to use for essential when context.note under "a"\n'
                           "allow b to use for marketing when context.note is present\n")
    for _ in range(2):
        assert policy_set.decide(request(context={"note": "a.b"})).decision == "allow"
    assert len(policy_set.request_memo) == 0
    assert policy_set.decide(request(purpose="marketing", context={"note": "a.b"})).decision == "allow"
    assert len(policy_set.request_memo) == 1


def test_only_what_the_targets_rules_read_is_in_the_key():
    """A request about marketing differs from another only in `context.note`, which only the essential rule reads:
    one outcome serves both."""
    policy_set = build_set('allow a to use for essential when context.note == "x"\n'
                           "allow b to use for marketing when data_subject.age >= 18\n")
    for note in ("x", "y", None):
        assert policy_set.decide(request(purpose="marketing", data_subject={"age": 20},
                                         context={"note": note})).decision == "allow"
    assert len(policy_set.request_memo) == 1


def test_switched_off(memo_off):
    assert build_set(RULES).request_memo is None


def test_off_with_the_index():
    assert build_set(RULES, index=False).request_memo is None


def test_paths_read_leave_policy_data_out():
    policy_set = build_set("allow a to use for essential when context.note in data.lists.notes "
                           "and data_subject.consent.marketing\n", data={"lists": "notes: [a]\n"})
    assert request_memo.paths_read(r.source for r in policy_set.rules) == (
        ("context", "note"), ("data_subject", "consent", "marketing"))


def test_a_server_serves_without_it_when_told(monkeypatch):
    from pdp.server.settings import Settings
    from pdp.server.state import PolicyHolder

    monkeypatch.setenv("PDP_REQUEST_MEMO", "false")
    settings = Settings()
    assert settings.request_memo is False
    holder = PolicyHolder(CX_ONE_GO, remember_requests=settings.request_memo)
    assert holder.reload()
    assert all(version.request_memo is None for version in holder.current.history)
    remembering = PolicyHolder(CX_ONE_GO)
    assert remembering.reload() and remembering.current.request_memo is not None

"""Data use and AuthZEN are two implementations of one interface (pdp.engine.models): nothing else compares a
model's name, and an AuthZEN set is decided by its actions alone, with no stand-in purpose or category."""

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.engine import models
from pdp.engine.compiler import RuleIndex, RuleScan
from tests.support.generate import fewer

SRC = Path(pdp.__file__).parent
ACTIONS = ["read", "write", "delete"]
AUTHZEN_HEADER = 'policy "z" version "1" effective 2026-01-01 model authzen\n'
AUTHZEN_VOCAB = f"actions: [{', '.join(ACTIONS)}]\n"
AUTHZEN_CONDITIONS = [
    '"admin" in subject.properties.roles', '"editor" in subject.properties.roles', 'resource.properties.owner == subject.id',
    'resource.type == "doc"', "context.urgent == true", 'subject.properties.level > 2',
    'resource.id matches "/docs/{id}/**"',
    # policy data looked up by a value (issue 12)
    "subject.id in data.members[resource.type]", "data.owners[resource.id] == subject.id",
    'subject.properties.roles has any of ["admin", "editor"]', 'subject.properties.roles has all of ["admin", "editor"]',
]
AUTHZEN_DATA = {"data/members.yaml": "doc: [u1]\ntodo: [u1, u2]\n", "data/owners.yaml": "r1: u2\n"}


def authzen_set(rules: str, index: bool = True) -> pdp.PolicySet:
    return pdp.build(pdp.Sources({"z.pdp": AUTHZEN_HEADER + rules}, ("vocabulary.yaml", AUTHZEN_VOCAB), AUTHZEN_DATA),
                     index=index)


@st.composite
def authzen_rules(draw):
    out = []
    for i in range(draw(st.integers(1, 8))):
        parts = [f'{draw(st.sampled_from(["allow", "deny"]))} r{i} cite "§{i}"']
        actions = draw(st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True))
        if actions:
            parts.append(f"to {', '.join(actions)}")
        when, unless = draw(st.lists(st.sampled_from(AUTHZEN_CONDITIONS + [None]), min_size=2, max_size=2,
                                     unique=True))  # never `when c unless c`: the checker refuses a rule that never applies
        parts += [f"{keyword} {c}" for keyword, c in (("when", when), ("unless", unless)) if c is not None]
        out.append("\n  ".join(parts))
    return "\n".join(out) + "\n"


evaluations = st.fixed_dictionaries({
    "subject": st.fixed_dictionaries({"type": st.just("user"), "id": st.sampled_from(["u1", "u2"])}, optional={
        "properties": st.fixed_dictionaries({}, optional={
            "level": st.integers(0, 5), "roles": st.lists(st.sampled_from(["admin", "editor", "viewer"]), max_size=2)})}),
    "action": st.fixed_dictionaries({"name": st.sampled_from(ACTIONS + ["raed"])}),
    "resource": st.fixed_dictionaries({"type": st.sampled_from(["doc", "todo"]),
                                       "id": st.sampled_from(["r1", "/docs/1", "/docs/1/a", "/docs/"])}, optional={
        "properties": st.fixed_dictionaries({"owner": st.sampled_from(["u1", "u2"])})}),
}, optional={"context": st.fixed_dictionaries({"urgent": st.booleans()})})


@fewer(2)  # two sets built per example
@given(authzen_rules(), st.lists(evaluations, min_size=1, max_size=6))
def test_an_authzen_sets_index_by_action_decides_as_the_plain_scan(rules, requests):
    indexed, scanned = authzen_set(rules), authzen_set(rules, index=False)
    index, scan = RuleIndex(indexed.rules), RuleScan(indexed.rules)
    for action in ACTIONS:
        assert index.for_action(action) == scan.for_action(action)
    for request in requests:
        a, b = indexed.outcome(request), scanned.outcome(request)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations), request


def test_an_authzen_set_is_decided_by_its_actions_alone(monkeypatch):
    policy_set = authzen_set('allow r0 cite "1" to read when "admin" in subject.properties.roles\n'
                             'deny r1 cite "2" to delete\n')

    def no_purpose_or_category(*args):
        raise AssertionError(f"an AuthZEN request was narrowed by purpose and category: {args}")

    monkeypatch.setattr(RuleIndex, "candidates", no_purpose_or_category)
    admin = {"subject": {"type": "user", "id": "u1", "properties": {"roles": ["admin"]}}, "action": {"name": "read"},
             "resource": {"type": "doc", "id": "d"}}
    assert policy_set.decide(admin).decision == "allow"
    denied = policy_set.decide({**admin, "action": {"name": "delete"}})
    assert (denied.decision, [r.rule for r in denied.reasons]) == ("deny", ["r1"])
    nobody = policy_set.decide({**admin, "action": {"name": "write"}})
    assert [(r.rule, r.message, r.categories) for r in nobody.reasons] == [
        ("default.deny", "no rule allows `write` on this resource", ())]


@pytest.mark.parametrize("model", list(models.MODELS.values()), ids=list(models.MODELS))
def test_each_model_looks_up_the_parts_of_its_contract_named_by_an_id(model):
    assert set(model.lookup_roots) == set(model.contract.entities)
    assert models.named(model.name) is model


def test_a_set_knows_its_model_by_its_header():
    assert authzen_set('allow r0 cite "1" to read\n').model is models.AUTHZEN
    assert pdp.load(Path(__file__).parent / "data" / "minimal").model is models.DATA_USE


def test_no_module_compares_a_models_name():
    names = set(models.MODELS)
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) and o.value in names for o in operands):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == [], "ask the model (pdp.engine.models), do not compare its name"

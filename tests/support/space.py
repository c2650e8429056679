"""The small world the decision-space property tests generate policies and requests in, and how they compare
the space's prediction with the engine's decision (tests/test_space.py, test_space_versions.py, test_registers.py)."""

import itertools

from hypothesis import strategies as st

from tests.support.generate import CONDITIONS, INDEXED_KEYS, LISTS, drop_none, generated_rules
from tests.support.sets import request

VOCAB = ("consent_topics: [marketing, cookies, location]\nattributes:\n  context.legal_request: bool\n"
         "  context.note: any\n  context.score: any\n  context.tags: list\n")
DATA = {"lists": LISTS,
        "reg": "p1: {type: service_provider, dpa: true}\np2: {type: affiliate, dpa: false}\n"}


def same(outcome, other) -> bool:
    return (outcome.decision, [r.rule for r in outcome.reasons]) == (other.decision, [r.rule for r in other.reasons])


def every_request(space, group):
    """Every request of a group's cells: the full product of the representative values, no decomposition."""
    nodes = sorted({n for c in space.components(group) for n in c.nodes})
    for cell in group.cells:
        for choice in itertools.product(*(range(len(space.nodes[n].choices)) for n in nodes)):
            req = cell.request()
            for n, c in zip(nodes, choice):
                space.nodes[n].fill(req, c)
            yield req


SPACE_CONDITIONS = CONDITIONS + [  # the space also models actions, registered ids and attributes compared together
    'action == "share"', 'recipient.id == "p1"', "recipient.id is absent", "data_subject.age == context.score",
    *INDEXED_KEYS,
    # a list the request gives, read only as a list: a class per subset of the items compared (domains.list_classes)
    'context.tags has any of ["a", "b"]', 'context.tags has all of ["a", "x"]', '["a", "b"] has all of context.tags',
    '"x" in context.tags', "context.tags is present",
]
ACTIONS = ["collect", "use", "share", "transfer"]
PURPOSES = ["essential", "essential.service", "marketing", "marketing.communications.email", "analytics"]
CATEGORIES = ["user", "user.contact", "user.contact.email", "user.name", "user.location.precise"]
LOOKUPS = ["lookup recipient in data.reg", "lookup recipient in data.reg request wins for dpa",
           'lookup recipient in data.reg\n  if unlisted, request states type, dpa\n  except type "affiliate"']


VALUES = st.one_of(st.none(), st.booleans(), st.integers(0, 4),
                   st.sampled_from(["a", "a.b", "x", "IN", "/a/b", "/a/b/c", "/a//b", "/a", "/"]))
generated_requests = st.builds(
    lambda score, note, age, dpa, rid, rtype, action, purpose, category, country, marketing, tags: drop_none(request(
        action=action, purpose=purpose, data_categories=[category],
        data_subject={"age": age, "consent": {"marketing": marketing}},
        recipient={"dpa": dpa, "id": rid, "type": rtype},
        context={"score": score, "note": note, "legal_request": dpa if score == 1 else None, "tags": tags},
        destination_country=country)),
    VALUES, VALUES, st.one_of(st.none(), st.integers(15, 20), st.floats(0, 40)), st.one_of(st.none(), st.booleans()),
    st.sampled_from([None, "p1", "p2", "zz"]), st.sampled_from([None, "service_provider", "affiliate", "third_party"]),
    st.sampled_from(ACTIONS), st.sampled_from(PURPOSES + ["marketing.advertising", "functional"]),
    st.sampled_from(CATEGORIES + ["user.device"]), st.sampled_from([None, "IN", "US", "SG"]),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "x", "y", 1, True]), max_size=4)))


@st.composite
def policies(draw):
    """Policy texts over the space's small world: rules of up to two clauses of three conditions, maybe a lookup."""
    lookup = draw(st.sampled_from(LOOKUPS)) + "\n" if draw(st.booleans()) else ""
    return lookup + generated_rules(draw, ACTIONS, PURPOSES, CATEGORIES, SPACE_CONDITIONS, clauses=2, items=3)


REFUSED = "refused"


def engine_verdict(policy_set, req) -> tuple[str, frozenset]:
    """The engine's decision and the rules its reasons name; ("refused", {}) when it refuses the request (a
    request error: unknown keys, a value of the wrong type, a status only a register grants stated for an
    unlisted id), as `Encoding.predict` says it."""
    import pdp

    try:
        outcome = policy_set.outcome(req)
    except pdp.RequestError:
        return REFUSED, frozenset()
    return outcome.decision, frozenset(r.rule for r in outcome.reasons)


def verdict_of(outcome) -> tuple[str, frozenset]:
    """A space's `Outcome` (Space.predict, Space.decide) as `engine_verdict` says it."""
    if outcome.decision == REFUSED:
        return REFUSED, frozenset()
    return outcome.decision, frozenset(r.rule for r in outcome.reasons)


def assert_agrees(predicted, verdicts: list, version: int, outside_ok: bool, context) -> None:
    """The analysis' verdict of a request under `version` (None: the request is outside its space) against the
    engines' (`verdicts`: one per version of the space, by `engine_verdict`): equal, refusals included. Outside
    the space may be only a request every version refuses (the space holds the requests some version decides)
    or one the caller says is (`outside_ok`: a value of a kind no condition reads, `generate.ill_typed`)."""
    if predicted is None:
        assert outside_ok or all(v[0] == REFUSED for v in verdicts), ("outside the space", version, verdicts, context)
        return
    assert predicted == verdicts[version], (version, predicted, verdicts[version], context)

"""Generated policies and requests for the property tests, and how many examples a dear property draws."""

import re

from hypothesis import settings
from hypothesis import strategies as st


def fewer(times: int) -> settings:
    """Settings for a property whose every example costs about `times` as much as most (it builds a policy set,
    analyses one or goes through a server): the profile's example count (tests/conftest.py) divided by `times`."""
    return settings(max_examples=max(1, settings.default.max_examples // times))


# The test data (`data.lists`): lists, and tables that conditions look up by a value (`data.lists.types_of[x]`).
LISTS = ("notes: [a, x]\ncountries: [IN, SG]\n"
         "types_of: {a: [service_provider], x: [affiliate, third_party], a.b: []}\n"
         "country_of: {a: IN, x: SG}\nlimit_of: {a: 2, x: 5, a.b: 3.5}\n"
         "purposes_of: {a: [marketing.advertising], x: [essential.service.payment_processing, marketing]}\n")
# Policy data looked up by a value, in every place a value may stand: beside a list, an attribute, an order.
INDEXED = [
    "recipient.type in data.lists.types_of[context.note]", "data.lists.country_of[context.note] == destination_country",
    "context.score < data.lists.limit_of[context.note]", 'data.lists.country_of["x"] != destination_country',
]
# A requested key tested against policy data looked up (read on a side: tests/test_broad_keys.py)
INDEXED_KEYS = ["purpose in data.lists.purposes_of[context.note]", "purpose not in data.lists.purposes_of[context.note]",
                "purpose under data.lists.purposes_of[context.note]"]
# Conditions over the test vocabulary and data (`lists`), for property tests that generate rules from them.
CONDITIONS = INDEXED + [
    "data_subject.age < 18", "data_subject.age >= 18", "data_subject.consent.marketing == false",
    "recipient.dpa", "not recipient.dpa", 'recipient.type in ["service_provider", "affiliate"]',
    'destination_country != "IN" or recipient.dpa == true', "data_subject.consent.location is present",
    'purpose under ["marketing", "essential.service"]', "context.score < 3", "context.score == 2",
    "context.note in data.lists.notes", 'context.note under "a"', "destination_country in data.lists.countries",
    "recipient.dpa == context.legal_request", "context.score", 'not (context.note == "x" and context.score > 1)',
    'context.note matches "/a/{id}/**"', 'context.note matches "a"',
    # `has any of` / `has all of` of constants: the decision space tables them exactly
    '["a", "x"] has all of data.lists.notes', '["b"] has any of data.lists.notes',
]
# `has any of` / `has all of` of a list the request gives (`context.score: any` may hold one, or anything else):
# the engine's properties (plain path, index, request memo, trace) draw them; the decision space leaves such a rule
# unread (space/reading.compares_lists), so its harness (tests/support/space.py) does not.
LIST_CONDITIONS = [
    "context.score has any of [1, 2]", "context.score has all of [0, 1]", "[1, 2] has all of context.score",
    '["a", context.note] has any of data.lists.notes', "context.score has all of []",
]
ENGINE_CONDITIONS = CONDITIONS + LIST_CONDITIONS


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "list"
    return "number" if isinstance(value, (int, float)) else "string" if isinstance(value, str) else "other"


def ill_typed(space, req) -> bool:
    """A value of a kind no condition compares the attribute with: outside the (well-typed) space."""
    for domain in space.domains.values():
        value = req
        for part in domain.path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and _kind(value) not in {c.kind for c in domain.classes}:
            return True
    return False


def generated_rules(draw, actions, purposes, categories, conditions, rules=6, clauses=1, items=2) -> str:
    """Policy text of up to `rules` rules drawn from the pools (for hypothesis' `st.composite` strategies):
    up to two keys each for `to`, `for` and `of`, and up to `clauses` `when` and `unless` clauses each of up
    to `items` conditions joined by `and` or `or`."""
    out = []
    for i in range(draw(st.integers(1, rules))):
        parts = [f'{draw(st.sampled_from(["allow", "deny"]))} r{i} cite "§{i}"']
        for keyword, pool in (("to", actions), ("for", purposes), ("of", categories)):
            chosen = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
            if chosen:
                parts.append(f"{keyword} {', '.join(chosen)}")
        for keyword in ("when", "unless"):
            for _ in range(draw(st.integers(0, clauses))):
                chosen = draw(st.lists(st.sampled_from(conditions), min_size=1, max_size=items))
                parts.append(f"{keyword} " + draw(st.sampled_from([" and ", " or "])).join(f"({c})" for c in chosen))
        out.append("\n  ".join(parts))
    return "\n".join(out) + "\n"


def with_obligations(draw, text: str, ids=("o1", "o2", "o3"), conditions=()) -> str:
    """Generated policy text (`generated_rules`) with obligations drawn for some of its allows, and advice for some
    of its rules. The ids are shared, so several rules may attach the same duty (one text and one parameter type
    per id, as a policy would): `o2` takes a number (`days`), `o3` a list of text (`to`), drawn per rule, so the
    same duty with other parameters is drawn too. With `conditions`, a duty may be given one of them (`if`)."""
    parameters = {"o2": lambda: f" with days = {draw(st.integers(1, 3))}",
                  "o3": lambda: " with to = " + draw(st.sampled_from(["[]", '["a"]', '["a", "b"]']))}

    def duty(word: str, o: str) -> str:
        line = f'\n  {word} {o} "{word} {o}"' + parameters.get(o, lambda: "")()
        if conditions and draw(st.booleans()):
            line += f" if {draw(st.sampled_from(conditions))}"
        return line

    blocks = re.split(r"\n(?=\S)", text.strip())
    for i, block in enumerate(blocks):
        if block.startswith("allow ") and draw(st.booleans()):
            blocks[i] += "".join(duty("oblige", o)
                                 for o in draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True)))
        if conditions and draw(st.booleans()):
            blocks[i] += "".join(duty("advise", a) for a in draw(st.lists(st.sampled_from(("a1", "o2")), min_size=1,
                                                                           max_size=2, unique=True)))
    return "\n".join(blocks) + "\n"


def drop_none(d: dict) -> dict:
    """A generated request without the attributes drawn as None (absent)."""
    return {k: drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


# Tests of the keys a request names (purpose, data_categories) in every form the language has, with a few of
# other attributes, for property tests of how rules read a broad key (tests/test_broad_keys.py).
KEY_CONDITIONS = [
    'purpose == "marketing.advertising"', 'purpose == "marketing"', 'purpose != "essential.service"',
    'purpose == "essential.service.payment_processing"', 'purpose != "marketing.communications.email"',
    'purpose in ["marketing.advertising.third_party", "essential.service.payment_processing"]',
    'purpose not in ["marketing", "marketing.communications.email"]', "purpose in data.lists.purposes",
    'purpose under "marketing.advertising"', '"marketing.advertising.third_party" under purpose',
    '"user.health_and_medical" in data_categories', '"user.contact.email" not in data_categories',
    '"user.contact" in data_categories', '"user.device.cookie_id" in data_categories',
    '"user.name" under data_categories', 'data_categories == ["user.contact"]', 'data_categories != ["user"]',
    'data_categories == ["user.contact.email"]',
    "data_subject.age < 18", "recipient.dpa", "context.score < 3", *INDEXED_KEYS,
]
KEY_DATA = {"lists": LISTS + "purposes: [marketing.advertising, essential.service.payment_processing]\n"}



@st.composite
def named_conditions(draw, conditions, count=3) -> dict[str, str]:
    """Named conditions drawn over a pool of conditions: name -> its condition as written, each of up to two items
    joined by `and` or `or`, an item a condition of the pool or a name drawn before it (`not` or not), so that no
    definition uses itself. Rules use them through the pool `uses(names)` gives."""
    names: dict[str, str] = {}
    for i in range(draw(st.integers(0, count))):
        pool = list(conditions) + uses(names)
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))
        names[f"n{i}"] = draw(st.sampled_from([" and ", " or "])).join(f"({c})" for c in chosen)
    return names


def uses(names: dict[str, str]) -> list[str]:
    """How a condition may use the named ones: alone, or under `not`."""
    return [u for name in names for u in (name, f"not ({name})")]


def defined(text: str, names: dict[str, str]) -> str:
    """Generated policy text with the named conditions' definitions before it."""
    return "".join(f'condition {name} "{name}"\n  when {body}\n' for name, body in names.items()) + text


def written_out(text: str, names: dict[str, str]) -> str:
    """The text with each use of a named condition (`(name)`, as the generators write every item) replaced by its
    condition written out in parentheses: what the named conditions mean, by hand."""
    for name in reversed(list(names)):  # (a name uses only earlier ones: replace the latest first)
        text = text.replace(f"({name})", f"({names[name]})")
    return text

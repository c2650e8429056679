"""Completion (pdp.editing.complete): what may be written at the cursor, read from the words before it."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.base.source import Span
from pdp.editing import Workspace, complete, definition, hover, read_workspace
from pdp.editing import checking, knowledge
from tests.support.sets import CX_ONE_GO, ROOT

MARKER = "‸"  # where the cursor is, in the texts below


@pytest.fixture(scope="module")
def cx():
    return read_workspace(CX_ONE_GO)


def at_marker(ws: Workspace, name: str, written: str):
    """Complete where MARKER is in `written`, appended to the file `name` of the workspace."""
    path = ws.path_of(name)
    text = ws.texts[path] + "\n\n" + written
    offset = text.index(MARKER)
    text = text.replace(MARKER, "")
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return complete(ws.edited(path, text), path, line, col), (path, line, col)


def labels(found) -> list[str]:
    return [c.label for c in found]


def test_a_statement_starts_with_a_statement_word(cx):
    found, _ = at_marker(cx, "marketing.pdp", f"al{MARKER}")
    assert labels(found) == ["allow"]
    found, _ = at_marker(cx, "marketing.pdp", MARKER)
    assert {"allow", "deny", "lookup", "condition", "ledger fills", "policy"} == set(labels(found))


def test_after_to_for_of_the_vocabulary_keys_of_each_kind(cx):
    found, (path, line, col) = at_marker(cx, "marketing.pdp", f'allow x "m"\n  cite "§1"\n  to us{MARKER}')
    (use,) = found
    assert (use.label, use.kind, use.detail) == ("use", "action", "Use the data")
    assert use.replace == Span(path, line, col - 2, line, col)  # the typed `us`
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  for marketing.{MARKER}')
    assert all(c.kind == "purpose" and c.label.startswith("marketing.") for c in found)
    promotions = next(c for c in found if c.label == "marketing.promotions")  # the set's own
    assert promotions.detail == "Promotions and other activities" and "vocabulary.yaml" in promotions.documentation
    email = next(c for c in found if c.label == "marketing.communications.email")
    assert "fideslang" in email.documentation
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  of user.contact.email, user.contact.e{MARKER}')
    assert labels(found) == ["user.contact.email"] and found[0].kind == "category"


def test_after_a_key_and_a_space_the_next_clause(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  of user.contact.email\n  wh{MARKER}')
    assert labels(found) == ["when"]
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use {MARKER}')
    assert {"cite", "for", "of", "when", "unless", "overrides"} <= set(labels(found))


def test_attributes_complete_segment_by_segment_or_whole(cx):
    found, (path, line, col) = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  when data_subject.{MARKER}')
    assert {"data_subject.age", "data_subject.consent", "data_subject.country"} <= set(labels(found))
    age = next(c for c in found if c.label == "data_subject.age")
    assert (age.kind, age.detail) == ("attribute", "number")
    assert all(c.replace == Span(path, line, col - len("data_subject."), line, col) for c in found)
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  when context.linked{MARKER}')
    (linked,) = found
    assert linked.label == "context.linked_account" and linked.documentation == "declared in vocabulary.yaml"


def test_consent_topics_after_consent(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  when data_subject.consent.{MARKER}')
    assert labels(found) == ["data_subject.consent.cookies", "data_subject.consent.location",
                             "data_subject.consent.marketing"]
    assert {c.kind for c in found} == {"topic"}


def test_named_conditions_and_not_where_a_condition_starts(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'deny x "m"\n  to use\n  unless legal{MARKER}')
    (legal,) = found
    assert (legal.kind, legal.detail) == ("condition", "the purpose is one the law requires")
    assert "essential.legal_obligation" in legal.documentation
    found, _ = at_marker(cx, "marketing.pdp", f'deny x "m"\n  to use\n  when context.user_initiated and {MARKER}')
    assert "not" in labels(found) and "kept_for_the_law" in labels(found)


def test_values_of_a_key_attribute_quoted_or_inside_the_quotes(cx):
    found, _ = at_marker(cx, "transfers.pdp", f'allow x "m"\n  to use\n  when recipient.country == I{MARKER}')
    india = next(c for c in found if c.label == "IN")
    assert (india.kind, india.detail, india.insert_text) == ("country", "India", '"IN"')
    found, (path, line, col) = at_marker(cx, "transfers.pdp",
                                         f'allow x "m"\n  to use\n  when recipient.country in ["IN", "S{MARKER}"]')
    singapore = next(c for c in found if c.label == "SG")
    assert singapore.insert_text is None and singapore.replace == Span(path, line, col - 1, line, col)
    found, _ = at_marker(cx, "transfers.pdp", f'allow x "m"\n  to use\n  when purpose under "mark{MARKER}')
    assert found and {c.kind for c in found} == {"purpose"}


def test_register_ids_after_an_id(cx):
    found, _ = at_marker(cx, "disclosure.pdp", f'allow x "m"\n  to share\n  when recipient.id == "{MARKER}')
    ids = {c.label: c for c in found}
    assert {"cloudhost-mumbai", "payments-co"} <= set(ids) and {c.kind for c in found} == {"register"}
    assert ids["cloudhost-mumbai"].detail == "CloudHost India (hosting and maintenance)"
    assert "data.processors" in ids["cloudhost-mumbai"].documentation


def test_bool_attributes_take_true_or_false(cx):
    found, _ = at_marker(cx, "disclosure.pdp", f'allow x "m"\n  to share\n  when recipient.dpa == {MARKER}')
    assert labels(found) == ["true", "false"]


def test_policy_data_after_in(cx):
    found, _ = at_marker(cx, "disclosure.pdp", f'allow x "m"\n  to share\n  when recipient.id in data.{MARKER}')
    registers = {c.label for c in found if c.kind == "register"}
    assert {"data.processors", "data.affiliates", "data.countries"} <= registers


def test_overrides_takes_rule_ids_and_the_prefixes_that_cover_several(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  overrides marketing.email{MARKER}')
    (rule,) = found
    assert (rule.label, rule.kind, rule.detail) == ("marketing.email_opt_out", "rule", "deny (§2.5)")
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  overrides mark{MARKER}')
    assert "marketing" in labels(found)


def test_accept_takes_the_warnings_about_a_rule(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  accept sh{MARKER}')
    assert labels(found) == ["shadowed-rule"]
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  accept shadowed-rule {MARKER}')
    assert labels(found) == ["because"]


def test_after_an_attribute_the_operators(cx):
    found, _ = at_marker(cx, "marketing.pdp", f'allow x "m"\n  to use\n  when recipient.id {MARKER}')
    assert {"==", "in", "not in", "under", "is present"} <= set(labels(found))


def test_lookup_and_ledger_statements(cx):
    found, _ = at_marker(cx, "marketing.pdp", f"lookup {MARKER}")
    assert {"recipient", "data_subject", "requester"} == set(labels(found))
    found, _ = at_marker(cx, "marketing.pdp", f"lookup requester in data.{MARKER}")
    assert "data.processors" in labels(found)
    found, _ = at_marker(cx, "marketing.pdp", f"lookup recipient in data.processors request wins for {MARKER}")
    assert {"name", "type", "dpa", "country"} == set(labels(found))
    found, _ = at_marker(cx, "marketing.pdp", f"ledger fills context.x from cons{MARKER}")
    assert labels(found) == ["consent", "consent_given_on", "consent_expires_on"]
    found, _ = at_marker(cx, "marketing.pdp", f'ledger fills context.x from consent "{MARKER}')
    assert labels(found) == ["cookies", "location", "marketing"]


def test_the_text_after_the_cursor_and_other_mistakes_do_not_matter(cx):
    broken = cx.edited(cx.path_of("use.pdp"), cx.texts[cx.path_of("use.pdp")] + "\n\nallow allow allow ((\n")
    found, _ = at_marker(broken, "marketing.pdp", f'allow x "m"\n  to us{MARKER}e, share\n  of user.')
    assert labels(found) == ["use"]


def test_only_policy_files_complete(cx):
    assert complete(cx, cx.path_of("vocabulary.yaml"), 1, 1) == []


def test_an_authzen_set_completes_its_own_request_parts():
    ws = read_workspace(ROOT / "examples" / "authzen-todo")
    found, _ = at_marker(ws, "todo.pdp", f'allow x "m"\n  to can_read_user\n  when subject.{MARKER}')
    assert {"subject.id", "subject.roles", "subject.email"} <= set(labels(found))
    found, _ = at_marker(ws, "todo.pdp", f'allow x "m"\n  to can_{MARKER}')
    assert "can_read_todos" in labels(found) and {c.kind for c in found} == {"action"}
    found, _ = at_marker(ws, "todo.pdp", f'allow x "m"\n  to can_read_user\n  when a{MARKER}')
    assert "action.name" in labels(found)


def test_the_knowledge_is_kept_and_equals_a_fresh_reading(cx):
    checking.forget()
    knowledge.forget()
    kept = knowledge.knowledge(cx)
    assert knowledge.knowledge(cx) is kept
    fresh = knowledge.knowledge(cx, cached=False)
    assert fresh is not kept and fresh.schema == kept.schema and fresh.declared == kept.declared
    assert fresh.rules.keys() == kept.rules.keys()


EDITS = st.lists(st.tuples(st.integers(0, 4000), st.sampled_from(["", "x", " ", "\n", ".", '"', "#", "when "]),
                           st.integers(0, 3)), max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EDITS, st.integers(1, 80), st.integers(1, 60))
def test_what_the_set_knows_kept_equals_it_read_afresh(cx, edits, line, col):
    path = cx.path_of("marketing.pdp")
    text = cx.texts[path]
    for at, insert, cut in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    ws = cx.edited(path, text)
    kept = (complete(ws, path, line, col), hover(ws, path, line, col), definition(ws, path, line, col))
    plain = checking.CACHE
    checking.CACHE = False
    try:
        fresh = (complete(ws, path, line, col), hover(ws, path, line, col), definition(ws, path, line, col))
    finally:
        checking.CACHE = plain
    assert kept == fresh


def test_an_attribute_a_register_gives_takes_the_values_the_register_holds():
    ws = read_workspace(ROOT / "examples" / "authzen-todo")
    found, _ = at_marker(ws, "todo.pdp", f'allow x "m"\n  to can_read_user\n  when subject.roles has any of ["{MARKER}')
    assert labels(found) == ["admin", "evil_genius", "editor", "viewer"] and {c.kind for c in found} == {"value"}
    found, _ = at_marker(ws, "todo.pdp", f'allow x "m"\n  to can_read_user\n  when subject.id == "{MARKER}')
    assert found[0].kind == "register" and found[0].detail == "rick@the-citadel.com"

"""Bad input gets a clear error, never a traceback: fuzz the parser and checker."""

from hypothesis import given
from hypothesis import strategies as st

import pdp

WORDS = ["allow", "deny", "policy", "lookup", "cite", "to", "for", "of", "when", "unless", "oblige", "and", "or",
         "not", "in", "under", "is", "present", "absent", "true", "false", "==", "!=", "<", ">=", "(", ")", "[", "]",
         ",", ".", "data_subject", "age", "recipient", "dpa", "user", "marketing", '"§1"', '"x"', "18", "a.b",
         "\n", "#c\n", "version", "effective", "2026-01-01", "=", "&&", "'", '"', "\\", "é"]


@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_any_token_soup_gives_diagnostics_not_tracebacks(words):
    text = 'policy "f" version "1"\n' + " ".join(words)
    try:
        pdp.build(pdp.Sources({"f.pdp": text}))
    except pdp.PolicyError as error:
        assert error.diagnostics
        for d in error.diagnostics:
            assert d.span.file == "f.pdp" and d.message
        str(error)  # renders


@given(st.text(max_size=200))
def test_any_text_gives_diagnostics_not_tracebacks(text):
    try:
        pdp.build(pdp.Sources({"f.pdp": text}, ("vocabulary.yaml", text), {"data/d.yaml": text}))
    except pdp.PolicyError as error:
        str(error)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12))
def test_any_json_request_is_decided_or_refused_with_fields(value):
    policy = pdp.build(pdp.Sources({"f.pdp": 'policy "f" version "1"\nallow a cite "§1" when data_subject.age >= 18'}))
    candidates = [value, {"action": "use", "purpose": "essential", "data_categories": ["user"], "data_subject": value},
                  {"action": value, "purpose": "essential", "data_categories": value}]
    for request in candidates:
        try:
            assert policy.decide(request).decision in ("allow", "deny")
        except pdp.RequestError as error:
            assert error.errors and all(e["field"] and e["message"] for e in error.errors)

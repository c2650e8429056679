"""Path templates (`resource.id matches "/todos/{id}/**"`): the matcher against a regular expression built from the
template, the checker's errors, printing and formatting, deciding (fail closed), and the analysis held to the
engine."""

import re
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.analysis.query import Question, ask
from pdp.analysis.space import Space
from pdp.analysis.space.encoding import Encoding
from pdp.analysis.warnings import analyse
from pdp.base import templates
from pdp.base.limits import MAX_MATCHED_PATH_CHARS
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from tests.support.generate import fewer, generated_rules, ill_typed
from tests.support.sets import HEADER, VOCAB, build_set, errors_of, request
from tests.support.space import assert_agrees, engine_verdict

# ---------------------------------------------------------------- the matcher and its reference

SEGMENTS = ["a", "b", "A", "%2F", "x.y"]
template_segments = st.lists(st.one_of(st.sampled_from(SEGMENTS), st.just("{}")), max_size=4)


@st.composite
def written_templates(draw) -> str:
    parts = draw(template_segments)
    names = iter(f"n{i}" for i in range(10))
    parts = [f"{{{next(names)}}}" if p == "{}" else p for p in parts]
    if draw(st.booleans()):
        parts.append("**")
    text = "/".join(parts)
    if draw(st.booleans()):
        text = "/" + text if text else "/"
    return text or "**"


paths = st.one_of(
    st.lists(st.sampled_from(SEGMENTS + ["", ".", "..", "c"]), min_size=1, max_size=6).map("/".join),
    st.text(alphabet="ab/.", max_size=8))


def reference(text: str, path: str) -> bool | None:
    """What `matches` should say, by a regular expression (None: the path is one pdp does not compare)."""
    parts = path.split("/") if path != "/" else [""]
    if not path or any(p == "" for p in parts[1:]) or any(p in (".", "..") for p in parts):
        return None
    written = text.split("/") if text != "/" else [""]
    rest = written[-1] == "**"
    fixed = written[:-1] if rest else written
    pattern = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in fixed)
    if rest:
        pattern = f"{pattern}(/.*)?" if fixed else ".*"
    if text == "/":
        pattern = "/"
    return re.fullmatch(pattern, path) is not None


@given(written_templates(), paths)
def test_the_matcher_is_the_regular_expression_of_its_template(text, path):
    template = templates.parse(text)
    expected = reference(text, path)
    if expected is None:
        with pytest.raises(templates.PathError):
            templates.matches(template, path)
    else:
        assert templates.matches(template, path) == expected


def test_matching_is_linear_a_long_path_is_refused_before_it_is_split():
    template = templates.parse("/{a}/{b}/{c}/**")
    assert templates.matches(template, "/x" * (MAX_MATCHED_PATH_CHARS // 2))
    with pytest.raises(templates.PathError):
        templates.matches(template, "/x" * (MAX_MATCHED_PATH_CHARS // 2 + 1))


def test_the_decisions_of_the_templates():
    t = templates.parse
    assert templates.matches(t("/todos/{id}"), "/todos/42")
    assert not templates.matches(t("/todos/{id}"), "/todos")
    assert not templates.matches(t("/todos/{id}"), "/todos/42/done")
    assert templates.matches(t("/todos/{id}/**"), "/todos/42") and templates.matches(t("/todos/{id}/**"), "/todos/4/a/b")
    assert not templates.matches(t("/todos"), "/Todos")  # case as given
    assert not templates.matches(t("/a/b"), "/a%2Fb")  # percent-encoding as given: one segment
    assert templates.matches(t("/"), "/") and templates.matches(t("/**"), "/")
    assert not templates.matches(t("/{id}"), "/")
    assert templates.matches(t("projects/{p}"), "projects/1") and not templates.matches(t("projects/{p}"), "/projects/1")
    for bad in ("/todos/", "//todos", "/todos/./1", "/todos/../admin", ""):
        with pytest.raises(templates.PathError):
            templates.matches(t("/**"), bad)


# ---------------------------------------------------------------- the checker

AUTHZEN = 'policy "z" version "1" effective 2026-01-01 model authzen\n'


def authzen_errors(condition: str) -> list:
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(pdp.Sources({"z.pdp": AUTHZEN + f'allow r cite "§1" to GET\n  when {condition}\n'},
                              ("vocabulary.yaml", "actions: [GET]\n")))
    return info.value.diagnostics


@pytest.mark.parametrize("template, message, col, hint", [
    ("/a//b", "an empty segment", 32, "write"),
    ("/a/", "an empty segment", 32, "write"),
    ("/**/x", "`**` must be the last segment", 30, "rest of the path"),
    ("/a*", "no segment of a template", 30, "`{name}`"),
    ("/{}", "without a name", 30, "`{id}`"),
    ("/{a}/{a}", "`{a}` twice", 34, "its own name"),
    ("/{a}.json", "no whole placeholder", 30, "whole segment"),
    ("/{1x}", "no name for a segment", 30, "letters"),
    ("/./a", "a `.` segment", 30, "another path"),
    ("", "an empty template", 29, "e.g."),
])
def test_a_bad_template_is_an_error_at_its_spot_with_a_hint(template, message, col, hint):
    """The caret is under the part of the quoted text that is wrong (the text starts at column 29)."""
    (error,) = authzen_errors(f'resource.id matches "{template}"')
    assert error.code == "bad-template" and message in error.message
    assert (error.line, error.col) == (3, col) and hint in error.hint


def test_the_template_is_written_in_the_policy_and_tested_against_text():
    (error,) = authzen_errors("resource.id matches resource.type")
    assert error.code == "bad-template" and "quoted text" in error.message
    (error,) = authzen_errors('"/a" matches "/a"')
    assert error.code == "bad-template" and "attribute" in error.message
    errors = errors_of('allow r cite "§1" when purpose matches "/a"\n')
    assert [e.code for e in errors] == ["type-mismatch"] and "under" in errors[0].hint
    errors = errors_of('allow r cite "§1" when data_subject.age matches "/a"\n')
    assert [e.code for e in errors] == ["type-mismatch"]


def test_under_with_a_path_is_an_error_that_names_matches():
    (error,) = authzen_errors('resource.id under "/todos"')
    assert error.code == "under-path" and "split on dots" in error.message
    assert error.hint == 'write `resource.id matches "/todos/**"` (the path and below it)'
    (error,) = authzen_errors('resource.id under ["a.b", "/todos/"]')
    assert error.code == "under-path" and '"/todos/**"' in error.hint
    # a dotted text may mean a hierarchy: still accepted
    pdp.build(pdp.Sources({"z.pdp": AUTHZEN + 'allow r cite "§1" to GET when resource.type under "doc"\n'},
                          ("vocabulary.yaml", "actions: [GET]\n")))


# ---------------------------------------------------------------- printing and formatting

def test_matches_prints_and_formats_back_to_the_same_tree():
    text = HEADER + 'allow r cite "§1"\n  when   context.note   matches\n "/todos/{id}/**" and not (context.note matches "a")\n'
    formatted = format_policy(text, "p.pdp")
    assert 'when context.note matches "/todos/{id}/**" and not (context.note matches "a")' in formatted
    assert parse_policy(formatted, "p.pdp")[0].rules == parse_policy(text, "p.pdp")[0].rules
    assert parse_policy(text, "p.pdp", streaming=False)[0].rules == parse_policy(text, "p.pdp")[0].rules
    assert format_policy(formatted, "p.pdp") == formatted


# ---------------------------------------------------------------- deciding

ROUTES = """
allow read cite "§1" when context.note matches "/todos/{id}/**"
deny secret cite "§2" when context.note matches "/todos/{id}/secret/**"
allow any cite "§3" when context.score matches "/public/**"
"""


def test_matches_decides_and_fails_closed():
    policy = build_set(ROUTES)

    def decided(**context):
        return policy.decide(request(context=context))

    assert decided(note="/todos/1").allowed and decided(note="/todos/1/items").allowed
    assert not decided(note="/todos").allowed  # no rule applies: default deny
    assert not decided(note="/todos/1/secret").allowed
    for slipping in ("/todos/1/secret/", "/todos//1/secret", "/todos/1/./secret", "/todos/1/x/../secret"):
        outcome = decided(note=slipping)
        assert not outcome.allowed and outcome.reasons[0].effect == "error", slipping  # fail closed
        assert "empty segment" in outcome.reasons[0].message or "segment" in outcome.reasons[0].message
    assert not decided().allowed  # missing: unknown, no rule applies
    outcome = decided(score=3, note="/todos/1")
    assert not outcome.allowed and "a path (text)" in outcome.reasons[0].message  # no text: failure
    assert decided(score="/public/a").allowed



# ---------------------------------------------------------------- the analysis

def test_the_analysis_reads_templates_exactly():
    rules = textwrap.dedent("""
        deny apart "Apart" cite "§1" when context.note matches "/a/{x}" and context.note matches "/b/**"
        deny both "Both" cite "§2" when context.note matches "/a/{x}" and context.note matches "/{y}/b"
        deny slash "Slash" cite "§3" when context.note matches "/a/**" and context.note == "/a/"
        allow run "Run" cite "§4"
    """)
    policy = build_set(rules)
    never = {d.message.split("`")[1] for d in analyse(policy) if "applies to no request" in d.message}
    assert never == {"apart", "slash"}  # `/a/b` matches both; `/a/` is no path pdp compares (the test fails)
    sources = pdp.Sources({"p.pdp": HEADER + rules}, ("vocabulary.yaml", VOCAB))
    answer = ask(pdp.build(sources), Question("deny", where=('context.note matches "/a/{z}"',)), sources)
    assert answer.yes and policy.decide(answer.request).decision == "deny"


PATH_CONDITIONS = [
    'context.note matches "/a/{x}"', 'context.note matches "/a/**"', 'context.note matches "/{y}/b/**"',
    'context.note matches "a/{x}"', 'context.note matches "**"', 'context.note == "/a/b"',
    'context.note in ["/a", "/b/b"]', 'context.score matches "/a/{x}/**"', "context.score == 2",
    'context.note == context.score', 'not (context.note matches "/")',
]
PATHS = ["/", "/a", "/a/b", "/a/b/c", "/b/b", "/c/b/x", "a/b", "a", "/a/", "//a", "/a/./b", 2, "/A/b"]
path_requests = st.fixed_dictionaries(
    {"action": st.just("use"), "purpose": st.sampled_from(["essential", "marketing"]),
     "data_categories": st.just(["user.contact"])},
    optional={"context": st.fixed_dictionaries({}, optional={
        "note": st.sampled_from([p for p in PATHS if isinstance(p, str)]), "score": st.sampled_from(PATHS)})})


@st.composite
def path_sets(draw):
    text = generated_rules(draw, ["use"], ["essential", "marketing"], ["user.contact"], PATH_CONDITIONS, rules=5,
                           items=2)
    try:
        return build_set(text, index=False), build_set(text)
    except pdp.PolicyError:
        return None


@fewer(6)
@given(sets=path_sets().filter(lambda s: s is not None), batch=st.lists(path_requests, min_size=1, max_size=10))
def test_the_encoding_the_index_and_the_engine_decide_paths_alike(sets, batch):
    plain, indexed = sets
    space = Space([plain])
    encoding = Encoding(space)
    for req in batch:
        a, b = plain.outcome(req), indexed.outcome(req)
        assert (a.decision, a.reasons, a.obligations) == (b.decision, b.reasons, b.obligations)
        assert_agrees(encoding.predict(0, req), [engine_verdict(plain, req)], 0, ill_typed(space, req), req)
    never = {d.message.split("`")[1] for d in analyse(plain) if "applies to no request" in d.message}
    for req in batch:
        applied = {r.rule for r in plain.decide(req).reasons if r.effect != "error"}
        assert not (never & applied), req


def test_templates_too_many_to_tell_apart_are_left_to_no_one_and_never_claimed_of(monkeypatch):
    """The walk that tells templates apart is bounded (templated.WALK_LIMIT): past it, the rules that test them are
    named `analysis-skipped`, a query meeting them is undecided, and nothing is claimed of them."""
    from pdp.analysis.space import templated
    from pdp.analysis.space.encoding import Undecided

    monkeypatch.setattr(templated, "WALK_LIMIT", 3)
    rules = textwrap.dedent("""
        deny apart "Apart" cite "§1" when context.note matches "/a/{x}" and context.note matches "/b/**"
        allow run "Run" cite "§4" when data_subject.age > 3
    """)
    policy = build_set(rules)
    found = analyse(policy)
    assert not [d for d in found if "applies to no request" in d.message]
    (skipped,) = [d for d in found if d.code == "analysis-skipped"]
    assert "`apart`" in skipped.message and "matches" in skipped.message
    with pytest.raises(Undecided):
        ask(policy, Question("deny"))

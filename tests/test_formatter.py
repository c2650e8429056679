"""`pdp fmt`: the canonical layout, comments kept, and the command.

Exact text for hand-written messy policies; hypothesis over generated
policies (random clauses, keys, conditions, strings that need escapes,
comments anywhere) for the properties: formatting twice changes nothing, the
formatted policy parses to the same statements, and no comment is lost.
"""

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pdp import PolicyError
from pdp.cli import main
from pdp.lang.formatter import _code_end, _parse, format_policy
from pdp.lang.parser import parse_policy

ROOT = Path(__file__).resolve().parents[1]


def fmt(text: str) -> str:
    formatted = format_policy(textwrap.dedent(text), "f.pdp")
    assert format_policy(formatted, "f.pdp") == formatted
    assert parsed(formatted) == parsed(textwrap.dedent(text))
    return formatted


def parsed(text: str):
    tree, errors = parse_policy(text, "f.pdp")
    assert errors == []
    return tree.headers, tree.lookups, tree.rules


def comments_of(text: str) -> list[str]:
    return sorted(str(c).rstrip() for c in _parse(text)[1])


# ---------------------------------------------------------------- the layout, exactly


def test_a_messy_file_gets_the_canonical_layout():
    source = '''
        allow   marketing.email   "We email you"  oblige unsubscribe "A link in every email"
          when data_subject.consent.marketing==true to use of user.contact.email for marketing.communications.email
          cite "§2.5"
        lookup recipient in data.processors   request wins for country,name
        policy "demo" title "Demo" effective 2026-11-24 version "7"
        deny minors "Not for children" unless context.legal_request when data_subject.age<18 cite "§10"
    '''
    assert fmt(source) == textwrap.dedent('''\
        policy "demo"
          version "7"
          effective 2026-11-24
          title "Demo"

        lookup recipient in data.processors request wins for country, name

        allow marketing.email "We email you"
          cite "§2.5"
          to use
          for marketing.communications.email
          of user.contact.email
          when data_subject.consent.marketing == true
          oblige unsubscribe "A link in every email"

        deny minors "Not for children"
          cite "§10"
          when data_subject.age < 18
          unless context.legal_request
        ''')


def test_clauses_in_a_fixed_order_and_repeated_key_lists_merged():
    source = '''
        deny x.y oblige b "2" accept  no-citation   because "kept" overrides r.one unless c when a to use oblige a "1"
          unless d cite "§1" of user accept shadowed-rule because "why"
          to share overrides r.two cite "§2" for marketing when b
    '''
    assert fmt(source) == textwrap.dedent('''\
        deny x.y
          cite "§1"
          cite "§2"
          to use, share
          for marketing
          of user
          when a
          when b
          unless c
          unless d
          overrides r.one, r.two
          oblige b "2"
          oblige a "1"
          accept no-citation because "kept"
          accept shadowed-rule because "why"
        ''')


def test_long_key_lists_wrap_under_the_first_key():
    keys = ", ".join(f"user.category_{i}" for i in range(12))
    purposes = ", ".join(f"marketing.purpose_{i}" for i in range(6))
    assert fmt(f"allow a.b to use for {purposes} of {keys}") == textwrap.dedent('''\
        allow a.b
          to use
          for marketing.purpose_0, marketing.purpose_1, marketing.purpose_2, marketing.purpose_3,
              marketing.purpose_4, marketing.purpose_5
          of user.category_0, user.category_1, user.category_2, user.category_3, user.category_4,
             user.category_5, user.category_6, user.category_7, user.category_8, user.category_9,
             user.category_10, user.category_11
        ''')


def test_long_conditions_break_before_and_or_inside_parentheses_too():
    source = '''
        deny changes.version "Old version" when context.policy_version_at_collection is present and
        context.policy_version_at_collection != "2026-11-24" and (context.consented_to_current_version is absent
        or context.consented_to_current_version == false)
    '''
    assert fmt(source) == textwrap.dedent('''\
        deny changes.version "Old version"
          when context.policy_version_at_collection is present
               and context.policy_version_at_collection != "2026-11-24"
               and (context.consented_to_current_version is absent
                    or context.consented_to_current_version == false)
        ''')


def test_parentheses_where_the_tree_or_the_listener_needs_them():
    source = '''
        allow a
          when ((a.b == 1)) and (c or d)
          when a or (b and c) or (d or e)
          when not (x in [1,2]) and not not y and not (p or q) and not (purpose under "marketing")
          when (a and b) and c
    '''
    assert fmt(source) == textwrap.dedent('''\
        allow a
          when a.b == 1 and (c or d)
          when a or (b and c) or (d or e)
          when not (x in [1, 2]) and not not y and not (p or q) and not (purpose under "marketing")
          when (a and b) and c
        ''')


def test_text_is_requoted_and_values_kept_as_written():
    source = r'''
        policy "p\u00e9" version "1" effective 2026-01-01 model authzen
        allow a.b "say \"hi\"\t\u00e9\/ \\" cite "§1"
          when x.y in ["a\u0022", 2.50, -3, true, false, []] and z not in data.list and k under ["m"]
    '''
    assert fmt(source) == textwrap.dedent(r'''
        policy "pé"
          version "1"
          effective 2026-01-01
          model authzen

        allow a.b "say \"hi\"\té/ \\"
          cite "§1"
          when x.y in ["a\"", 2.50, -3, true, false, []] and z not in data.list and k under ["m"]
        ''').lstrip("\n")


def test_comments_are_kept_where_they_belong():
    source = '''
        # The file's header comment.
        #
        # Second paragraph of it.

        # About the demo rule.
        allow demo.rule "Demo"   # trailing on the first line
          to use
          # why these categories
          of user.name, # the name
             user.contact.email
          when a.b == 1  # first test
               and c.d == 2
          cite "§1"
          # a note at the end of the rule

        # a block above the header, which moves with it
        policy "demo" version "1"   # the version

        # the end of the file
    '''
    assert fmt(source) == textwrap.dedent('''\
        # The file's header comment.
        #
        # Second paragraph of it.

        # a block above the header, which moves with it
        policy "demo"
          version "1"  # the version

        # About the demo rule.
        allow demo.rule "Demo"  # trailing on the first line
          cite "§1"
          to use
          # why these categories
          of user.name,  # the name
             user.contact.email
          when a.b == 1  # first test
               and c.d == 2
          # a note at the end of the rule

        # the end of the file
        ''')


def test_two_trailing_comments_on_one_formatted_line():
    source = 'allow a  # one\n  "message"  # two\n  to use\n'
    assert fmt(source) == '# one\nallow a "message"  # two\n  to use\n'


def test_comment_inside_a_condition_forces_its_breaks():
    source = '''
        allow a
          when a  # a
               and (b or c) and (d  # d
               or e)
    '''
    assert fmt(source) == textwrap.dedent('''\
        allow a
          when a  # a
               and (b or c)
               and (d  # d
                    or e)
        ''')


def test_hash_inside_text_is_not_a_comment():
    assert fmt('allow a "#1 rule" cite "§#"  # real\n') == 'allow a "#1 rule"\n  cite "§#"  # real\n'


def test_an_empty_file_stays_empty_and_a_comment_only_file_keeps_its_comments():
    assert fmt("") == ""
    assert fmt("\n\n  \n") == ""
    assert fmt("  # one\n\n\n\n# two\n# three\n") == "# one\n\n# two\n# three\n"


def test_windows_line_endings_become_unix():
    assert format_policy('allow a  # c\r\n  to use\r\n', "f.pdp") == "allow a  # c\n  to use\n"


def test_syntax_errors_raise_with_positions():
    with pytest.raises(PolicyError) as info:
        format_policy("allow a\n  when x = 1\n", "f.pdp")
    (error,) = info.value.diagnostics
    assert (error.file, error.line, error.col, error.code) == ("f.pdp", 2, 10, "syntax")


def test_the_policy_set_and_the_examples_are_formatted():
    # CI runs `pdp fmt --check policies/`; this is the same check, for every set the repository ships.
    sets = [ROOT / "policies"] + sorted(p for p in (ROOT / "examples").iterdir() if list(p.glob("*.pdp")))
    assert len(sets) >= 5
    assert [s.name for s in sets if main(["fmt", "--check", str(s)]) != 0] == []


# ---------------------------------------------------------------- properties over generated policies

NAMES = ["user", "contact", "email", "age", "x", "y_1", "data_subject", "consent", "marketing", "order_id",
         "android", "notes", "index", "tomato", "formal", "office", "wins_", "isle", "undergo", "trueish",
         "a_rather_long_attribute_name", "another_long_name_to_wrap_lines"]
# `~` marks comments; the generated text never contains it, so a count finds each comment.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="~"), max_size=12)
COMMENT_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="~"),
                       max_size=12)

# Each strategy is built once, here: building one inside a draw (and drawing once per token gap) made
# generating a policy cost more than formatting it.


def _dotted_tokens(drawn) -> list[str]:
    parts, joined = drawn
    if joined:
        return [".".join(parts)]
    tokens = [parts[0]]
    for part in parts[1:]:
        tokens += [".", part]  # `a . b` is the same name, with a gap (or a comment) inside
    return tokens


def _listed(items) -> list[str]:
    tokens = ["["]
    for i, item in enumerate(items):
        tokens += ([","] if i else []) + item
    return tokens + ["]"]


def _joined(items, separator=",") -> list[str]:
    return [t for i, item in enumerate(items) for t in ([separator] if i else []) + item]


NAME = st.sampled_from(NAMES)
DOTTED = st.tuples(st.lists(NAME, min_size=1, max_size=3), st.booleans()).map(_dotted_tokens)
QUOTED = st.tuples(TEXT, st.booleans()).map(lambda drawn: [json.dumps(drawn[0], ensure_ascii=drawn[1])])
ATOMS = st.one_of(DOTTED, QUOTED, st.sampled_from(["18", "-3", "2.50", "0", "true", "false"]).map(lambda t: [t]))
# policy data looked up by a value (`data.x[a.b].c`): never inside a list, which takes values written out
LOOKED_UP = st.tuples(DOTTED, st.one_of(DOTTED, QUOTED), st.lists(NAME, max_size=2)).map(
    lambda d: ["data", "."] + d[0] + ["["] + d[1] + ["]"] + [t for name in d[2] for t in (".", name)])
OPERANDS = st.one_of(ATOMS, LOOKED_UP, st.lists(st.one_of(ATOMS, st.lists(ATOMS, max_size=3).map(_listed)),
                                                max_size=3).map(_listed))  # lists nested two deep
COMPARISON = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
_LEAVES = {
    "compare": st.tuples(OPERANDS, COMPARISON, OPERANDS).map(lambda d: d[0] + [d[1]] + d[2]),
    **{op: st.tuples(OPERANDS, OPERANDS).map(lambda d, op=op: d[0] + op.split() + d[1])
       for op in ("in", "not in", "under", "matches", "has any of", "has all of")},
    **{kind: DOTTED.map(lambda d, kind=kind: d + ["is", kind]) for kind in ("present", "absent")},
    "truth": OPERANDS,
}
LEAF_CONDITIONS = st.sampled_from(sorted(_LEAVES)).flatmap(_LEAVES.__getitem__).map(lambda t: ("leaf", t))
CONDITIONS = st.recursive(
    LEAF_CONDITIONS,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("not"), inner),
    ),
    max_leaves=6,
)


SPARE_PARENTHESES = st.integers(0, 5)  # 0: parentheses the grammar does not need


def condition_tokens(draw, node, context="top") -> list[str]:
    """Tokens of a condition, with the parentheses the grammar needs and some it does not."""
    kind = node[0]
    if kind == "leaf":
        tokens = node[1]
        needs = False
    elif kind == "not":
        tokens = ["not"] + condition_tokens(draw, node[1], "not")
        needs = False
    else:
        tokens = _joined([condition_tokens(draw, item, kind) for item in node[1]], kind)
        needs = context == "not" or (context == "and" and kind == "or")
    if needs or draw(SPARE_PARENTHESES) == 0:
        tokens = ["("] + tokens + [")"]
    return tokens


@st.composite
def when_clauses(draw):
    return condition_tokens(draw, draw(CONDITIONS))


KEYS = st.lists(DOTTED, min_size=1, max_size=8).map(_joined)
_CLAUSES = {
    "cite": QUOTED.map(lambda q: ["cite"] + q),
    **{kind: KEYS.map(lambda k, kind=kind: [kind] + k) for kind in ("to", "for", "of", "overrides")},
    **{kind: when_clauses().map(lambda c, kind=kind: [kind] + c) for kind in ("when", "unless")},
    # the checker, not the parser, knows which codes there are
    "accept": st.tuples(st.sampled_from(["shadowed-rule", "no-citation", "unknown_code", "x-1-y"]), QUOTED).map(
        lambda d: ["accept", d[0], "because"] + d[1]),
    "oblige": st.tuples(DOTTED, st.one_of(st.just([]), QUOTED)).map(lambda d: ["oblige"] + d[0] + d[1]),
}
CLAUSES = st.sampled_from(sorted(_CLAUSES)).flatmap(_CLAUSES.__getitem__)
RULES = st.tuples(st.sampled_from(["allow", "deny"]), DOTTED, st.one_of(st.just([]), QUOTED),
                  st.lists(CLAUSES, max_size=6)).map(lambda d: [d[0]] + d[1] + d[2] + [t for c in d[3] for t in c])
HEADER_FIELDS = st.one_of(
    QUOTED.map(lambda q: ["version"] + q),
    st.just(["effective", "2026-11-24"]),
    QUOTED.map(lambda q: ["title"] + q),
    st.sampled_from(["authzen", "data_use"]).map(lambda m: ["model", m]),
)
HEADERS = st.tuples(QUOTED, st.lists(HEADER_FIELDS, max_size=5)).map(
    lambda d: ["policy"] + d[0] + [t for f in d[1] for t in f])
NAME_LIST = st.lists(NAME.map(lambda n: [n]), min_size=1, max_size=3).map(_joined)
LOOKUP_CLAUSES = st.one_of(
    NAME_LIST.map(lambda names: ["request", "wins", "for"] + names),
    NAME_LIST.map(lambda names: ["if", "unlisted", ",", "request", "states"] + names),
    st.tuples(NAME, st.lists(st.sampled_from(['"affiliate"', "3", "true", '"x y"']).map(lambda v: [v]),
                             min_size=1, max_size=3).map(_joined)).map(lambda d: ["except", d[0]] + d[1]),
)
LOOKUPS = st.tuples(NAME, st.lists(DOTTED, min_size=1, max_size=3), st.lists(LOOKUP_CLAUSES, max_size=3)).map(
    lambda d: ["lookup", d[0], "in"] + _joined(d[1]) + [t for c in d[2] for t in c])  # more registers read as one
NAMED_CONDITIONS = st.tuples(NAME, st.one_of(st.just([]), QUOTED), when_clauses()).map(
    lambda d: ["condition", d[0]] + d[1] + ["when"] + d[2])
STATEMENTS = st.lists(st.sampled_from([RULES, RULES, HEADERS, LOOKUPS, NAMED_CONDITIONS]).flatmap(
                          lambda statement: statement),
                      max_size=5)
COMMENT = None  # a gap that holds a comment: three in ten
GAPS = [" ", " ", "\n  ", "\n", "\n\n", "\t", "\n       ", COMMENT, COMMENT, COMMENT]
COMMENT_GAPS = st.tuples(st.sampled_from(["  ", "\n", "\n\n", "\n    "]), COMMENT_TEXT,
                         st.sampled_from(["\n", "\n\n", "\n  "]))


@st.composite
def policies(draw):
    """(text, comments): a valid policy file in a random layout, with comments anywhere."""
    tokens = [t for statement in draw(STATEMENTS) for t in statement]
    gaps = draw(st.lists(st.sampled_from(GAPS), min_size=len(tokens) + 1, max_size=len(tokens) + 1))
    commented = iter(draw(st.lists(COMMENT_GAPS, min_size=gaps.count(COMMENT), max_size=gaps.count(COMMENT))))
    comments = []
    pieces = []
    for i, gap in enumerate(gaps):
        if gap is COMMENT:
            before, text, after = next(commented)
            text = f"#c{len(comments)}~{text}".rstrip()
            comments.append(text)
            gap = before + text + after
        if i == 0 and gap.strip() == "":
            gap = ""
        pieces.append(gap)
        if i < len(tokens):
            pieces.append(tokens[i])
    return "".join(pieces), comments


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_formatting_is_idempotent_keeps_the_rules_and_every_comment(policy):
    text, comments = policy
    once = format_policy(text, "f.pdp")
    assert format_policy(once, "f.pdp") == once
    assert parsed(once) == parsed(text)
    for comment in comments:
        assert once.count(comment) == 1, comment
    assert comments_of(once) == sorted(comments)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(policies())
@example(('allow r "a \x85b \u2028c"\n', []))  # a line break in text is written escaped: no line ends in a literal
def test_the_layout_is_tidy(policy):
    text, _ = policy
    once = format_policy(text, "f.pdp")
    assert once == "" or (once.endswith("\n") and not once.endswith("\n\n"))
    assert "\n\n\n" not in once and not once.startswith("\n")
    for line in once.splitlines():
        assert line == line.rstrip()
        assert line.strip() == "" or line[len(line) - len(line.lstrip())] != "\t"


WORDS = ["allow", "deny", "policy", "lookup", "cite", "to", "for", "of", "when", "unless", "oblige", "and", "or",
         "not", "in", "under", "is", "present", "absent", "true", "false", "==", "!=", "<", ">=", "(", ")", "[", "]",
         ",", ".", "age", "user", '"§1"', '"x"', "18", "a.b", "\n", "#c\n", "version", "effective", "2026-01-01",
         "overrides", "model", "request", "wins", "condition"]


@given(st.lists(st.sampled_from(WORDS), max_size=30))
def test_any_token_soup_that_parses_formats_to_the_same_rules(words):
    text = " ".join(words)
    if parse_policy(text, "f.pdp")[1]:
        with pytest.raises(PolicyError):
            format_policy(text, "f.pdp")
        return
    once = format_policy(text, "f.pdp")
    assert format_policy(once, "f.pdp") == once
    assert parsed(once) == parsed(text)
    assert len(comments_of(once)) == text.count("#c")


# ---------------------------------------------------------------- the command

MESSY = 'allow a "A"   to use\n'
TIDY = 'allow a "A"\n  to use\n'


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_passes_a_formatted_directory(tmp_path, capsys):
    (tmp_path / "a.pdp").write_text(TIDY)
    code, out, _ = run(capsys, ["fmt", "--check", str(tmp_path)])
    assert (code, out) == (0, "")


def test_check_names_the_file_shows_a_diff_and_changes_nothing(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "a.pdp"
    path.write_text(MESSY)
    (tmp_path / "b.pdp").write_text(TIDY)
    code, out, err = run(capsys, ["fmt", "--check", str(tmp_path)])
    assert code == 1
    assert out.splitlines() == [
        f"would reformat {path}",
        f"--- {path}",
        f"+++ {path} (formatted)",
        "@@ -1 +1,2 @@",
        '-allow a "A"   to use',
        '+allow a "A"',
        "+  to use",
    ]
    assert "1 of 2 files would be reformatted" in err
    assert path.read_text() == MESSY


def test_fmt_rewrites_in_place_and_names_what_changed(tmp_path, capsys):
    path = tmp_path / "a.pdp"
    path.write_text(MESSY)
    (tmp_path / "b.pdp").write_text(TIDY)
    code, out, _ = run(capsys, ["fmt", str(tmp_path)])
    assert (code, out) == (0, f"reformatted {path}\n")
    assert path.read_text() == TIDY
    assert run(capsys, ["fmt", str(tmp_path)])[:2] == (0, "")


def test_fmt_takes_one_file(tmp_path, capsys):
    path = tmp_path / "a.pdp"
    path.write_text(MESSY)
    assert run(capsys, ["fmt", "--check", str(path)])[0] == 1
    assert run(capsys, ["fmt", str(path)])[0] == 0
    assert path.read_text() == TIDY


def test_syntax_errors_are_reported_and_the_file_left_alone(tmp_path, capsys):
    bad = tmp_path / "bad.pdp"
    bad.write_text("allow a\n  when x = 1\n")
    good = tmp_path / "good.pdp"
    good.write_text(MESSY)
    code, out, err = run(capsys, ["fmt", str(tmp_path)])
    assert code == 1
    assert f"{bad}:2:10: syntax: unexpected character `=`" in err
    assert "   2 |   when x = 1" in err and "hint: to compare two values write `==`" in err
    assert bad.read_text() == "allow a\n  when x = 1\n"
    assert good.read_text() == TIDY  # the other files are still formatted
    assert out == f"reformatted {good}\n"


def test_a_missing_path_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, ["fmt", str(tmp_path / "nowhere")])
    assert code == 2 and "does not exist" in err


@given(st.text(), st.integers(0, 50))
def test_where_the_code_before_a_comment_ends_is_found_without_copying_the_text(text, pos):
    pos = min(pos, len(text))
    assert _code_end(text, pos) == len(text[:pos].rstrip())

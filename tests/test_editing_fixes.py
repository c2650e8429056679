"""Quick fixes: every error that says "did you mean" carries a fix per suggestion, and applying one mends it."""

import textwrap

import pytest

from pdp.editing import Workspace, applied, check
from pdp.editing.edits import applied_to_text, offset_of, position_of
from pdp.base.errors import TextEdit
from pdp.base.source import Span
from tests.support.sets import HEADER, VOCAB

DATA = "acme:\n  name: Acme\n  type: service_provider\n  dpa: true\n  country: IN\n"
RULES = textwrap.dedent("""\
    lookup recipient in data.processors

    condition opted_in "the person agreed" when data_subject.consent.marketing == true

    deny stop "no" cite "§2"
      to use
      for marketing
      when data_subject.consent.marketing == false

    allow mail "email" cite "§1"
      to use
      for marketing.communications.email
      of user.contact.email
      when opted_in and data_subject.age >= 18
      overrides stop

    allow send "share" cite "§3"
      to share
      for essential.service
      of user.contact.email
      when recipient.id in data.processors and recipient.country == "IN"
    """)


def workspace(rules: str = RULES) -> Workspace:
    return Workspace("s", {"s/p.pdp": HEADER + rules, "s/vocabulary.yaml": VOCAB, "s/data/processors.yaml": DATA})


def test_the_set_without_mistakes_checks():
    assert check(workspace()).ok


CASES = [  # (file, the right text, the wrong one, the error's code)
    ("p.pdp", "of user.contact.email\n  when opted_in", "of user.contact.emal\n  when opted_in", "unknown-data-category"),
    ("p.pdp", "for marketing.communications.email", "for marketing.comunications.email", "unknown-purpose"),
    ("p.pdp", "to share", "to shar", "unknown-action"),
    ("p.pdp", "data_subject.age >= 18", "data_subject.ag >= 18", "unknown-attribute"),
    ("p.pdp", "data_subject.age >= 18", "data_subjet.age >= 18", "unknown-attribute"),
    ("p.pdp", "data_subject.consent.marketing == false", "data_subject.consent.marketng == false",
     "unknown-consent-topic"),
    ("p.pdp", "overrides stop", "overrides sotp", "unknown-rule"),
    ("p.pdp", "when opted_in and", "when opted_inn and", "unknown-attribute"),
    ("p.pdp", "recipient.id in data.processors and", "recipient.id in data.procesors and", "unknown-attribute"),
    ("p.pdp", "recipient.country == \"IN\"", "recipient.country == \"Ind\"", "unknown-country"),
    ("p.pdp", "  when opted_in", "  wehn opted_in", "syntax"),
    ("p.pdp", "  overrides stop", "  overides stop", "syntax"),
    ("data/processors.yaml", "  country: IN", "  contry: IN", "register"),
    ("data/processors.yaml", "  country: IN", "  country: Ind", "register"),
    ("vocabulary.yaml", "attributes:", "atributes:", "vocabulary"),
]


@pytest.mark.parametrize("name, right, wrong, code", CASES, ids=[f"{c[3]}-{c[2]}" for c in CASES])
def test_a_fix_mends_the_error(name, right, wrong, code):
    path = f"s/{name}"
    ws = workspace()
    original = ws.texts[path]
    assert right in original
    broken = ws.edited(path, original.replace(right, wrong, 1))
    errors = check(broken).errors
    assert [e.code for e in errors] == [code], errors
    (error,) = errors
    assert error.fixes and all(f.title.startswith("replace with `") for f in error.fixes)
    fixed = [applied(broken, fix) for fix in error.fixes]
    assert any(f.texts[path] == original for f in fixed), [f.texts[path] for f in fixed]
    assert check(next(f for f in fixed if f.texts[path] == original)).ok


def test_a_ledger_fact_misspelt_is_fixed():
    rules = RULES + '\nledger fills data_subject.consent.marketing from consent "marketing"\n'
    ws = workspace(rules)
    assert check(ws).ok
    broken = ws.edited("s/p.pdp", HEADER + rules.replace("from consent", "from consnt"))
    (error,) = check(broken).errors
    assert error.code == "unknown-ledger-fact"
    assert check(applied(broken, error.fixes[0])).ok


STATEMENTS = [  # errors whose span is a whole statement or clause: the word is found in it
    ("lookup recipient in data.processors\n", "lookup recipent in data.processors\n", "bad-lookup"),
    ("lookup recipient in data.processors request wins for country\n",
     "lookup recipient in data.processors request wins for contry\n", "unknown-attribute"),
    ('allow x "m" cite "§1" to use for marketing\n  accept unmarked-overlap because "x"\n',
     'allow x "m" cite "§1" to use for marketing\n  accept unmarked-overlp because "x"\n', "unknown-warning"),
]


@pytest.mark.parametrize("right, wrong, code", STATEMENTS, ids=[s[2] for s in STATEMENTS])
def test_a_word_in_a_statement_the_checker_points_at_as_a_whole_is_fixed_where_it_is_written(right, wrong, code):
    rules = RULES.replace("lookup recipient in data.processors\n", "") if right.startswith("lookup") else RULES
    ws = workspace(rules + right)
    assert check(ws).ok
    broken = ws.edited("s/p.pdp", HEADER + rules + wrong)
    (error,) = check(broken).errors
    assert error.code == code and error.fixes
    assert applied(broken, error.fixes[0]).texts["s/p.pdp"] == ws.texts["s/p.pdp"]


def test_a_word_written_twice_in_the_statement_gets_no_fix():
    ws = workspace(RULES + "lookup recipient in data.processors request wins for country\n")
    twice = ws.edited("s/p.pdp", HEADER + RULES.replace("lookup recipient in data.processors\n", "") +
                      "lookup recipient in data.processors if unlisted, request states contry except contry \"x\"\n")
    errors = [e for e in check(twice).errors if e.code == "unknown-attribute" and "contry" in e.message]
    assert errors and all(e.fixes == () for e in errors)


def test_an_error_without_a_suggestion_has_no_fix():
    ws = workspace()
    broken = ws.edited("s/p.pdp", ws.texts["s/p.pdp"].replace("for marketing\n", "for zzzzqqq\n"))
    (error,) = check(broken).errors
    assert error.code == "unknown-purpose" and error.fixes == ()


def test_edits_count_columns_in_code_points_and_apply_from_the_end():
    text = "é€ line\nsecond 😀 x\n"
    assert offset_of(text, 2, 8) == text.index("😀") and position_of(text, text.index("😀")) == (2, 8)
    assert offset_of(text, 1, 99) == text.index("\n") and offset_of(text, 9, 1) == len(text)
    edits = [TextEdit(Span("f", 2, 8, 2, 9), "smile"), TextEdit(Span("f", 1, 1, 1, 3), "ab")]
    assert applied_to_text(text, edits) == "ab line\nsecond smile x\n"


def test_renaming_a_diagnostics_files_renames_its_fixes_too():
    ws = workspace()
    broken = ws.edited("s/p.pdp", ws.texts["s/p.pdp"].replace("to share", "to shar"))
    (error,) = check(broken).errors
    renamed = error.renamed(lambda file: file.removeprefix("s/"))
    assert renamed.file == "p.pdp" and {e.span.file for f in renamed.fixes for e in f.edits} == {"p.pdp"}
    assert renamed.fixes[0].edits[0].span.line == error.fixes[0].edits[0].span.line

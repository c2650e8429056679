"""Hover, definition and the clauses kept beside a set (pdp.editing.hover, definition, clause_text)."""

import re

import pytest
import yaml

from pdp.base.source import Span
from pdp.editing import applied, clause_text, definition, diagnostics, hover, read_workspace
from pdp.editing.clauses import cited, clauses
from tests.support.sets import CX_ONE_GO


@pytest.fixture(scope="module")
def cx():
    return read_workspace(CX_ONE_GO)


def on(ws, name: str, needle: str, word: str | None = None, extra: str = ""):
    """(path, line, col) of `word` (default: `needle`) on the first line of the file that holds `needle` outside a
    comment; with `extra`, the text is appended to the file first and searched there."""
    path = ws.path_of(name)
    if extra:
        ws = ws.edited(path, ws.texts[path] + "\n\n" + extra)
    for number, line in enumerate(ws.texts[path].split("\n"), start=1):
        if needle in line and not line.lstrip().startswith("#") and (not extra or number > 1 and needle in extra):
            return ws, path, number, line.index(word or needle) + 1
    raise AssertionError(needle)


def hover_on(ws, name, needle, word=None, extra=""):
    ws, path, line, col = on(ws, name, needle, word, extra)
    return hover(ws, path, line, col)


def definition_of(ws, name, needle, word=None, extra=""):
    ws, path, line, col = on(ws, name, needle, word, extra)
    found = definition(ws, path, line, col)
    return found, (ws.texts[found.file].split("\n")[found.line - 1] if found else None)


def test_hover_on_a_taxonomy_key_names_it_describes_it_and_says_where_it_comes_from(cx):
    shown = hover_on(cx, "marketing.pdp", "  for marketing.communications.email", "marketing.communications.email")
    assert shown.markdown.startswith("**Marketing Email Communications** (purpose `marketing.communications.email`)")
    assert "Below `marketing.communications` (Marketing Communications)." in shown.markdown
    assert "fideslang" in shown.markdown
    assert shown.span.end_col - shown.span.col == len("marketing.communications.email")
    own = hover_on(cx, "marketing.pdp", "  for marketing.promotions", "marketing.promotions")
    assert "**Promotions and other activities**" in own.markdown and "Declared in vocabulary.yaml." in own.markdown


def test_hover_on_an_attribute_gives_its_type_and_where_it_comes_from(cx):
    shown = hover_on(cx, "marketing.pdp", "context.email_marketing_opted_out")
    assert shown.markdown == "**`context.email_marketing_opted_out`**: bool\n\nDeclared in vocabulary.yaml."
    shown = hover_on(cx, "disclosure.pdp", "recipient.id in", "recipient.id")
    assert "Part of the request (`recipient`)." in shown.markdown
    assert "Looked up in data.processors or data.affiliates" in shown.markdown


def test_hover_on_a_rule_id_and_a_prefix_of_several(cx):
    shown = hover_on(cx, "marketing.pdp", "overrides collection, marketing", "collection")
    assert shown.markdown.startswith("**collection**: 7 rules: `collection.user_provided` (allow)")
    shown = hover_on(cx, "marketing.pdp", "deny marketing.email_opt_out", "marketing.email_opt_out")
    assert shown.markdown.startswith("**deny `marketing.email_opt_out`** · §2.5\n\nYou opted out of promotional email")
    assert "Overrides `collection`, `marketing`, `transfers`." in shown.markdown


def test_hover_on_a_named_condition_shows_its_text(cx):
    shown = hover_on(cx, "cx-one-go.pdp", "and legal_obligation", "legal_obligation")
    assert shown.markdown.startswith("**condition `legal_obligation`**\n\nthe purpose is one the law requires")
    assert "`when purpose under [" in shown.markdown


def test_hover_on_a_quoted_value_of_a_key_attribute_and_a_register_id(cx):
    shown = hover_on(cx, "transfers.pdp", '"IN"')
    assert shown.markdown.startswith("**India** (country `IN`)")
    shown = hover_on(cx, "disclosure.pdp", '"payments-co"', extra='allow x "m" to share when recipient.id == "payments-co"')
    assert shown.markdown.startswith("**`payments-co`** in data.processors or data.affiliates")
    assert "- name: Payments Co (payment processing)" in shown.markdown
    assert "- dpa: True" in shown.markdown


def test_hover_on_a_cite_shows_each_clause_it_names(cx):
    shown = hover_on(cx, "marketing.pdp", 'cite "§2.5"', '"§2.5"')
    assert shown.markdown.startswith("**§2.5**\n\n> Clicentrix may use your email address")
    several = hover_on(cx, "disclosure.pdp", 'cite "§3.1, §8"', '"§3.1, §8"')
    assert "**§3.1**" in several.markdown and "**§8**\n\n> International Data Transfers:" in several.markdown
    missing = hover_on(cx, "disclosure.pdp", 'cite "§3.9"', '"§3.9"', extra='allow x "m" cite "§3.9" to share')
    assert missing.markdown == "**§3.9**: no clause of this number in clauses.yaml"


def test_no_hover_over_keywords_comments_and_unknown_words(cx):
    assert hover_on(cx, "marketing.pdp", "  to use", "to") is None
    assert hover_on(cx, "marketing.pdp", "when data_subject.consent.marketing == true", "==") is None
    assert hover(cx, cx.path_of("marketing.pdp"), 1, 5) is None  # a comment


def test_definition_of_a_rule_id_in_overrides_and_a_named_condition(cx):
    span, line = definition_of(cx, "marketing.pdp", "overrides collection, marketing", "marketing")
    assert line.startswith("allow marketing.promotional_email") and span.col == 7
    span, line = definition_of(cx, "cx-one-go.pdp", "and legal_obligation", "legal_obligation")
    assert line.startswith("condition legal_obligation") and span.end_col - span.col == len("legal_obligation")


def test_definition_of_policy_data_and_a_register_id(cx):
    span, _ = definition_of(cx, "cx-one-go.pdp", "data.processors")
    assert span == Span(cx.path_of("data/processors.yaml"), 1, 1, 1, 1)
    span, line = definition_of(cx, "disclosure.pdp", '"cx-sg"', extra='allow x "m" to share when recipient.id == "cx-sg"')
    assert span.file == cx.path_of("data/affiliates.yaml") and line == "cx-sg:"


def test_definition_of_what_vocabulary_yaml_declares(cx):
    span, line = definition_of(cx, "marketing.pdp", "context.email_marketing_opted_out")
    assert span.file == cx.path_of("vocabulary.yaml") and line.strip() == "context.email_marketing_opted_out: bool"
    span, line = definition_of(cx, "marketing.pdp", "  for marketing.promotions", "marketing.promotions")
    assert line.strip() == "- key: marketing.promotions"
    span, line = definition_of(cx, "marketing.pdp", "data_subject.consent.marketing")
    assert line.startswith("consent_topics:") and line[span.col - 1:].startswith("marketing")
    assert definition_of(cx, "marketing.pdp", "  for marketing.communications.email",
                         "marketing.communications.email")[0] is None  # fideslang's: nowhere in the set


def test_definition_of_a_cite_is_its_clause(cx):
    span, line = definition_of(cx, "marketing.pdp", 'cite "§2.5"', '"§2.5"')
    assert span.file == cx.path_of("clauses.yaml") and line.startswith('"§2.5":')


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_clause_is_quoted_from_the_privacy_policy(cx):
    policy = _words((CX_ONE_GO / "privacy-policy.txt").read_text(encoding="utf-8"))
    found = clauses(cx)
    assert len(found) >= 29
    for number, text in found.items():
        assert _words(text) in policy, number


def test_every_cite_in_the_set_names_a_clause(cx):
    known = clauses(cx)
    for path in cx.paths_of("policy"):
        for cite in re.findall(r'^\s*cite "([^"]*)"', cx.texts[path], re.M):
            numbers = cited(cite)
            assert numbers, cite
            for number in numbers:
                assert number in known, f"{path}: {number}"
    parents = {f"§{n}" for n in range(1, 13)}
    assert parents <= set(known)


def test_clause_text_never_falls_back_to_another_clause(cx):
    assert clause_text(cx, "§1.3").startswith('"Cookies" Information:\n\nTo your consent')
    assert clause_text(cx, "§ 3.2") == clause_text(cx, "§3.2")
    assert clause_text(cx, "§3.7") is None and clause_text(cx, "§2.4(b)") is None
    assert clause_text(cx.with_texts({cx.path_of("clauses.yaml"): "- not a mapping\n"}), "§1") is None
    assert yaml.safe_load((CX_ONE_GO / "clauses.yaml").read_text(encoding="utf-8"))["§1"] == "The Information we collect:"


def test_a_cite_naming_no_clause_is_an_unknown_clause_warning_with_the_closest_as_fixes(cx):
    path = cx.path_of("marketing.pdp")
    assert "unknown-clause" not in {d.code for d in diagnostics(cx)}
    broken = cx.edited(path, cx.texts[path].replace('cite "§2.5"', 'cite "§2.55"', 1))
    (warning,) = [d for d in diagnostics(broken) if d.code == "unknown-clause"]
    assert warning.severity == "warning" and warning.message == (
        "the rule `marketing.promotional_email` cites `§2.55`, which names no clause of clauses.yaml")
    assert broken.texts[path].split("\n")[warning.line - 1][warning.col - 1:warning.span.end_col - 1] == "§2.55"
    fixed = applied(broken, next(f for f in warning.fixes if f.edits[0].new_text == "§2.5"))
    assert fixed.texts[path] == cx.texts[path]
    without = broken.with_texts({cx.path_of("clauses.yaml"): ""})  # no clauses: nothing to hold cites to
    assert "unknown-clause" not in {d.code for d in diagnostics(without)}


def test_hover_on_an_attribute_the_request_model_describes_says_what_it_says(cx):
    shown = hover_on(cx, "retention.pdp", "collected_at", extra='deny x "m" to use when collected_at < now')
    assert shown.markdown.startswith("**`collected_at`**: date\n\nPart of the request (`collected_at`).\n\n"
                                     "When the data was collected (YYYY-MM-DD)")

"""The studio as a person uses it, in a real headless Chromium against a real `pdp serve` (issue 13): open
CX-ONE-GO, make a typo and see the error at its line, fix it with the suggested quick fix, decide a request and
read the explanation, break a rule and see the diff and a failing test, save and see the served set reload."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import Studio, screenshot

pytestmark = pytest.mark.slow

# marketing.pdp, line 17: `of user.contact.email, user.name, ...` of `allow marketing.promotional_email`
TYPO_LINE = 17
PROMOTIONAL_EMAIL = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
                     "data_subject": {"id": "u-1", "type": "customer", "age": 30, "country": "IN"}}


def open_studio(page: Page, studio: Studio) -> None:
    page.goto(studio.url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def open_file(page: Page, name: str) -> None:
    page.locator(f'.file-button[data-path="{name}"]').click()
    expect(page.locator("#file-title")).to_have_text(name)


def replace_first(page: Page, find: str, replacement: str, close: bool = True) -> None:
    """Find `find` with the editor's search (Ctrl+F, from the top), and type `replacement` over it (`close`: and
    close the completion list, if one opened)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Control+f")
    field = page.locator(".cm-search input[name=search]")
    field.press_sequentially(find)  # typed: the search panel reads its query on each key
    field.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.type(replacement)
    if close:
        page.keyboard.press("Escape")


def line_text(page: Page, number: int) -> str:
    return page.locator(".cm-content .cm-line").nth(number - 1).inner_text()


def colour_of(page: Page, selector: str) -> str:
    return page.locator(selector).first.evaluate("element => getComputedStyle(element).color")


def problems_say_no_errors(page: Page) -> None:
    expect(page.locator("#problems-summary")).to_have_text(re.compile(r"^No (errors|problems)"))


def break_promotional_email(page: Page) -> None:
    """The promotional email rule allows text messages instead of email: email marketing is denied, and text
    messages to people never asked are allowed."""
    open_file(page, "marketing.pdp")
    replace_first(page, "for marketing.communications.email", "for marketing.communications.sms")
    expect(page.locator("#file-changed")).to_have_text("changed, not saved")
    problems_say_no_errors(page)


def test_opens_cx_one_go_and_takes_the_token_out_of_the_address(page: Page, studio: Studio):
    open_studio(page, studio)
    expect(page.locator("#set-name")).to_contain_text("cx-one-go")
    expect(page.locator("#file-title")).to_have_text("cx-one-go.pdp")
    expect(page.locator(".cm-content")).to_contain_text('policy "cx-one-go"')
    expect(page.locator('.file-button[data-path="marketing.pdp"]')).to_be_visible()
    expect(page.locator('.file-button[data-path="tests/marketing.yaml"]')).to_be_visible()
    problems_say_no_errors(page)
    assert page.evaluate("location.hash") == ""  # the token left the address bar, kept for this tab only
    assert page.evaluate("sessionStorage.getItem('pdp-studio-token')") == studio.token
    # pdp's words are highlighted: a statement word, a string and a comment each in their colour
    assert colour_of(page, '.cm-line span:text-is("policy")') == "rgb(111, 45, 168)"
    assert colour_of(page, '.cm-line span:text-is("\\"cx-one-go\\"")') == "rgb(10, 107, 46)"
    assert colour_of(page, '.cm-line span:text-is("#")') == "rgb(92, 99, 112)"
    screenshot(page, "studio-editor")


def test_without_the_token_or_with_a_wrong_one_the_studio_says_so(page: Page, studio: Studio):
    page.goto(f"{studio.base}/studio/")
    expect(page.locator("#access")).to_be_visible()
    expect(page.locator("#access-message")).to_contain_text("No access key was given")
    page.goto(f"{studio.base}/studio/#token=not-the-token-{studio.token[:8]}")
    page.reload()  # a new fragment alone does not load the page again
    expect(page.locator("#access-message")).to_contain_text("refused")
    expect(page.locator(".cm-content")).to_have_count(0)  # nothing of the set was shown
    expect(page.locator("#layout")).to_be_hidden()
    # the key typed in: the studio opens
    page.get_by_label("Access key", exact=True).fill(studio.token)
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#file-title")).to_have_text("cx-one-go.pdp")


def test_a_typo_is_shown_at_its_line_and_the_quick_fix_repairs_it(page: Page, studio: Studio):
    open_studio(page, studio)
    open_file(page, "marketing.pdp")
    assert "user.contact.email," in line_text(page, TYPO_LINE)
    replace_first(page, "user.contact.email,", "user.contact.emial,")
    # the error, in place and in the Problems list, at its line
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    expect(page.locator(".cm-lintRange-error")).to_have_text("user.contact.emial")
    problem = page.locator("#problems-list .problem-error")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(f"marketing.pdp:{TYPO_LINE}:6")
    expect(problem).to_contain_text("unknown-data-category")
    expect(problem).to_contain_text("did you mean")
    expect(page.locator("#problems-summary")).to_contain_text("1 error")
    gutter_line = page.locator(".cm-gutter-lint .cm-gutterElement").filter(has=page.locator(".cm-lint-marker-error"))
    expect(gutter_line).to_have_count(1)
    # the suggested quick fix, from the error's tooltip in the editor
    page.locator(".cm-lintRange-error").hover()
    action = page.locator(".cm-tooltip-lint .cm-diagnosticAction").filter(has_text="user.contact.email").first
    expect(action).to_be_visible()
    screenshot(page, "studio-quick-fix")
    action.click()
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    assert "of user.contact.email, user.name" in line_text(page, TYPO_LINE)
    problems_say_no_errors(page)
    expect(page.locator("#file-changed")).to_have_text("")  # back to the text on disk


def test_hover_explains_a_key_and_a_cited_clause(page: Page, studio: Studio):
    open_studio(page, studio)
    open_file(page, "marketing.pdp")
    page.locator('.cm-line span:text-is("user.name")').first.hover()
    hover = page.locator(".cm-pdp-hover")
    expect(hover).to_contain_text("user.name")
    expect(hover).to_contain_text("data category")
    page.mouse.move(1, 1)
    expect(hover).to_have_count(0)
    page.locator('.cm-line span:text-is("\\"§2.5\\"")').first.hover()
    expect(hover.locator("blockquote")).to_contain_text("promotional email")  # the clause, from the privacy policy
    screenshot(page, "studio-hover-clause")


def test_completion_offers_the_vocabulary_and_f12_goes_to_a_definition(page: Page, studio: Studio):
    open_studio(page, studio)
    open_file(page, "marketing.pdp")
    replace_first(page, "contact.email,", "contact.em", close=False)
    options = page.locator(".cm-tooltip-autocomplete li")
    expect(options.filter(has_text="user.contact.email").first).to_be_visible()
    options.filter(has_text="user.contact.email").first.click()
    page.keyboard.type(",")
    assert "of user.contact.email, user.name" in line_text(page, TYPO_LINE)
    expect(page.locator("#file-changed")).to_have_text("")  # the same text as on disk again
    # a named condition used in retention.pdp is defined in cx-one-go.pdp
    open_file(page, "retention.pdp")
    replace_first(page, "not legal_obligation", "not legal_obligation", close=True)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("F12")
    expect(page.locator("#file-title")).to_have_text("cx-one-go.pdp")
    expect(page.locator(".cm-activeLine")).to_contain_text("condition legal_obligation")
    # and Ctrl+click does the same
    open_file(page, "rights.pdp")
    page.locator('.cm-line span:text-is("legal_obligation")').first.click(modifiers=["Control"])
    expect(page.locator("#file-title")).to_have_text("cx-one-go.pdp")
    expect(page.locator(".cm-activeLine")).to_contain_text("condition legal_obligation")


def test_the_tools_are_tabs_a_keyboard_reaches(page: Page, studio: Studio):
    open_studio(page, studio)
    problems = page.get_by_role("tab", name=re.compile("^Problems"))
    problems.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Try a request")).to_be_focused()
    expect(page.get_by_role("tabpanel", name="Try a request")).to_be_visible()
    expect(page.get_by_role("tabpanel", name=re.compile("^Problems"))).to_be_hidden()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="What this change does")).to_have_attribute("aria-selected", "true")
    # every control is labelled
    for control in ("The request (JSON)", "Start from an example", "Consent ledger events (optional, a JSON list)",
                    "with the action", "for the purpose (or one below it)"):
        expect(page.get_by_label(control, exact=True)).to_have_count(1)


def test_a_request_is_decided_and_explained_beside_its_rules(page: Page, studio: Studio):
    open_studio(page, studio)
    page.get_by_role("tab", name="Try a request").click()
    page.select_option("#example-select", label="promotional email to a customer who opted out is denied (§2.5)")
    assert '"marketing": false' in page.locator("#request-text").input_value()
    page.keyboard.press("Control+Enter")
    decision = page.locator("#decision")
    expect(decision.locator("#verdict")).to_have_text("Denied")
    expect(decision.locator(".reasons")).to_contain_text("marketing.email_opt_out")
    expect(decision.locator(".reasons")).to_contain_text("§2.5")
    expect(decision.locator(".explanation")).to_contain_text("marketing.email_opt_out")
    expect(decision.locator(".considered")).to_contain_text("applied")
    # what the privacy policy says, beside the rule that applied it, and what would allow the request
    clause = decision.locator(".reasons .clauses").first
    clause.locator("summary").click()
    expect(clause.locator(".clause")).to_contain_text("promotional email")
    expect(decision.locator(".would-allow")).to_contain_text("would be allowed if data_subject.consent.marketing")
    # the rule it names opens in the editor, marked
    decision.locator(".reasons .rule-link").first.click()
    expect(page.locator("#file-title")).to_have_text("marketing.pdp")
    expect(page.locator(".cm-rule-applied").first).to_be_visible()
    expect(page.locator(".cm-rule-applied").first).to_contain_text("marketing.email_opt_out")
    screenshot(page, "studio-try-a-request")


def test_a_bad_request_is_refused_naming_its_field(page: Page, studio: Studio):
    open_studio(page, studio)
    page.get_by_role("tab", name="Try a request").click()
    request = page.get_by_label("The request (JSON)", exact=True)
    request.fill('{"action": "use",')
    page.get_by_role("button", name=re.compile("^Decide")).click()
    expect(page.locator("#decision")).to_contain_text("The request is not valid JSON")
    request.fill('{"action": "use", "purpose": "marketing.nonsense", "data_categories": ["user.name"]}')
    page.keyboard.press("Control+Enter")
    expect(page.locator("#decision .error")).to_contain_text("request.purpose")
    expect(page.locator("#verdict")).to_have_count(0)


def test_a_broken_rule_shows_in_the_diff_and_fails_a_test(page: Page, studio: Studio):
    open_studio(page, studio)
    break_promotional_email(page)
    page.get_by_role("tab", name="What this change does").click()
    page.get_by_role("button", name="Show what this change does").click()
    result = page.locator("#diff-result")
    expect(result.locator("#diff-summary")).to_contain_text("would be decided differently")
    expect(result.locator(".change").first).to_contain_text("was")  # "now DENIED, was ALLOWED: ..."
    expect(result.locator(".change .flip").first).to_contain_text("marketing.communications")  # its example, in a line
    screenshot(page, "studio-what-this-change-does")
    # a flipped request goes to "Try a request"
    result.get_by_role("button", name="Try this request").first.click()
    expect(page.get_by_role("tab", name="Try a request")).to_have_attribute("aria-selected", "true")
    assert "marketing.communications" in page.locator("#request-text").input_value()

    page.get_by_role("tab", name="Run the tests").click()
    page.locator("#tests-button").click()
    summary = page.locator("#tests-summary")
    expect(summary).to_have_text(re.compile(r"^\d+ passed, [1-9]\d* failed$"))
    failure = page.locator("#tests-result .case.failed").filter(has_text="tests/marketing.yaml:").filter(
        has_text="promotional email").first
    expect(failure).to_be_visible()
    expect(failure).to_contain_text("expected allow")
    # coverage in the gutter of the open file
    expect(page.locator(".cm-coverage-gutter .coverage:visible").first).to_be_visible()
    screenshot(page, "studio-run-the-tests")
    # a failure opens its case
    failure.get_by_role("button").click()
    expect(page.locator("#file-title")).to_have_text("tests/marketing.yaml")


def test_a_question_about_the_whole_policy_is_answered(page: Page, studio: Studio):
    open_studio(page, studio)
    page.get_by_role("tab", name="What this change does").click()
    page.get_by_label("with the action", exact=True).fill("use")
    page.get_by_label("for the purpose (or one below it)", exact=True).fill("marketing")
    categories = page.get_by_label("of the data categories (or ones below them; separate with commas)", exact=True)
    categories.fill("user.health_and_medical")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("#query-result")
    expect(answer.locator("#query-answer")).to_have_text(re.compile("^No: no request of that kind"))
    expect(answer.get_by_role("button", name="Try this request")).to_have_count(0)
    categories.fill("user.contact.email")
    page.get_by_role("button", name="Ask").click()
    expect(answer.locator("#query-answer")).to_have_text(re.compile("^Yes"))
    answer.get_by_role("button", name="Try this request").click()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#verdict")).to_have_text("Allowed")  # the example proves the yes


def test_save_refuses_errors_then_saves_and_the_served_set_reloads(page: Page, own_studio: Studio):
    marketing = own_studio.directory / "marketing.pdp"
    on_disk = marketing.read_text()
    decide = f"{own_studio.base}/v1/decide"
    assert httpx.post(decide, json=PROMOTIONAL_EMAIL).json()["decision"] == "allow"
    open_studio(page, own_studio)
    open_file(page, "marketing.pdp")
    # a set with an error is not saved
    replace_first(page, "user.contact.email,", "user.contact.emial,")
    expect(page.locator("#problems-summary")).to_contain_text("1 error")
    page.keyboard.press("Control+s")
    expect(page.locator("#status")).to_contain_text("Not saved")
    assert marketing.read_text() == on_disk
    replace_first(page, "user.contact.emial,", "user.contact.email,")
    problems_say_no_errors(page)
    # a change that checks is saved, and the served set reloads
    break_promotional_email(page)
    page.keyboard.press("Control+s")
    status = page.locator("#status")
    expect(status).to_contain_text("Saved 1 file (marketing.pdp)")
    expect(status).to_contain_text("reloaded")
    screenshot(page, "studio-saved")
    assert "for marketing.communications.sms" in marketing.read_text()
    expect(page.locator("#file-changed")).to_have_text("")
    assert httpx.post(decide, json=PROMOTIONAL_EMAIL).json()["decision"] == "deny"

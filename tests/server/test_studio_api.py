"""The studio's API (`/studio/api/*`, docs/studio.md) over a copy of `policies/`: every route, the token, the edits
overlay, and saving."""

import hashlib
import os
import subprocess

import pytest

from tests.support.serve import HANG_GUARD_S

from pdp.server import Settings, create_app
from tests.server.studio_support import (AUTH, EMAIL, TOKEN, copy_policies, marketing_with_typo,
                                         marketing_without_email, studio_client)

ROUTES = [("get", "/studio/api/files"), ("get", "/studio/api/examples"), ("post", "/studio/api/check"),
          ("post", "/studio/api/complete"), ("post", "/studio/api/hover"), ("post", "/studio/api/definition"),
          ("post", "/studio/api/format"), ("post", "/studio/api/decide"), ("post", "/studio/api/test"),
          ("post", "/studio/api/diff"), ("post", "/studio/api/query"), ("post", "/studio/api/save")]


@pytest.fixture
def policies(tmp_path):
    return copy_policies(tmp_path)


@pytest.fixture
def client(policies):
    with studio_client(policies) as client:
        yield client


def fields(answer) -> list[str]:
    body = answer.json()
    assert body["detail"] == body["errors"]
    return [problem["field"] for problem in body["errors"]]


# ---------------------------------------------------------------- mounting and the token


def test_without_a_token_the_studio_does_not_exist(policies):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(policy_dir=policies, log_path=None, reload=False))) as client:
        for path in ("/studio/", "/studio/api/files", "/studio/assets/app.js"):
            assert client.get(path, headers=AUTH).status_code == 404
        assert client.post("/studio/api/save", headers=AUTH, json={"edits": {}}).status_code == 404


def test_the_hot_path_is_kept_with_the_studio_mounted(client):
    assert "/v1/decide" in client.app.hot
    assert client.post("/v1/decide", json=EMAIL).json()["decision"] == "allow"


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}])
def test_every_call_needs_the_token(client, method, path, headers):
    answer = getattr(client, method)(path, headers=headers, **({"json": {}} if method == "post" else {}))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert fields(answer) == ["authorization"]


def test_saving_without_the_token_writes_nothing(client, policies):
    before = (policies / "marketing.pdp").read_text()
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all-000"}):
        answer = client.post("/studio/api/save", headers=headers,
                             json={"edits": {"marketing.pdp": marketing_without_email(policies)}})
        assert answer.status_code == 401
    assert (policies / "marketing.pdp").read_text() == before


@pytest.mark.parametrize("settings,problem", [
    ({"studio_token": "short"}, "at least 16 characters"),
    ({"studio_token": TOKEN, "admin_token": TOKEN}, "the admin token"),
    ({"studio_token": TOKEN, "bundle_url": "http://127.0.0.1:1/b.tar.gz", "bundle_insecure_unsigned": True},
     "a bundle"),
])
def test_settings_refuse_a_studio_that_would_not_be_safe(settings, problem):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=problem):
        Settings(**settings)


# ---------------------------------------------------------------- files, check, format


def test_files_lists_the_set_by_paths_below_its_directory(client, policies):
    answer = client.get("/studio/api/files", headers=AUTH).json()
    assert answer["root"] == "policies" and answer["name"] == "cx-one-go" and answer["version"]
    kinds = {f["path"]: f["kind"] for f in answer["files"]}
    assert kinds["marketing.pdp"] == "policy" and kinds["vocabulary.yaml"] == "vocabulary"
    assert kinds["data/processors.yaml"] == "data" and kinds["tests/marketing.yaml"] == "tests"
    assert kinds["privacy-policy.txt"] == "text"
    text = next(f["text"] for f in answer["files"] if f["path"] == "marketing.pdp")
    assert text == (policies / "marketing.pdp").read_text()
    listed = next(f for f in answer["files"] if f["path"] == "marketing.pdp")
    assert listed["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_check_finds_an_error_at_its_line_in_the_edit(client, policies):
    assert client.post("/studio/api/check", headers=AUTH, json={"warnings": False}).json() == \
        {"ok": True, "diagnostics": []}
    text, line = marketing_with_typo(policies)
    answer = client.post("/studio/api/check", headers=AUTH, json={"edits": {"marketing.pdp": text}, "warnings": False})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is False
    errors = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert errors and errors[0]["file"] == "marketing.pdp" and errors[0]["line"] == line
    assert "usee" in errors[0]["message"]


def test_a_quick_fix_names_the_file_as_files_does_and_applying_it_clears_the_error(client, policies):
    text = (policies / "marketing.pdp").read_text().replace(
        "  for marketing.communications.email\n", "  for marketing.communications.emial\n", 1)
    body = client.post("/studio/api/check", headers=AUTH,
                       json={"edits": {"marketing.pdp": text}, "warnings": False}).json()
    error = body["diagnostics"][0]
    assert error["code"] == "unknown-purpose" and error["file"] == "marketing.pdp"
    fix = error["fixes"][0]
    assert fix["title"] == "replace with `marketing.communications.email`"
    (edit,) = fix["edits"]
    assert edit["file"] == "marketing.pdp"
    lines = text.split("\n")
    line = lines[edit["line"] - 1]
    lines[edit["line"] - 1] = line[:edit["col"] - 1] + edit["new_text"] + line[edit["end_col"] - 1:]
    fixed = client.post("/studio/api/check", headers=AUTH,
                        json={"edits": {"marketing.pdp": "\n".join(lines)}, "warnings": False}).json()
    assert fixed == {"ok": True, "diagnostics": []}


def test_check_with_warnings_reports_them(client):
    body = client.post("/studio/api/check", headers=AUTH, json={}).json()
    assert body["ok"] is True
    assert all(d["severity"] == "warning" for d in body["diagnostics"])


def test_check_refuses_a_warnings_flag_that_is_not_a_boolean(client):
    answer = client.post("/studio/api/check", headers=AUTH, json={"warnings": "no"})
    assert answer.status_code == 400 and fields(answer) == ["warnings"]


def test_format_gives_the_formatted_text(client, policies):
    messy = (policies / "marketing.pdp").read_text().replace("  to use\n", "      to     use\n", 1)
    answer = client.post("/studio/api/format", headers=AUTH, json={"edits": {"marketing.pdp": messy},
                                                                   "file": "marketing.pdp"})
    assert answer.status_code == 200
    assert answer.json()["text"] == (policies / "marketing.pdp").read_text()


def test_format_of_a_file_that_does_not_parse_gives_its_diagnostics(client):
    answer = client.post("/studio/api/format", headers=AUTH,
                         json={"edits": {"marketing.pdp": "allow allow allow\n"}, "file": "marketing.pdp"})
    assert answer.status_code == 422
    assert answer.json()["diagnostics"][0]["file"] == "marketing.pdp"


@pytest.mark.parametrize("body,field", [
    ({"file": "nowhere.pdp"}, "file"), ({"file": "../marketing.pdp"}, "file"), ({"file": "vocabulary.yaml"}, "file"),
    ({}, "file"),
])
def test_format_refuses_a_file_it_cannot_format(client, body, field):
    answer = client.post("/studio/api/format", headers=AUTH, json=body)
    assert answer.status_code == 400 and fields(answer) == [field]


# ---------------------------------------------------------------- the edits overlay


@pytest.mark.parametrize("path", ["../outside.pdp", "/etc/passwd", "privacy-policy.txt", "versions/v1/a.pdp",
                                  "data/../../outside.yaml", "sub/rules.pdp", "a\\b.pdp", "tests/x.yml", ".pdp",
                                  "data/x.json", "", "marketing.pdp/", "C:/x.pdp", "tests/../marketing.pdp"])
def test_edits_to_paths_outside_the_set_are_refused(client, path):
    for route in ("check", "save", "decide"):
        answer = client.post(f"/studio/api/{route}", headers=AUTH, json={"edits": {path: "x"}, "request": EMAIL})
        assert answer.status_code == 400, route
        assert fields(answer) == [f"edits.{path}"]


def test_an_edit_through_a_link_leading_out_of_the_set_is_refused(client, policies, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (policies / "tests").rename(tmp_path / "moved-tests")
    (policies / "tests").symlink_to(elsewhere, target_is_directory=True)
    answer = client.post("/studio/api/save", headers=AUTH, json={"edits": {"tests/new.yaml": "cases: []\n"}})
    assert answer.status_code == 400 and fields(answer) == ["edits.tests/new.yaml"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("edits,field", [
    ([], "edits"), ("marketing.pdp", "edits"), ({"marketing.pdp": 3}, "edits.marketing.pdp"),
    ({"marketing.pdp": "#" * (512 * 1024 + 1)}, "edits.marketing.pdp"),
])
def test_bad_edits_are_refused_naming_the_field(client, edits, field):
    answer = client.post("/studio/api/check", headers=AUTH, json={"edits": edits})
    assert answer.status_code == 400 and fields(answer) == [field]


def test_a_lone_surrogate_in_an_edit_is_refused(client):
    raw = b'{"edits": {"marketing.pdp": "# \\ud800\\n"}}'
    answer = client.post("/studio/api/check", headers={**AUTH, "Content-Type": "application/json"}, content=raw)
    assert answer.status_code == 400 and fields(answer)


@pytest.mark.parametrize("raw,headers,status", [
    (b"[]", {"Content-Type": "application/json"}, 400), (b"{", {"Content-Type": "application/json"}, 400),
    (b"{}", {"Content-Type": "text/plain"}, 415), (b"", {"Content-Type": "application/json"}, 400),
])
def test_a_body_that_is_not_a_json_object_is_refused(client, raw, headers, status):
    answer = client.post("/studio/api/check", headers={**AUTH, **headers}, content=raw)
    assert answer.status_code == status and fields(answer)


# ---------------------------------------------------------------- trying a request


def test_decide_answers_as_v1_decide_with_the_rules_and_their_spans(client, policies):
    answer = client.post("/studio/api/decide", headers=AUTH, json={"request": EMAIL})
    assert answer.status_code == 200
    body = answer.json()
    served = client.post("/v1/decide", json=EMAIL).json()
    assert body["decision"].keys() == served.keys()
    assert body["decision"]["decision"] == served["decision"] == "allow"
    assert body["decision"]["reasons"] == served["reasons"]
    assert "marketing.promotional_email" in body["explanation"]["text"]
    rule = next(r for r in body["explanation"]["rules"] if r["id"] == "marketing.promotional_email")
    assert rule["outcome"] == "applied" and rule["effect"] == "allow" and rule["file"] == "marketing.pdp"
    lines = (policies / "marketing.pdp").read_text().split("\n")
    assert lines[rule["line"] - 1].startswith("allow marketing.promotional_email")
    assert rule["end_line"] > rule["line"]
    assert {r["outcome"] for r in body["explanation"]["rules"]} <= {"applied", "did not apply",
                                                                    "could not be evaluated", "not about this request"}


def test_decide_quotes_the_clauses_each_rule_cites(client, policies):
    """Beside each rule, the words of the privacy policy it cites (clauses.yaml), as the edits have them."""
    import yaml

    quoted = yaml.safe_load((policies / "clauses.yaml").read_text())["§2.5"]
    body = client.post("/studio/api/decide", headers=AUTH, json={"request": EMAIL}).json()
    rule = next(r for r in body["explanation"]["rules"] if r["id"] == "marketing.promotional_email")
    assert rule["cite"] == "§2.5"
    assert [c["number"] for c in rule["clauses"]] == ["§2.5"]
    assert " ".join(rule["clauses"][0]["text"].split()) == " ".join(quoted.split())
    edits = {"clauses.yaml": '"§2.5": "We may send you promotional email."\n'}  # the edited clauses are quoted
    body = client.post("/studio/api/decide", headers=AUTH, json={"edits": edits, "request": EMAIL}).json()
    rule = next(r for r in body["explanation"]["rules"] if r["id"] == "marketing.promotional_email")
    assert rule["clauses"] == [{"number": "§2.5", "text": "We may send you promotional email."}]
    other = next(r for r in body["explanation"]["rules"] if r.get("cite") and r["cite"] != "§2.5")
    assert other["clauses"] == []  # a clause the edited file no longer quotes: none, never a neighbour's


def test_decide_uses_the_edits(client, policies):
    edits = {"marketing.pdp": marketing_without_email(policies)}
    body = client.post("/studio/api/decide", headers=AUTH, json={"edits": edits, "request": EMAIL}).json()
    assert body["decision"]["decision"] == "deny"
    assert body["explanation"]["would_allow"] and "would be allowed if" in body["explanation"]["would_allow"][0]
    assert client.post("/v1/decide", json=EMAIL).json()["decision"] == "allow"  # nothing saved, nothing served


def test_decide_with_ledger_events(client):
    body = client.post("/studio/api/decide", headers=AUTH,
                       json={"request": EMAIL, "events": [{"kind": "consent.withdrawn", "topic": "marketing"}]}).json()
    assert body["decision"]["decision"] == "deny"
    assert {"marketing.email_opt_out", "marketing.opted_out"} <= {r["rule"] for r in body["decision"]["reasons"]}


@pytest.mark.parametrize("body,field", [
    ({"request": {**EMAIL, "purpose": "marketing.communications.emial"}}, "request.purpose"),
    ({"request": "use email"}, "request"),
    ({}, "request"),
    ({"request": EMAIL, "events": {"kind": "consent.given"}}, "events"),
    ({"request": EMAIL, "events": [{"kind": "consent.nothing", "topic": "marketing"}]}, "events[0].kind"),
    ({"request": EMAIL, "events": ["consent"]}, "events[0]"),
])
def test_decide_with_a_bad_request_is_400_naming_the_field(client, body, field):
    answer = client.post("/studio/api/decide", headers=AUTH, json=body)
    assert answer.status_code == 400
    assert field in fields(answer)


def test_decide_with_a_set_that_has_errors_is_422_with_its_diagnostics(client, policies):
    text, line = marketing_with_typo(policies)
    answer = client.post("/studio/api/decide", headers=AUTH, json={"edits": {"marketing.pdp": text}, "request": EMAIL})
    assert answer.status_code == 422
    assert any(d["file"] == "marketing.pdp" and d["line"] == line for d in answer.json()["diagnostics"])


def test_examples_are_the_test_cases_requests(client):
    requests = client.get("/studio/api/examples", headers=AUTH).json()["requests"]
    named = {r["name"]: r for r in requests}
    example = named["tests/marketing.yaml: promotional email to a customer who was never asked is allowed with an "
                    "unsubscribe link"]
    assert example["request"] == EMAIL
    assert example["source"].startswith("tests/marketing.yaml:")
    assert any("events" in r for r in requests)  # tests/ledger.yaml's cases carry their ledger events


# ---------------------------------------------------------------- tests and coverage


def test_the_tests_pass_with_coverage_and_spans(client):
    body = client.post("/studio/api/test", headers=AUTH, json={}).json()
    assert body["failed"] == 0 and body["passed"] == len(body["cases"]) > 100
    coverage = body["coverage"]
    assert 0 < coverage["rule_percent"] <= 100 and 0 < coverage["condition_percent"] <= 100
    rule = next(r for r in coverage["rules"] if r["id"] == "marketing.promotional_email")
    assert rule["covered"] is True and rule["file"] == "marketing.pdp"
    condition = coverage["conditions"][0]
    assert {"file", "line", "col", "end_line", "end_col", "seen_true", "seen_false"} <= condition.keys()


def test_a_broken_rule_fails_its_test_case(client, policies):
    body = client.post("/studio/api/test", headers=AUTH,
                       json={"edits": {"marketing.pdp": marketing_without_email(policies)}}).json()
    assert body["failed"] > 0
    failed = [c for c in body["cases"] if not c["ok"]]
    case = next(c for c in failed if c["name"].startswith("promotional email to a customer who was never asked"))
    assert case["file"] == "tests/marketing.yaml" and case["line"] > 1
    assert "expected allow, got deny" in case["message"]
    rule = next(r for r in body["coverage"]["rules"] if r["id"] == "marketing.promotional_email")
    assert rule["file"] == "marketing.pdp"


def test_an_edited_test_file_is_run_and_a_bad_one_reported(client):
    case = ("cases:\n  - name: email is denied\n    request: {action: use, purpose: marketing.communications.email, "
            "data_categories: [user.contact.email], data_subject: {id: u-1, type: customer, age: 30, country: IN}}\n"
            "    expect: deny\n")
    body = client.post("/studio/api/test", headers=AUTH,
                       json={"edits": {"tests/mine.yaml": case, "tests/bad.yaml": "cases: {}\n"}}).json()
    mine = next(c for c in body["cases"] if c["file"] == "tests/mine.yaml")
    assert mine["ok"] is False and mine["line"] == 2
    assert any(d["file"] == "tests/bad.yaml" for d in body["file_errors"])


# ---------------------------------------------------------------- what a change does


def test_diff_against_the_served_set_shows_the_flipped_example(client, policies):
    edits = {"marketing.pdp": marketing_without_email(policies)}
    body = client.post("/studio/api/diff", headers=AUTH, json={"edits": edits, "against": "served"}).json()
    assert body["changed"] is True
    flipped = [c for c in body["changes"] if c["before"] == "allow" and c["after"] == "deny"]
    assert flipped and "marketing.promotional_email" in flipped[0]["rules_before"]
    example = flipped[0]["example"]
    assert client.post("/v1/decide", json=example).json()["decision"] == "allow"  # served: allowed
    tried = client.post("/studio/api/decide", headers=AUTH, json={"edits": edits, "request": example}).json()
    assert tried["decision"]["decision"] == "deny"  # edited: denied
    assert "now DENIED, was ALLOWED" in body["text"]


def test_diff_without_an_edit_changes_nothing(client):
    body = client.post("/studio/api/diff", headers=AUTH, json={}).json()
    assert body["changed"] is False and body["changes"] == []


def test_diff_against_committed_outside_git_is_400(client):
    answer = client.post("/studio/api/diff", headers=AUTH, json={"against": "committed"})
    assert answer.status_code == 400 and fields(answer) == ["against"]


def test_diff_against_the_committed_set(client, policies):
    git = {"cwd": policies.parent, "check": True, "capture_output": True,
           "env": {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}}
    subprocess.run(["git", "init", "-q"], **git)
    subprocess.run(["git", "add", "policies"], **git)
    subprocess.run(["git", "commit", "-qm", "policies"], **git)
    (policies / "marketing.pdp").write_text(marketing_without_email(policies))  # on disk, not committed
    body = client.post("/studio/api/diff", headers=AUTH, json={"against": "committed"}).json()
    assert any(c["before"] == "allow" and c["after"] == "deny" for c in body["changes"])


@pytest.mark.parametrize("against", ["head", None, 1])
def test_diff_refuses_another_comparison(client, against):
    answer = client.post("/studio/api/diff", headers=AUTH, json={"against": against})
    assert answer.status_code == 400 and fields(answer) == ["against"]


def test_query_yes_with_an_example(client):
    body = client.post("/studio/api/query", headers=AUTH, json={
        "decision": "allowed", "action": "use", "purpose": "marketing.communications.email",
        "categories": ["user.contact.email"]}).json()
    assert body["answer"] == "yes" and body["example"]["purpose"].startswith("marketing.communications.email")
    assert client.post("/v1/decide", json=body["example"]).json()["decision"] == "allow"


def test_query_never(client):
    body = client.post("/studio/api/query", headers=AUTH, json={
        "decision": "allowed", "action": "use", "purpose": "marketing", "categories": ["user.health_and_medical"]}).json()
    assert body["answer"] == "never" and body["example"] is None and "never" in body["text"]


def test_query_reads_the_edits(client, policies):
    question = {"decision": "allowed", "action": "use", "purpose": "marketing.communications.email",
                "categories": ["user.contact.email"], "where": ["data_subject.age == 30"]}
    edits = {"marketing.pdp": marketing_without_email(policies)}
    assert client.post("/studio/api/query", headers=AUTH, json={**question, "edits": edits}).json()["answer"] == "never"


@pytest.mark.parametrize("body,field", [
    ({"decision": "maybe"}, "decision"), ({"action": "usee"}, "action"), ({"purpose": "marketting"}, "purpose"),
    ({"categories": ["user.nothing"]}, "categories"), ({"where": ["data_subject.agee == 3"]}, "where"),
    ({"where": "data_subject.age =="}, "where"), ({"categories": [1]}, "categories"),
])
def test_query_with_a_bad_question_is_400_naming_the_field(client, body, field):
    answer = client.post("/studio/api/query", headers=AUTH, json=body)
    assert answer.status_code == 400 and fields(answer) == [field]


# ---------------------------------------------------------------- saving


def test_save_with_an_error_writes_nothing(client, policies):
    before = (policies / "marketing.pdp").read_text()
    text, line = marketing_with_typo(policies)
    answer = client.post("/studio/api/save", headers=AUTH,
                         json={"edits": {"marketing.pdp": text, "tests/new.yaml": "cases: []\n"}})
    assert answer.status_code == 409
    assert any(d["line"] == line for d in answer.json()["diagnostics"])
    assert (policies / "marketing.pdp").read_text() == before
    assert not (policies / "tests" / "new.yaml").exists()


def test_save_writes_and_the_served_set_decides_anew(client, policies):
    assert client.post("/v1/decide", json=EMAIL).json()["decision"] == "allow"
    digest = client.get("/v1/policies").json()["policies"][0]["digest"]
    text = marketing_without_email(policies)
    answer = client.post("/studio/api/save", headers=AUTH, json={"edits": {"marketing.pdp": text}})
    assert answer.status_code == 200
    body = answer.json()
    assert body["saved"] == ["marketing.pdp"] and body["reloaded"] is True
    assert body["digest"] != digest and body["version"]
    assert (policies / "marketing.pdp").read_text() == text
    assert client.post("/v1/decide", json=EMAIL).json()["decision"] == "deny"
    assert [p.name for p in policies.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_save_refuses_a_file_changed_on_disk_since(client, policies):
    started = (policies / "marketing.pdp").read_text()
    base = {"marketing.pdp": "sha256:" + hashlib.sha256(started.encode()).hexdigest()}
    (policies / "marketing.pdp").write_text(started + "\n# changed by someone else\n")
    answer = client.post("/studio/api/save", headers=AUTH,
                         json={"edits": {"marketing.pdp": marketing_without_email(policies)}, "base": base})
    assert answer.status_code == 409 and fields(answer) == ["base.marketing.pdp"]
    assert (policies / "marketing.pdp").read_text().endswith("# changed by someone else\n")


def test_save_with_the_base_it_started_from_writes(client, policies):
    started = (policies / "marketing.pdp").read_text()
    base = {"marketing.pdp": hashlib.sha256(started.encode()).hexdigest(), "tests/new.yaml": None}
    answer = client.post("/studio/api/save", headers=AUTH, json={
        "edits": {"marketing.pdp": marketing_without_email(policies), "tests/new.yaml": "cases: []\n"}, "base": base})
    assert answer.status_code == 200 and answer.json()["saved"] == ["marketing.pdp", "tests/new.yaml"]


@pytest.mark.parametrize("base,field", [([], "base"), ({"marketing.pdp": "abc"}, "base.marketing.pdp"),
                                        ({"use.pdp": None}, "base.use.pdp")])
def test_save_refuses_a_bad_base(client, policies, base, field):
    answer = client.post("/studio/api/save", headers=AUTH, json={"edits": {"marketing.pdp": "# x\n"}, "base": base})
    assert answer.status_code == 400 and fields(answer) == [field]


def test_a_failed_write_leaves_the_old_files(client, policies, monkeypatch):
    from pdp.server.studio import saving

    before = {p: (policies / p).read_text() for p in ("marketing.pdp", "use.pdp")}
    real = saving._stage
    staged = []

    def failing(path, text):
        if staged:
            raise OSError(28, "No space left on device")
        staged.append(real(path, text))
        return staged[-1]

    monkeypatch.setattr(saving, "_stage", failing)
    answer = client.post("/studio/api/save", headers=AUTH, json={"edits": {
        "marketing.pdp": marketing_without_email(policies), "use.pdp": before["use.pdp"] + "\n"}})
    assert answer.status_code == 500 and "unchanged" in answer.json()["errors"][0]["message"]
    assert {p: (policies / p).read_text() for p in before} == before
    assert not os.path.exists(staged[0])


# ---------------------------------------------------------------- the editor's features


def test_positions_are_checked(client):
    for body, field in (({"file": "marketing.pdp", "line": 0, "col": 1}, "line"),
                        ({"file": "marketing.pdp", "line": 10_000, "col": 1}, "line"),
                        ({"file": "marketing.pdp", "line": 1, "col": 10_000}, "col"),
                        ({"file": "marketing.pdp", "line": True, "col": 1}, "line"),
                        ({"file": "nope.pdp", "line": 1, "col": 1}, "file")):
        for route in ("complete", "hover", "definition"):
            answer = client.post(f"/studio/api/{route}", headers=AUTH, json=body)
            assert answer.status_code == 400 and fields(answer) == [field], (route, body)


def test_complete_hover_and_definition_answer_in_their_shapes(client, policies):
    lines = (policies / "marketing.pdp").read_text().split("\n")
    line = lines.index("  for marketing.communications.email") + 1
    at = {"file": "marketing.pdp", "line": line, "col": len("  for marketing.comm") + 1}
    items = client.post("/studio/api/complete", headers=AUTH, json=at).json()["items"]
    for item in items:
        assert {"label", "kind", "detail", "documentation", "insert_text", "from", "to"} <= item.keys()
    hovered = client.post("/studio/api/hover", headers=AUTH, json=at).json()
    assert set(hovered) == {"markdown", "from", "to"}
    located = client.post("/studio/api/definition", headers=AUTH, json=at).json()
    assert set(located) == {"location"}


# ---------------------------------------------------------------- earlier versions and bounds


def test_the_earlier_versions_on_disk_decide_what_they_decide_in_service(tmp_path):
    import shutil

    policies = copy_policies(tmp_path)
    earlier = policies / "versions" / "2025-01-01"
    earlier.mkdir(parents=True)
    for name in [p.name for p in policies.glob("*.pdp")] + ["vocabulary.yaml", "data"]:
        (shutil.copytree if name == "data" else shutil.copy)(policies / name, earlier / name)
    header = earlier / "cx-one-go.pdp"
    header.write_text(header.read_text().replace('version "2026-11-24"\n  effective 2026-11-24',
                                                 'version "2025-01-01"\n  effective 2025-01-01'))
    edits = {"marketing.pdp": marketing_without_email(policies)}
    with studio_client(policies) as client:
        now = client.post("/studio/api/decide", headers=AUTH, json={"edits": edits, "request": EMAIL}).json()
        then = client.post("/studio/api/decide", headers=AUTH,
                           json={"edits": edits, "request": {**EMAIL, "collected_at": "2025-06-01"}}).json()
    assert now["decision"]["decision"] == "deny"
    assert then["decision"]["decision"] == "allow" and then["decision"]["policy"]["version"] == "2025-01-01"


def test_a_whole_set_answer_that_takes_too_long_is_abandoned_with_503(client, monkeypatch):
    import threading

    from pdp.server.studio import impact, routes

    release = threading.Event()

    def stuck(*args):
        release.wait(HANG_GUARD_S)
        return {}

    monkeypatch.setattr(routes, "WHOLE_SET_TIMEOUT_S", 0.2)
    monkeypatch.setattr(impact, "changes", stuck)
    try:
        answer = client.post("/studio/api/diff", headers=AUTH, json={})
    finally:
        release.set()
    assert answer.status_code == 503 and answer.json()["error"] == "timeout"


def test_the_quick_answers_are_not_held_up_by_whole_set_work(client, monkeypatch):
    import threading

    from pdp.server.studio import impact, routes

    release, started = threading.Event(), threading.Semaphore(0)

    def stuck(*args):
        started.release()
        release.wait(HANG_GUARD_S)
        return {"text": "", "changed": False, "complete": True, "changes": []}

    monkeypatch.setattr(impact, "changes", stuck)
    diffs = [threading.Thread(target=client.post, args=("/studio/api/diff",), kwargs={"headers": AUTH, "json": {}})
             for _ in range(routes.WHOLE_SET_AT_ONCE)]
    try:
        for thread in diffs:
            thread.start()
        for _ in diffs:
            assert started.acquire(timeout=HANG_GUARD_S)  # every slot for whole-set work is taken
        answer = client.post("/studio/api/check", headers=AUTH, json={"warnings": False})
        assert answer.status_code == 200 and answer.json()["ok"] is True
    finally:
        release.set()
        for thread in diffs:
            thread.join(HANG_GUARD_S)

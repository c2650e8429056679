"""The editor's language features over the studio's API: completion, hover, go to definition, in the API's paths and
positions (1-based, code points), answered by the editing core (`pdp.editing`)."""

import pytest

from tests.server.studio_support import AUTH, copy_policies, studio_client


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    policies = copy_policies(tmp_path_factory.mktemp("editor"))
    with studio_client(policies) as client:
        yield client, (policies / "marketing.pdp").read_text().split("\n")


def line_of(lines, start: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(start)) + 1


def test_completion_of_a_purpose_replaces_the_partial_word(studio):
    client, lines = studio
    line = line_of(lines, "  for marketing.communications.email")
    col = len("  for marketing.comm") + 1
    items = client.post("/studio/api/complete", headers=AUTH,
                        json={"file": "marketing.pdp", "line": line, "col": col}).json()["items"]
    email = next(i for i in items if i["label"] == "marketing.communications.email")
    assert email["kind"] == "purpose" and email["detail"] and email["insert_text"] == email["label"]
    assert email["from"] == {"line": line, "col": len("  for ") + 1} and email["to"]["line"] == line


def test_completion_follows_the_edits_not_the_disk(studio):
    client, lines = studio
    text = "\n".join(lines).replace("  for marketing.communications.email\n", "  for marketing.communications.em\n", 1)
    line = line_of(text.split("\n"), "  for marketing.communications.em")
    items = client.post("/studio/api/complete", headers=AUTH, json={
        "edits": {"marketing.pdp": text}, "file": "marketing.pdp", "line": line,
        "col": len("  for marketing.communications.em") + 1}).json()["items"]
    assert "marketing.communications.email" in {i["label"] for i in items}


def test_hover_on_a_key_gives_its_name_and_span(studio):
    client, lines = studio
    line = line_of(lines, "  for marketing.communications.email")
    answer = client.post("/studio/api/hover", headers=AUTH,
                         json={"file": "marketing.pdp", "line": line, "col": 10}).json()
    assert "marketing.communications.email" in answer["markdown"]
    assert answer["from"] == {"line": line, "col": len("  for ") + 1}
    assert answer["to"] == {"line": line, "col": len("  for marketing.communications.email") + 1}


def test_hover_on_a_cite_gives_the_clause_from_the_privacy_policy(studio):
    client, lines = studio
    line = line_of(lines, '  cite "§2.5"')
    answer = client.post("/studio/api/hover", headers=AUTH,
                         json={"file": "marketing.pdp", "line": line, "col": 10}).json()
    assert answer["markdown"].startswith("**§2.5**") and "promotional email" in answer["markdown"]


def test_hover_on_nothing_is_null(studio):
    client, lines = studio
    answer = client.post("/studio/api/hover", headers=AUTH, json={"file": "marketing.pdp", "line": 2, "col": 1}).json()
    assert answer == {"markdown": None, "from": None, "to": None}


def test_definition_of_a_rule_prefix_in_overrides_is_in_another_file(studio):
    client, lines = studio
    line = line_of(lines, "  overrides collection, marketing, transfers")
    col = lines[line - 1].index("collection") + 2
    location = client.post("/studio/api/definition", headers=AUTH,
                           json={"file": "marketing.pdp", "line": line, "col": col}).json()["location"]
    assert location["file"] == "collection.pdp"
    assert {"line", "col", "end_line", "end_col"} <= location.keys()


def test_definition_of_nothing_is_null(studio):
    client, _ = studio
    assert client.post("/studio/api/definition", headers=AUTH,
                       json={"file": "marketing.pdp", "line": 2, "col": 1}).json() == {"location": None}

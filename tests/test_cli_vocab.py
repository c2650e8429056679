"""`pdp vocab` and `pdp --version` (issue 12, "Vocabulary discovery")."""

import json
from importlib import metadata

import pytest

from pdp.cli.app import main
from tests.support.sets import CX_ONE_GO


def run(capsys, *argv):
    code = main(["vocab", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_prefix_lists_fideslangs_keys_with_their_names_and_descriptions_credited(capsys):
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    code, out, _ = run(capsys, "user.health")
    assert code == 0
    wanted = {c.fides_key: c for c in DEFAULT_TAXONOMY.data_category if c.fides_key.startswith("user.health")}
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  user.")]
    assert listed == sorted(wanted)
    medical = wanted["user.health_and_medical"]
    assert f"  {medical.name}: {medical.description}" in out
    assert "fideslang's default taxonomy (Ethyca" in out and "CC BY 4.0" in out


def test_the_sets_own_keys_topics_and_attributes_are_marked(capsys):
    code, out, _ = run(capsys, "--policy", str(CX_ONE_GO))
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith(" +essential.legal_claims ") and "Legal claims" in line for line in lines)
    assert any(line.startswith(" +marketing") for line in lines)  # a consent topic
    assert any(line.startswith(" +context.legal_request ") and line.endswith("bool") for line in lines)
    assert any(line.startswith("  essential.service ") for line in lines)  # fideslang's, unmarked
    assert any(line.startswith(" +access") for line in lines)  # a declared action
    assert f"+: declared by the policy set in {CX_ONE_GO}" in out


def test_json_lists_kind_key_name_description_and_source(capsys):
    code, out, _ = run(capsys, "essential.legal", "--policy", str(CX_ONE_GO), "--json")
    assert code == 0
    entries = {e["key"]: e for e in json.loads(out)}
    assert entries["essential.legal_claims"] == {
        "kind": "purpose", "key": "essential.legal_claims",
        "name": "Legal claims, liability, IP, privacy and defamation issues", "description": "", "source": "declared"}
    assert entries["essential.legal_obligation"]["source"] == "fideslang"


def test_kind_narrows_the_listing(capsys):
    code, out, _ = run(capsys, "--kind", "recipient_type", "--kind", "action", "--json")
    entries = json.loads(out)
    assert code == 0 and {e["kind"] for e in entries} == {"action", "recipient type"}
    assert [e["key"] for e in entries if e["kind"] == "action"] == ["collect", "erase", "share", "transfer", "use"]


def test_a_country_is_listed_with_its_name(capsys):
    code, out, _ = run(capsys, "GB", "--kind", "country", "--json")
    assert (code, json.loads(out)) == (0, [{"kind": "country", "key": "GB", "name": "United Kingdom",
                                            "description": "", "source": "built-in"}])


def test_a_prefix_that_matches_nothing_fails_with_the_closest_keys(capsys):
    code, out, err = run(capsys, "usr.helth")
    assert code == 1 and out == ""
    assert err.startswith("no key starts with `usr.helth`: did you mean `user.health_and_medical`")


def test_a_broken_vocabulary_is_reported_with_its_position(tmp_path, capsys):
    (tmp_path / "p.pdp").write_text('policy "t" version "1" effective 2026-01-01\n')
    (tmp_path / "vocabulary.yaml").write_text("consent_topics: [a]\n bad: indent\n")
    code, out, err = run(capsys, "--policy", str(tmp_path))
    assert code == 1 and out == ""
    assert "vocabulary.yaml:2:" in err and "vocabulary:" in err and "hint:" in err


def test_a_set_whose_rules_do_not_check_still_lists_its_vocabulary(tmp_path, capsys):
    (tmp_path / "p.pdp").write_text('policy "t" version "1" effective 2026-01-01\nallow a cite "1" to nonsense\n')
    (tmp_path / "vocabulary.yaml").write_text("consent_topics: [fitness]\n")
    code, out, _ = run(capsys, "fit", "--policy", str(tmp_path))
    assert code == 0 and " +fitness" in out


def test_a_missing_policy_directory_is_an_error_not_a_traceback(tmp_path, capsys):
    code, _, err = run(capsys, "--policy", str(tmp_path / "nowhere"))
    assert code == 1 and "no-policies" in err


def test_version_names_pdp_and_the_taxonomys_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pdp {metadata.version('pdp')} (fideslang {metadata.version('fideslang')})"


def test_an_authzen_set_lists_its_actions_and_its_requests_attributes(capsys):
    from tests.support.sets import ROOT

    code, out, _ = run(capsys, "--policy", str(ROOT / "examples" / "authzen-todo"), "--json")
    entries = json.loads(out)
    assert code == 0 and {e["kind"] for e in entries} == {"action", "attribute"}
    attributes = {e["key"] for e in entries if e["kind"] == "attribute"}
    assert "subject.id" in attributes and "resource.type" in attributes and "data_subject.age" not in attributes
    assert any(e["source"] == "declared" for e in entries if e["kind"] == "action")


def test_the_attributes_a_register_gives_are_listed_with_the_register(capsys):
    from tests.support.sets import ROOT

    code, out, _ = run(capsys, "subject.", "--policy", str(ROOT / "examples" / "authzen-todo"), "--json")
    by_key = {e["key"]: e for e in json.loads(out)}
    assert code == 0
    assert by_key["subject.roles"] == {"kind": "attribute", "key": "subject.roles", "name": "list of string",
                                       "description": "from data.users", "source": "declared"}
    assert by_key["subject.id"]["source"] == "built-in"  # the request's own attribute stays pdp's


def test_a_lookup_of_a_missing_register_lists_the_rest(tmp_path, capsys):
    (tmp_path / "p.pdp").write_text('policy "p" version "1"\nlookup recipient in data.nowhere\nallow a cite "§1"\n')
    code, out, _ = run(capsys, "recipient.", "--policy", str(tmp_path), "--json")
    assert code == 0 and "recipient.dpa" in {e["key"] for e in json.loads(out)}

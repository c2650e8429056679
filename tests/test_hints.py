"""Every hint names something the user can actually do (issue 12, "Misleading hints", and forgetting `model
authzen`)."""

import pytest

import pdp
from pdp.analysis.warnings import warnings_of
from pdp.vocab import schema as sch
from tests.support.sets import HEADER, VOCAB, build_set, errors_of

USE = 'deny x "no" cite "§1" to share\n'


def only(errors, code):
    (error,) = [e for e in errors if e.code == code]
    return error


def test_an_unknown_recipient_type_names_the_types_and_no_section_that_does_not_exist():
    error = only(errors_of(USE + '  when recipient.type == "zzzzzz"\n'), "unknown-recipient-type")
    assert "vocabulary.yaml if the policy set needs it" not in error.hint  # there is no such section
    assert "`service_provider`" in error.hint and "`third_party`" in error.hint
    assert "`recipient.role: string` under `attributes`" in error.hint  # what can be declared instead


@pytest.mark.parametrize("written", ["processor", "Processor", "subprocessor"])
def test_a_processor_is_told_service_provider(written):
    error = only(errors_of(USE + f'  when recipient.type == "{written}"\n'), "unknown-recipient-type")
    assert error.hint == "did you mean `service_provider`?"


def test_a_request_naming_a_processor_is_told_service_provider():
    with pytest.raises(pdp.RequestError) as info:
        build_set(USE).decide({"action": "share", "purpose": "essential.service", "data_categories": ["user"],
                               "recipient": {"type": "processor"}})
    assert info.value.errors[0]["suggestions"] == ["service_provider"]


def test_an_unknown_recipient_attribute_lists_the_declared_ones_and_says_how_to_declare():
    vocabulary = VOCAB + "  recipient.dpa_signed: bool\n"
    error = only(errors_of(USE + "  when recipient.scc\n", vocabulary=vocabulary), "unknown-attribute")
    assert "`recipient.dpa_signed`" in error.hint and "`recipient.country`" in error.hint  # declared and built in
    assert "declare it under `attributes` in vocabulary.yaml: `recipient.scc: bool`" in error.hint


def test_declaring_it_as_the_hint_says_works():
    vocabulary = VOCAB + "  recipient.scc: bool\n"
    assert build_set(USE + "  when recipient.scc\n", vocabulary=vocabulary).rules


def test_an_unknown_action_names_the_actions_and_the_section_that_adds_one():
    error = only(errors_of('deny x "no" cite "§1" to zzzzzz\n'), "unknown-action")
    assert error.hint.startswith("the actions are `collect`") and "declare it under `actions`" in error.hint


def test_an_unknown_purpose_points_at_pdp_vocab_and_the_section():
    error = only(errors_of('deny x "no" cite "§1" for zzzzzz.qqqqq\n'), "unknown-purpose")
    assert "`pdp vocab PREFIX`" in error.hint and "under `data_uses` in vocabulary.yaml" in error.hint


@pytest.mark.parametrize("condition", ['destination_country == "UK"', 'destination_country in ["DE", "UK"]'])
def test_uk_suggests_gb_wherever_a_country_is_written(condition):
    error = only(errors_of(f'deny x "no" cite "§1" to transfer\n  when {condition}\n'), "unknown-country")
    assert error.hint == "did you mean `GB`?"


@pytest.mark.parametrize("written, meant", [("txt", "string"), ("text", None), ("boolen", "bool"), ("numbr", "number")])
def test_type_hints_use_the_documented_names(written, meant):
    vocabulary = f"attributes:\n  context.x: {written}\n"
    if meant is None:  # an accepted spelling
        assert build_set('allow a "ok" cite "§1" to use\n', vocabulary=vocabulary).rules
        return
    error = only(errors_of('allow a "ok" cite "§1" to use\n', vocabulary=vocabulary), "vocabulary")
    assert error.hint == f"did you mean `{meant}`?"


def test_a_type_far_from_every_name_lists_the_documented_ones_only():
    error = only(errors_of('allow a "ok" cite "§1" to use\n', vocabulary="attributes:\n  context.x: zzzzzz\n"),
                 "vocabulary")
    assert error.hint == "types: " + ", ".join(f"`{n}`" for n in sch.TYPE_NAMES)
    assert "`text`" not in error.hint and "`boolean`" not in error.hint


def test_the_documented_types_are_the_checkers():
    from tests.support.sets import ROOT

    language = (ROOT / "docs" / "language.md").read_text()
    line = next(line for line in language.splitlines() if "# types:" in line)
    assert line.split("# types: ", 1)[1].split(", ") == list(sch.TYPE_NAMES)


def test_unused_vocabulary_never_asks_to_remove_a_key_a_request_may_name():
    policy_set = build_set('allow a "ok" cite "§1" to use for essential\n',
                           vocabulary="data_uses:\n  - key: essential.fitness\n")
    (warning,) = [w for w in warnings_of(policy_set) if w.code == "unused-vocabulary"]
    assert not warning.hint.startswith("remove")
    assert "decided by the rules on `essential`" in warning.hint and "only if no request names it" in warning.hint
    # and the request the warning is about is indeed decided, by the rule on `essential`
    assert policy_set.decide({"action": "use", "purpose": "essential.fitness",
                              "data_categories": ["user"]}).decision == "allow"


def test_forgetting_model_authzen_hints_to_add_the_header_line():
    errors = errors_of('allow todo.read "ok" cite "§1" to use\n  when subject.role == "admin"\n'
                       '  when resource.owner == "x"\n')
    assert [e.hint for e in errors] == [
        "`subject` is part of the requests of an AuthZEN policy set: add the line `model authzen` to the `policy` "
        "header; or did you mean `data_subject`?",
        "`resource` is part of the requests of an AuthZEN policy set: add the line `model authzen` to the `policy` "
        "header"]


def test_a_data_use_attribute_in_an_authzen_set_hints_to_remove_the_model_line():
    sources = pdp.Sources({"p.pdp": HEADER + "  model authzen\n"
                           'allow read "ok" cite "§1"\n  when data_subject.age > 3\n'}, None, {})
    with pytest.raises(pdp.PolicyError) as info:
        pdp.build(sources)
    (error,) = info.value.diagnostics
    assert "header says `model authzen`: remove that line" in error.hint and "`subject`" in error.hint


@pytest.mark.parametrize("written", ["[a]", "{a: 1}"])
def test_a_type_that_is_a_list_or_mapping_is_an_error_not_a_crash(written):
    error = only(errors_of('allow a "ok" cite "§1" to use\n', vocabulary=f"attributes:\n  context.x: {written}\n"),
                 "vocabulary")
    assert error.line == 2 and error.hint.startswith("types: `string`")


def test_pdp_decide_names_a_misspelt_request_key_before_the_field_it_leaves_out(tmp_path, capsys, monkeypatch):
    import io
    import json

    from pdp.cli.app import main
    from tests.support.sets import CX_ONE_GO

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(
        {"action": "use", "purpose": "essential.service", "data_categries": ["user.contact"]})))
    assert main(["decide", str(CX_ONE_GO)]) == 2
    detail = json.loads(capsys.readouterr().err)["detail"]
    assert detail == [{"field": "data_categries", "message": "unknown attribute `data_categries`",
                       "suggestions": ["data_categories"]},
                      {"field": "data_categories", "message": "this field is required"}]


def test_pdp_check_gives_no_unused_vocabulary_for_a_key_the_sets_tests_request(tmp_path, capsys):
    from pdp.cli.app import main

    (tmp_path / "p.pdp").write_text(HEADER + 'allow a "ok" cite "§1" to use for essential of user\n')
    (tmp_path / "vocabulary.yaml").write_text("data_uses:\n  - key: essential.fitness\n  - key: essential.other\n")
    assert main(["check", str(tmp_path)]) == 0
    warned = capsys.readouterr().err
    assert "`essential.fitness` is declared" in warned and "`essential.other` is declared" in warned
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fitness.yaml").write_text(
        "cases:\n  - name: a workout\n"
        "    request: {action: use, purpose: essential.fitness, data_categories: [user]}\n    expect: allow\n")
    assert main(["check", str(tmp_path)]) == 0
    out, warned = capsys.readouterr()
    assert "`essential.fitness`" not in warned and "`essential.other` is declared" in warned  # only the requested key
    assert "1 warnings" in out


def test_a_vocabulary_type_takes_the_article_its_name_needs():
    assert sch.vocab("action").describe() == "an action"
    assert sch.vocab("purpose").describe() == "a purpose"

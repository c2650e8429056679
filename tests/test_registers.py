"""Registers are authoritative (issue 8, findings 2 and 4): what a lookup gives a request part, how a policy
set lets a request describe what no register lists, and how register entries are checked."""

from pathlib import Path

import pytest

import pdp
from pdp.lang.formatter import format_policy
from pdp.lang.parser import parse_policy
from pdp.analysis.space import Space
from tests.support.sets import build_set, errors_of, request
from tests.support.space import every_request, same

ROOT = Path(__file__).resolve().parents[1]
REG = {"reg": "p1: {type: service_provider, dpa: true, country: IN}\np2: {type: affiliate, country: SG}\n"}
SHARE = dict(action="share")


# ---------------------------------------------------------------- the wrong allow of finding 2


def test_an_unknown_subject_keeps_none_of_the_roles_it_claims():
    todo = pdp.load(ROOT / "examples" / "authzen-todo")
    nobody = {"subject": {"type": "identity", "id": "nobody", "roles": ["admin"]},
              "action": {"name": "can_delete_todo"}, "resource": {"type": "todo", "id": "1"}}
    assert todo.decide_authzen(nobody).decision == "deny"
    rick = "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
    # a listed subject is what the directory says, whatever the request claims
    assert todo.decide_authzen({**nobody, "subject": {"type": "identity", "id": rick, "roles": []}}).decision == "allow"
    beth = "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
    assert todo.decide_authzen({**nobody, "subject": {"type": "identity", "id": beth, "roles": ["admin"]}}
                               ).decision == "deny"


def test_by_default_an_unlisted_id_has_only_its_id():
    ps = build_set('lookup recipient in data.reg\n'
                   'allow a cite "§1" to share when recipient.type == "other_user"\n'
                   'allow b cite "§1" to share when recipient.id == "u-9"\n', data=REG)
    assert ps.decide(request(recipient={"id": "u-9", "type": "other_user"}, **SHARE)).reasons[0].rule == "b"
    assert ps.decide(request(recipient={"id": "u-8", "type": "other_user"}, **SHARE)).decision == "deny"
    assert ps.decide(request(recipient={"type": "other_user"}, **SHARE)).decision == "deny"


def test_a_listed_id_has_only_the_registers_attributes():
    ps = build_set('lookup recipient in data.reg request wins for country\n'
                   'allow a cite "§1" to share when recipient.name == "Fake" or recipient.country == "US"\n'
                   'allow b cite "§1" to share when recipient.dpa is absent\n', data=REG)
    # `name` is not in p1's entry: the request's name is not taken either
    assert ps.decide(request(recipient={"id": "p1", "name": "Fake"}, **SHARE)).decision == "deny"
    # `request wins for country`: the request may set it
    assert ps.decide(request(recipient={"id": "p1", "country": "US"}, **SHARE)).reasons[0].rule == "a"
    # p2 has no dpa in the register: a caller cannot add one
    assert ps.decide(request(recipient={"id": "p2", "dpa": True}, **SHARE)).reasons[0].rule == "b"


DESCRIBED = ('lookup recipient in data.reg\n'
             '  if unlisted, request states type, country\n'
             '  except type "service_provider", "affiliate"\n'
             'allow pa cite "§1" to share when recipient.type == "public_authority" and recipient.country == "DE"\n'
             'allow sp cite "§1" to share when recipient.type == "service_provider" and recipient.dpa == true\n'
             'allow none cite "§1" to transfer when recipient.type is absent and recipient.id is absent\n')


def test_an_unlisted_recipient_is_described_by_the_request():
    ps = build_set(DESCRIBED, data=REG)
    court = {"id": "court-1", "type": "public_authority", "country": "DE"}
    assert ps.decide(request(recipient=court, **SHARE)).reasons[0].rule == "pa"
    assert ps.decide(request(recipient={**court, "id": None}, **SHARE)).reasons[0].rule == "pa"
    # a listed id is never described by the request
    assert ps.decide(request(recipient={"id": "p1"}, **SHARE)).reasons[0].rule == "sp"
    assert ps.decide(request(recipient={**court, "id": "p2"}, **SHARE)).decision == "deny"


@pytest.mark.parametrize("recipient", [
    {"id": "newco", "type": "service_provider", "dpa": True},
    {"type": "service_provider", "dpa": True},
    {"id": "newco", "type": "affiliate"},
    {"type": "affiliate"},  # dropped, it would read as "no recipient" and allow the transfer
])
def test_a_status_only_a_register_grants_is_refused_for_an_unlisted_id(recipient):
    ps = build_set(DESCRIBED, data=REG)
    for action in ("share", "transfer"):
        with pytest.raises(pdp.RequestError) as info:
            ps.decide(request(recipient=recipient, action=action))
        (error,) = info.value.field_errors
        assert error.field == "recipient.type" and "only a register" in error.message


def test_an_unlisted_recipient_never_has_a_dpa():
    ps = build_set(DESCRIBED.replace('"service_provider", ', ""), data=REG)
    assert ps.decide(request(recipient={"id": "x", "type": "service_provider", "dpa": True}, **SHARE)).decision == "deny"


def test_cx_one_go_describes_only_recipients_no_register_lists(cx_one_go):
    cx = cx_one_go
    court = {"id": "court-1", "type": "public_authority", "country": "IN"}
    legal = request(action="share", purpose="essential.legal_obligation", data_categories=["user.contact.email"],
                    context={"legal_request": True})
    assert cx.decide({**legal, "recipient": court}).decision == "allow"
    # the registered affiliate named by its id alone is an affiliate: the register says so
    assert cx.decide({**legal, "purpose": "essential.service.operations", "context": {},
                      "recipient": {"id": "cx-sg"}}).reasons[0].rule == "disclosure.affiliates"
    for claimed in ({"id": "newco", "type": "affiliate"}, {"id": "newco", "type": "service_provider", "dpa": True}):
        with pytest.raises(pdp.RequestError):
            cx.decide({**legal, "recipient": claimed})
    # a registered provider stays what the register says, whatever the request calls it
    share = request(action="share", purpose="essential.service", data_categories=["user.contact.email"])
    assert cx.decide({**share, "recipient": {"id": "quicksurvey", "type": "public_authority", "dpa": True}}
                     ).reasons[0].rule == "disclosure.processor_without_dpa"


# ---------------------------------------------------------------- the language


def test_the_clauses_parse_format_and_read_back():
    text = ('lookup recipient in data.reg, data.more\n'
            '  except type "affiliate"\n'
            '  if unlisted, request states type, name\n'
            '  request wins for country\n')
    (lookup,), = [parse_policy(text, "x.pdp")[0].lookups]
    assert lookup.sources[1].dotted == "data.more" and lookup.named == "data.reg or data.more"
    assert lookup.described == ("type", "name") and lookup.excluded == (("type", ("affiliate",)),)
    formatted = format_policy(text, "x.pdp")
    assert formatted == ('lookup recipient in data.reg, data.more\n  request wins for country\n'
                         '  if unlisted, request states type, name\n  except type "affiliate"\n')
    assert parse_policy(formatted, "x.pdp")[0].lookups == (lookup,)


@pytest.mark.parametrize("clauses, code, says", [
    ("if unlisted, request states typ", "unknown-attribute", "no attribute `typ`"),
    ("if unlisted, request states id", "bad-lookup", "the id is always the request's own"),
    ('except type "affiliate"', "bad-lookup", "may not state anyway"),
    ('if unlisted, request states type except type "afiliate"', "unknown-recipient-type", "afiliate"),
    ("if unlisted, request states dpa except dpa 3", "type-mismatch", "never"),
])
def test_the_checker_reads_the_clauses(clauses, code, says):
    errors = [d for d in errors_of(f"lookup recipient in data.reg {clauses}\nallow a cite \"§1\"", data=REG)
              if d.severity == "error"]
    assert [(d.code, says in d.message or says in (d.hint or "")) for d in errors] == [(code, True)]


def test_two_registers_may_not_list_one_id():
    (error,) = errors_of('lookup recipient in data.reg, data.more\nallow a cite "§1"',
                         data={**REG, "more": "p1: {type: affiliate}\n"})
    assert error.code == "register" and "both data.reg and data.more" in error.message
    assert (error.span.file, error.line, error.col) == ("data/more.yaml", 1, 1)


def test_a_part_is_looked_up_by_one_statement():
    # A second lookup of the same part would be authoritative too: an id only the first register lists would lose
    # its attributes to it, silently. The checker refuses it and names the one statement that reads both.
    (error,) = errors_of('lookup recipient in data.reg\nlookup recipient in data.more\n'
                         'allow a cite "§1" to share when recipient.dpa == true',
                         data={**REG, "more": "a1: {type: affiliate}\n"})
    assert error.code == "bad-lookup" and "`recipient` is already looked up" in error.message
    assert (error.line, error.col) == (3, 1)  # the second lookup (build_set writes the header first)
    assert error.hint == "read the registers as one, in one statement: `lookup recipient in data.reg, data.more`"


# ---------------------------------------------------------------- finding 4: entries are checked


@pytest.mark.parametrize("entry, where, says", [
    ('uk-sms: {type: processor, dpa: true, country: IN}', (1, 16), "unknown recipient type `processor`"),
    ('uk-sms: {type: service_provider, dpa: "yes", country: IN}', (1, 39), 'expected true or false, got "yes"'),
    ('uk-sms: {type: service_provider, dpa: true, country: UK}', (1, 54), "unknown country `UK`"),
    ('uk-sms: {type: service_provider, dpa: true, cuntry: IN}', (1, 45), "unknown attribute `cuntry`"),
    ('uk-sms: {id: p1, type: service_provider}', (1, 10), "has an `id` of its own"),
    ('uk-sms: [service_provider]', (1, 9), "is not a group of attributes"),
    ('123: {type: service_provider}', (1, 1), "the key `123` is read as a number"),
    ('no: {type: service_provider}', (1, 1), "the key `false` is read as true or false"),
])
def test_register_entries_are_checked_like_requests(entry, where, says):
    errors = errors_of('lookup recipient in data.reg\nallow a cite "§1"', data={"reg": entry + "\n"})
    (error,) = [d for d in errors if d.severity == "error"]
    assert error.span.file == "data/reg.yaml" and (error.line, error.col) == where
    assert says in error.message


def test_declared_attributes_of_a_register_are_typed():
    vocab = "attributes:\n  recipient.certified: bool\n"
    (error,) = errors_of('lookup recipient in data.reg\nallow a cite "§1"', vocabulary=vocab,
                         data={"reg": "p1: {certified: maybe}\n"})
    assert "certified: expected true or false" in error.message


def test_the_issue_example_fails_pdp_check(tmp_path, capsys):
    import shutil

    from pdp.cli import main

    shutil.copytree(ROOT / "policies", tmp_path / "p")
    with open(tmp_path / "p" / "data" / "processors.yaml", "a", encoding="utf-8") as f:
        f.write('uk-sms: {type: processor, dpa: "yes", country: UK}\n')
    assert main(["check", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err
    assert err.count("processors.yaml:") == 3 and "Traceback" not in err


# ---------------------------------------------------------------- the space models the same rule


@pytest.mark.parametrize("lookup", [
    "lookup recipient in data.reg",
    "lookup recipient in data.reg request wins for country",
    'lookup recipient in data.reg if unlisted, request states type, country except type "service_provider"',
])
def test_every_request_of_a_small_space_gets_the_engines_decision(lookup):
    ps = build_set(lookup + '''
        allow sp to share when recipient.type == "service_provider" and recipient.dpa == true
        allow pa to share when recipient.type == "public_authority" and recipient.country == "DE"
        deny far to share when recipient.country == "US"
        allow home to transfer when recipient.id is absent and recipient.type is absent
    ''', data=REG)
    space = Space([ps])
    checked = 0
    for group in space.groups:
        for req in every_request(space, group):
            checked += 1
            assert same(space.predict(0, req), ps.outcome(req)), req
    assert checked == space.stats.represented > 0
    # and any request, whatever it says about the recipient, falls in the class with the engine's decision
    import itertools

    for action, ident, typ, dpa, country in itertools.product(
            ("share", "transfer"), (None, "p1", "p2", "zz"), (None, "service_provider", "affiliate", "public_authority"),
            (None, True, False), (None, "DE", "US")):
        said = {k: v for k, v in (("id", ident), ("type", typ), ("dpa", dpa), ("country", country)) if v is not None}
        req = request(action=action, recipient=said)
        try:
            decided = ps.outcome(req)
        except pdp.RequestError:
            continue
        assert same(space.predict(0, req), decided), req


def test_explain_says_why_a_value_the_request_gave_is_not_read():
    from pdp.explain import explain

    ps = build_set('lookup recipient in data.reg\nallow a "A" cite "§1" to share when recipient.dpa == true\n',
                   data={"reg": "p1: {type: service_provider, country: IN}\n"})

    def because(recipient):
        (rule,) = explain(ps, request(recipient=recipient, **SHARE)).rules
        return rule.conditions[0].because[0]

    assert because({"id": "newco", "dpa": True}).endswith(
        'recipient.dpa is not read from the request: data.reg does not list recipient.id "newco", '
        "and the request may not state its dpa")
    assert because({"id": "p1", "dpa": True}).endswith(
        'recipient.dpa is not in data.reg for recipient.id "p1" (the request\'s value is not read)')
    assert because({}).endswith("recipient.dpa is not in the request")

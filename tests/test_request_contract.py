"""The request contract is described once, by its pydantic model: the checker's schema, the vocabulary-checked
fields, the known keys of each part and the parts whose size is bounded are all read off it (pdp.vocab.contract)."""

import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict

import pdp.vocab.authzen as az
import pdp.vocab.request as rq
import pdp.vocab.schema as sch
import pdp.vocab.taxonomy as tx
from pdp.base.errors import RequestError
from pdp.vocab.contract import Contract, DeclaredKeys, KeysOf, Unread, Vocab

VOCABULARY = tx.Vocabulary(frozenset({"use"}), frozenset({"marketing"}), frozenset({"user"}), frozenset({"customer"}),
                           frozenset({"marketing"}))


def _type_at(schema: dict, path: tuple[str, ...]) -> sch.Type:
    typ = schema[path[0]]
    for name in path[1:]:
        typ = typ.field_map()[name]
    return typ


def _unread(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if any(isinstance(m, Unread) for m in info.metadata)}


def test_the_schema_roots_are_the_models_fields_that_conditions_read():
    schema = rq.request_schema()
    assert set(schema) == set(rq.DecisionRequest.model_fields) - _unread(rq.DecisionRequest)
    assert list(schema) == [n for n in rq.DecisionRequest.model_fields if n not in _unread(rq.DecisionRequest)]
    for part, model in (("data_subject", rq.DataSubject), ("recipient", rq.Recipient), ("requester", rq.Requester)):
        assert set(schema[part].field_map()) == set(model.model_fields) - _unread(model)
    # which version decides (§11) is the engine's business; a rule reads the date too (`collected_at + 2 years < now`)
    assert schema["collected_at"] == sch.DATE and schema["now"] == sch.DATE
    assert schema["context"] == sch.Type("map", fields=(), declared=True)  # a set declares what its rules read
    assert "accepted_policy_version" not in schema["data_subject"].field_map()


def test_the_known_keys_of_each_part_are_the_models_fields():
    assert rq.CONTRACT_KEYS == {
        "": frozenset(rq.DecisionRequest.model_fields),
        "data_subject": frozenset(rq.DataSubject.model_fields),
        "recipient": frozenset(rq.Recipient.model_fields),
        "requester": frozenset(rq.Requester.model_fields),
        "context": frozenset(),
    }
    assert rq.CONTRACT.parts == ("", "data_subject", "recipient", "requester", "context")


def test_every_vocabulary_checked_field_is_typed_by_its_vocabulary_in_the_schema():
    schema = rq.request_schema(frozenset({"marketing"}))
    checked = {field.dotted: (field.kind, field.what) for field in rq.CONTRACT.vocabulary_fields}
    assert checked == {
        "action": (tx.ACTION, "value"),
        "purpose": (tx.PURPOSE, "value"),
        "purpose_of_collection": (tx.PURPOSE, "value"),  # issue 12: the purpose the data was collected for
        "data_categories": (tx.CATEGORY, "items"),
        "data_subject.type": (tx.SUBJECT_TYPE, "value"),
        "data_subject.country": (tx.COUNTRY, "value"),
        "data_subject.consent": (tx.CONSENT_TOPIC, "keys"),
        "recipient.type": (tx.RECIPIENT_TYPE, "value"),
        "recipient.country": (tx.COUNTRY, "value"),
        "destination_country": (tx.COUNTRY, "value"),
    }
    for field in rq.CONTRACT.vocabulary_fields:
        typ = _type_at(schema, field.path)
        if field.what == "value":
            assert typ == sch.vocab(field.kind)
        elif field.what == "items":
            assert typ == sch.Type("list", item=sch.vocab(field.kind))
        else:  # a map keyed by the vocabulary: one attribute per known key
            assert typ == sch.Type("map", fields=(("marketing", sch.BOOL),), keys=field.kind)


def test_every_schema_attribute_drawn_from_a_vocabulary_is_checked_in_requests():
    def vocab_paths(typ: sch.Type, path: tuple[str, ...]):
        if typ.vocab is not None or (typ.item is not None and typ.item.vocab is not None):
            yield path
        for name, inner in typ.fields or ():
            yield from vocab_paths(inner, path + (name,))

    schema = rq.request_schema()
    found = {p for root, typ in schema.items() for p in vocab_paths(typ, (root,))}
    assert found == {f.path for f in rq.CONTRACT.vocabulary_fields if f.what != "keys"}


def test_unknown_vocabulary_is_reported_in_the_order_of_the_model():
    request = {
        "action": "x", "purpose": "x", "data_categories": ["user", "x"],
        "data_subject": {"type": "x", "country": "XX", "consent": {"x": True, "marketing": False}},
        "recipient": {"type": "x", "country": "XX"}, "destination_country": "XX",
    }
    fields = [u[0] for u in rq.unknown_vocabulary(request, VOCABULARY)]
    assert fields == ["action", "purpose", "data_categories.1", "data_subject.type", "data_subject.country",
                      "data_subject.consent.x", "recipient.type", "recipient.country", "destination_country"]
    assert rq.unknown_vocabulary({"action": "use", "purpose": "marketing", "data_categories": ["user"],
                                  "data_subject": {}}, VOCABULARY) == []


# -- adding a field in the one place adds it everywhere ------------------------------------------


class _Subject(rq.DataSubject):
    region: Annotated[str | None, Vocab(tx.COUNTRY)] = None
    tier: float | None = None


class _Extended(rq.DecisionRequest):
    data_subject: _Subject | None = None
    channel: Annotated[str | None, Vocab(tx.PURPOSE)] = None
    labels: Annotated[list[str] | None, Vocab(tx.CATEGORY)] = None
    extra: Annotated[dict[str, Any] | None, DeclaredKeys()] = None
    received_at: Annotated[str | None, Unread()] = None


def test_a_field_added_to_the_model_is_in_the_schema_the_vocabulary_check_and_the_known_keys():
    contract = Contract(_Extended)
    schema = contract.schema()
    assert schema["channel"] == sch.vocab(tx.PURPOSE)
    assert schema["labels"] == sch.Type("list", item=sch.vocab(tx.CATEGORY))
    assert schema["extra"] == sch.Type("map", fields=(), declared=True)
    assert "received_at" not in schema
    assert schema["data_subject"].field_map()["region"] == sch.vocab(tx.COUNTRY)
    assert schema["data_subject"].field_map()["tier"] == sch.NUMBER
    before = rq.request_schema()
    assert {k: v for k, v in schema.items() if k in before and k != "data_subject"} == {
        k: v for k, v in before.items() if k != "data_subject"}
    assert schema["data_subject"].fields[:len(before["data_subject"].fields)] == before["data_subject"].fields

    assert {"channel", "labels", "extra", "received_at"} <= contract.keys[""]
    assert {"region", "tier"} <= contract.keys["data_subject"]
    assert "extra" in contract.parts

    request = {"action": "use", "purpose": "marketing", "data_categories": ["user"], "channel": "nope",
               "labels": ["user", "nope"], "data_subject": {"region": "XX"}}
    assert [u[:2] for u in contract.unknown_vocabulary(request, VOCABULARY)] == [
        ("data_subject.region", tx.COUNTRY), ("channel", tx.PURPOSE), ("labels.1", tx.CATEGORY)]

    published = _Extended.model_json_schema()
    assert {"channel", "labels", "extra", "received_at"} <= set(published["properties"])


def test_the_markers_do_not_change_the_published_json_schema():
    class Marked(BaseModel):
        model_config = ConfigDict(strict=True)
        a: Annotated[str, Vocab(tx.ACTION)]
        b: Annotated[list[str], Vocab(tx.CATEGORY)]
        c: Annotated[dict[str, bool | None] | None, KeysOf(tx.CONSENT_TOPIC)] = None
        d: Annotated[dict[str, Any] | None, DeclaredKeys()] = None
        e: Annotated[str | None, Unread()] = None

    class Plain(BaseModel):
        model_config = ConfigDict(strict=True)
        a: str
        b: list[str]
        c: dict[str, bool | None] | None = None
        d: dict[str, Any] | None = None
        e: str | None = None

    marked, plain = Marked.model_json_schema(), Plain.model_json_schema()
    assert marked["properties"] == plain["properties"] and marked["required"] == plain["required"]
    assert "Vocab" not in json.dumps(rq.DecisionRequest.model_json_schema())


def test_the_markers_do_not_change_what_pydantic_accepts():
    with pytest.raises(RequestError):
        rq.check_request({"action": 1, "purpose": "marketing", "data_categories": ["user"]}, VOCABULARY)
    rq.check_request({"action": "use", "purpose": "marketing", "data_categories": ["user"],
                      "collected_at": "2026-01-01"}, VOCABULARY)


def test_the_authzen_contract_is_read_off_its_model_too():
    schema = az.CONTRACT.schema()
    open_map = sch.Type("map", values=sch.ANY)
    assert schema == {
        "subject": sch.map_of(type=sch.STRING, id=sch.STRING, properties=open_map),
        "action": sch.map_of(name=sch.vocab(tx.ACTION), properties=open_map),
        "resource": sch.map_of(type=sch.STRING, id=sch.STRING, properties=open_map),
        "context": open_map,
    }
    assert az.CONTRACT.entities == ("subject", "resource")
    assert not az.CONTRACT.names_data_use and rq.CONTRACT.names_data_use


def test_the_checker_hints_at_a_maps_vocabulary_or_declarations_from_its_type_not_its_path():
    from pdp.engine.models import DATA_USE
    from pdp.lang.checker import CheckContext, check_policy_set
    from pdp.lang.parser import parse_policy

    class _Request(BaseModel):
        action: Annotated[str, Vocab(tx.ACTION)]
        settings: Annotated[dict[str, bool] | None, KeysOf(tx.CONSENT_TOPIC)] = None
        extras: Annotated[dict[str, Any] | None, DeclaredKeys()] = None

    schema = Contract(_Request).schema(VOCABULARY.known)
    parsed, _ = parse_policy('policy "t" version "1" effective 2026-01-01\n'
                             'allow a cite "1" when settings.marketng == true and extras.x == 1\n', "t.pdp")
    found = {d.code: (d.message, d.hint) for d in check_policy_set([parsed], CheckContext(VOCABULARY, schema, DATA_USE))}
    assert found["unknown-consent-topic"] == (
        "unknown consent topic `marketng`",
        "did you mean `settings.marketing`?; a new consent topic is declared under `consent_topics` in vocabulary.yaml")
    assert found["unknown-attribute"] == (
        "unknown attribute `extras.x`", "declare it under `attributes` in vocabulary.yaml: `extras.x: bool` (or "
        "`string`, `number`, `date`, `country`, `purpose`, `data_category`, `list`, `any`)")

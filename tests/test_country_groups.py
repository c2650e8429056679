"""The country groups pdp ships (`data.countries.eu`, `.eea`, `.adequacy`, `.adequacy_partial`) and a set's own."""

import datetime as dt
import textwrap

import pdp
from pdp.analysis.query import Question, ask
from pdp.explain import changed, explain
from pdp.vocab import taxonomy as tx
from pdp.vocab.country_groups import shipped_groups
from tests.support.sets import HEADER, VOCAB, build_set, errors_of

EEA_ONLY = 'allow eea cite "§8" to transfer when destination_country in data.countries.eea'


def transfer(country: str) -> dict:
    return {"action": "transfer", "purpose": "essential", "data_categories": ["user"], "destination_country": country}


def test_the_shipped_lists_are_country_codes_with_a_date_and_a_source():
    groups = shipped_groups()
    assert set(groups) == {"eu", "eea", "adequacy", "adequacy_partial"}
    for group in groups.values():
        assert group.countries and set(group.countries) <= tx.country_codes()
        assert len(set(group.countries)) == len(group.countries)
        assert isinstance(group.checked, dt.date) and group.source.startswith("https://")
    eu, eea = set(groups["eu"].countries), set(groups["eea"].countries)
    assert len(eu) == 27 and {"DE", "FR", "GR", "HR"} <= eu and not {"GB", "CH", "NO"} & eu
    assert eea == eu | {"IS", "LI", "NO"}
    adequacy, partial = set(groups["adequacy"].countries), set(groups["adequacy_partial"].countries)
    # a decision covering only some recipients (CA, JP, US) is never in `adequacy`: a rule on it would allow too much
    assert partial == {"CA", "JP", "US"} and not partial & adequacy and not adequacy & eea
    assert {"GB", "CH", "JP"} - partial <= adequacy


def test_the_engine_decides_with_the_shipped_groups_in_every_set():
    policy = build_set(EEA_ONLY)
    assert policy.decide(transfer("NO")).decision == "allow"
    assert policy.decide(transfer("DE")).decision == "allow"
    assert policy.decide(transfer("US")).decision == "deny"
    plain = build_set(EEA_ONLY, index=False)
    for code in ("NO", "DE", "US", "GB", "IN"):
        assert plain.decide(transfer(code)).decision == policy.decide(transfer(code)).decision
    negated = build_set('allow out cite "§8" to transfer when destination_country not in data.countries.adequacy')
    assert negated.decide(transfer("GB")).decision == "deny" and negated.decide(transfer("US")).decision == "allow"


def test_a_misspelt_group_gets_a_did_you_mean():
    (error,) = errors_of('allow eea cite "§8" when destination_country in data.countries.eaa')
    assert error.code == "unknown-attribute" and error.hint == "did you mean `data.countries.eea`?"


def test_a_set_adds_groups_of_its_own_beside_the_shipped_ones():
    policy = build_set('allow nordic cite "§8" to transfer when destination_country in data.countries.nordics\n'
                       'allow eu cite "§8" to transfer when destination_country in data.countries.eu',
                       data={"countries": 'nordics: [DK, FI, IS, "NO", SE]\n'})
    assert policy.decide(transfer("IS")).decision == "allow"  # the set's own group
    assert policy.decide(transfer("AT")).decision == "allow"  # the shipped one, still there
    assert policy.decide(transfer("GB")).decision == "deny"


def test_a_set_cannot_redefine_a_shipped_group():
    (error,) = errors_of(EEA_ONLY, data={"countries": "eea: [DE, US]\n"})
    assert error.code == "country-group" and "`eea` is a country group pdp ships" in error.message
    assert error.span.file == "data/countries.yaml" and error.span.line == 1
    assert "another name" in error.hint


def test_a_set_s_groups_hold_country_codes():
    (error,) = errors_of(EEA_ONLY, data={"countries": "ours: [DE, UK]\n"})
    assert error.code == "country-group" and "`UK`" in error.message and error.hint == "did you mean `GB`?"
    (error,) = errors_of(EEA_ONLY, data={"countries": "ours: [DK, NO]\n"})
    assert "read as false" in error.message and '`"NO"`' in error.hint
    (error,) = errors_of(EEA_ONLY, data={"countries": "ours: DE\n"})
    assert "not a list of country codes" in error.message
    (error,) = errors_of(EEA_ONLY, data={"countries": "[DE, FR]\n"})
    assert "holds no groups" in error.message


def test_the_analysis_answers_over_the_groups():
    text = HEADER + textwrap.dedent(EEA_ONLY + "\n")
    sources = pdp.Sources({"p.pdp": text}, ("vocabulary.yaml", VOCAB), {})
    policy = pdp.build(sources)
    outside = ask(policy, Question("allow", ("transfer",), (), (), ("destination_country not in data.countries.eea",)),
                  sources)
    assert not outside.yes
    inside = ask(policy, Question("allow", ("transfer",), (), (), ("destination_country in data.countries.eu",)),
                 sources)
    assert inside.yes and inside.request["destination_country"] in shipped_groups()["eu"].countries
    assert policy.decide(inside.request).decision == "allow"


def test_explain_names_the_group_a_country_is_missing_from():
    e = explain(build_set(EEA_ONLY), transfer("US"))
    assert e.decision == "deny"
    suggestions = [s.text for s in e.suggestions]
    assert suggestions and all("destination_country" in s for s in suggestions)
    for suggestion in e.suggestions:  # each one, made, is allowed by the engine
        assert build_set(EEA_ONLY).decide(changed(transfer("US"), suggestion.changes)).allowed


RULES = ('allow eea cite "§8" to transfer when destination_country in data.countries.eea\n'
         'deny far cite "§8" to transfer when destination_country not in data.countries.adequacy '
         'and destination_country in data.countries.ours\n'
         'allow ok cite "§8" to transfer when destination_country in data.countries.adequacy')
OURS = {"countries": "ours: [US, IN, GB]\n"}


def test_the_index_decides_over_the_groups_as_the_plain_path_does():
    """Every country there is (the groups are finite: no sample needed), and none."""
    indexed, plain = build_set(RULES, data=OURS), build_set(RULES, data=OURS, index=False)
    asked = [transfer(code) for code in sorted(tx.country_codes())] + [{**transfer("IN"), "destination_country": None}]
    assert [indexed.decide(r).decision for r in asked] == [plain.decide(r).decision for r in asked]
    assert indexed.decide(transfer("IN")).decision == "deny" and indexed.decide(transfer("GB")).decision == "allow"

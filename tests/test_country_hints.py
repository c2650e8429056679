"""A common non-ISO country code (`UK`, `EL`) is refused, and the hint names the ISO code it means."""

import pytest

import pdp
from tests.support.sets import build_set, errors_of, request

RULE = 'allow ops "Operate" cite "§1" to transfer for essential of user\n'


@pytest.mark.parametrize("written, meant", [("UK", "GB"), ("EL", "GR"), ("uk", "GB")])
def test_a_request_with_a_non_iso_code_is_refused_and_told_the_iso_code(written, meant):
    with pytest.raises(pdp.RequestError) as info:
        build_set(RULE).decide(request(action="transfer", destination_country=written))
    (error,) = info.value.errors
    assert error["field"] == "destination_country" and error["suggestions"] == [meant]


def test_a_rule_naming_uk_is_an_error_whose_hint_is_gb():
    (error,) = errors_of('allow t "r" cite "§1" to transfer when destination_country == "UK"\n')
    assert error.code == "unknown-country" and error.hint == "did you mean `GB`?"


def test_a_register_entry_in_the_uk_is_told_gb():
    errors = errors_of('lookup recipient in data.processors\n' + RULE,
                       data={"processors": "uk-sms: {type: service_provider, country: UK}\n"})
    (error,) = [e for e in errors if "country" in e.message]
    assert error.hint == "did you mean `GB`?"


def test_the_aliases_are_hints_only_never_country_codes():
    from pdp.vocab.taxonomy import COUNTRY, COUNTRY_ALIASES, closest_keys, country_codes

    assert not set(COUNTRY_ALIASES) & country_codes()  # were one of them ISO, it would be a value, not an alias
    assert set(COUNTRY_ALIASES.values()) <= country_codes()
    assert closest_keys(COUNTRY, "DX", country_codes(), always=True)  # other codes: by spelling, as before

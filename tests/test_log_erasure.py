"""What erasure leaves of a decision log row (pdp.io.log_erasure): never the person, always the proof."""

import json

from hypothesis import given
from hypothesis import strategies as st

from pdp.io.decision_log import pseudonym, treat
from pdp.io.log_erasure import ERASED, proof, without

KEY = b"k" * 32
ids = st.sampled_from(["the-person", "someone-else", "a-company", "u-1"])
ROLES = ("data_subject", "requester", "recipient")


@given(roles=st.fixed_dictionaries({}, optional=dict.fromkeys(ROLES, ids)),
       age=st.integers(0, 120), country=st.sampled_from(["IN", "DE", "US"]),
       categories=st.lists(st.sampled_from(["user.name", "user.contact.email", "user.behavior"]), max_size=3))
def test_the_proof_never_names_the_person_and_keeps_what_was_decided(roles, age, country, categories):
    request = {"action": "share", "purpose": "marketing.advertising", "data_categories": categories}
    for role, who in roles.items():
        request[role] = {"id": who, "age": age, "country": country}
    stored, people = treat(request, key=KEY)
    person = pseudonym(KEY, "the-person")
    left = json.loads(proof(stored, person))
    assert person not in json.dumps(left) and person not in without(" ".join(people), person).split()
    assert left["erased"] is True and left["action"] == "share" and left["purpose"] == "marketing.advertising"
    assert left["data_categories"] == categories
    for role, who in roles.items():  # each role keeps its id, or "erased" where it was the person; nothing else
        assert left[role] == {"id": ERASED if who == "the-person" else pseudonym(KEY, who)}
    assert set(left) == {"erased", "action", "purpose", "data_categories", *roles}
    assert sorted(without(" ".join(people), person).split()) == sorted(set(people) - {person})


def test_a_row_that_is_not_json_keeps_only_the_mark():
    assert json.loads(proof("not json", pseudonym(KEY, "x"))) == {"erased": True}

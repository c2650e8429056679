"""Policy versions (§11): data is used under the version in force when it was collected,
unless the person accepted a later one; the response says which version decided."""

import pytest

import pdp

OLD = '''policy "cx" version "2025-01-01" effective 2025-01-01
allow analytics cite "§2.2" to use for analytics of user
allow marketing cite "§2.5" to use for marketing of user.contact.email
'''
NEW = '''policy "cx" version "2026-11-24" effective 2026-11-24
allow analytics cite "§2.2" to use for analytics of user
'''
MARKETING = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"]}


@pytest.fixture
def versioned(tmp_path):
    (tmp_path / "main.pdp").write_text(NEW)
    (tmp_path / "versions" / "2025-01-01").mkdir(parents=True)
    (tmp_path / "versions" / "2025-01-01" / "main.pdp").write_text(OLD)
    return tmp_path


def test_without_a_collection_date_the_current_version_decides(versioned):
    policy = pdp.load(versioned)
    assert [v.version for v in policy.history] == ["2025-01-01", "2026-11-24"]
    d = policy.decide(MARKETING)
    assert d.decision == "deny" and d.policy["version"] == "2026-11-24" and d.policy["basis"] == "current version"


def test_data_collected_under_the_old_version_is_decided_by_it(versioned):
    d = pdp.load(versioned).decide({**MARKETING, "collected_at": "2025-06-30"})
    assert d.decision == "allow" and d.policy["version"] == "2025-01-01"
    assert d.policy["basis"] == "in force on 2025-06-30, when the data was collected"


def test_accepting_the_newer_version_moves_the_data_to_it(versioned):
    d = pdp.load(versioned).decide({**MARKETING, "collected_at": "2025-06-30",
                                    "data_subject": {"accepted_policy_version": "2026-11-24"}})
    assert d.decision == "deny" and d.policy["version"] == "2026-11-24"
    assert d.policy["basis"] == "version 2026-11-24, accepted by the data subject"


def test_before_any_version_the_request_is_denied_and_says_why(versioned):
    d = pdp.load(versioned).decide({**MARKETING, "collected_at": "2024-12-31"})
    assert d.decision == "deny"
    (reason,) = d.reasons
    assert reason.rule == "version.none_in_force" and reason.cite == "§11" and "2024-12-31" in reason.message


@pytest.mark.parametrize("extra, field", [
    ({"collected_at": "June 2025"}, "collected_at"),
    ({"collected_at": 20250601}, "collected_at"),
    ({"data_subject": {"accepted_policy_version": "2026-11-42"}}, "data_subject.accepted_policy_version"),
])
def test_bad_version_fields_name_the_field(versioned, extra, field):
    with pytest.raises(pdp.RequestError) as info:
        pdp.load(versioned).decide({**MARKETING, **extra})
    assert info.value.errors[0]["field"] == field


def test_unknown_accepted_version_suggests_the_real_ones(versioned):
    with pytest.raises(pdp.RequestError) as info:
        pdp.load(versioned).decide({**MARKETING, "data_subject": {"accepted_policy_version": "2026-11-25"}})
    assert "2026-11-24" in info.value.errors[0]["suggestions"]


@pytest.mark.parametrize("old_header, message", [
    ('policy "cx" version "2025-01-01"', "has no effective date"),
    ('policy "other" version "2025-01-01" effective 2025-01-01', "is not a version of `cx`"),
    ('policy "cx" version "2026-11-24" effective 2025-01-01', "appears twice"),
    ('policy "cx" version "2027" effective 2027-01-01', "takes effect after the current one"),
])
def test_inconsistent_versions_are_refused(versioned, old_header, message):
    old = versioned / "versions" / "2025-01-01" / "main.pdp"
    old.write_text(OLD.replace('policy "cx" version "2025-01-01" effective 2025-01-01', old_header))
    with pytest.raises(pdp.PolicyError) as info:
        pdp.load(versioned)
    assert message in str(info.value)


def test_a_set_without_versions_still_honours_the_collection_date(tmp_path):
    (tmp_path / "main.pdp").write_text(NEW)
    policy = pdp.load(tmp_path)
    assert policy.decide({**MARKETING, "purpose": "analytics", "collected_at": "2026-12-01"}).decision == "allow"
    assert policy.decide({**MARKETING, "purpose": "analytics", "collected_at": "2026-01-01"}).decision == "deny"


def test_a_version_accepted_covers_data_collected_before_any_known_version(versioned):
    # "Unless you consent otherwise": consent to a version known here decides, even for older data.
    d = pdp.load(versioned).decide({**MARKETING, "collected_at": "2024-12-31",
                                    "data_subject": {"accepted_policy_version": "2025-01-01"}})
    assert d.decision == "allow" and d.policy["version"] == "2025-01-01"
    assert d.policy["basis"] == "version 2025-01-01, accepted by the data subject"


def test_the_persons_own_requests_are_decided_by_the_current_version(versioned):
    (versioned / "vocabulary.yaml").write_text("subject_requests: [erase]\n")
    (versioned / "main.pdp").write_text(NEW + '\nallow rights.erase "You may delete your data" cite "§4" to erase\n')
    erase = {"action": "erase", "purpose": "essential.service", "data_categories": ["user.contact.email"]}
    policy = pdp.load(versioned)
    for extra in ({"collected_at": "2024-12-31"}, {"collected_at": "2025-06-30"}):
        d = policy.decide({**erase, **extra})
        assert d.decision == "allow" and d.policy["version"] == "2026-11-24"
        assert d.policy["basis"] == "current version: `erase` is the data subject's own request"
    # other actions on the same data still follow the version it was collected under
    assert policy.decide({**MARKETING, "collected_at": "2024-12-31"}).reasons[0].rule == "version.none_in_force"


def test_subject_requests_must_be_known_actions(versioned):
    (versioned / "vocabulary.yaml").write_text("subject_requests: [erasee]\n")
    with pytest.raises(pdp.PolicyError) as info:
        pdp.load(versioned)
    assert "unknown action `erasee` in `subject_requests`" in str(info.value) and "erase" in str(info.value)


def test_an_accepted_version_that_is_not_text_is_a_bad_request(versioned):
    with pytest.raises(pdp.RequestError) as info:
        pdp.load(versioned).decide({**MARKETING, "data_subject": {"accepted_policy_version": ["2026-11-24"]}})
    assert info.value.errors[0]["field"] == "data_subject.accepted_policy_version"


def test_pdp_check_lists_the_earlier_versions(versioned, capsys):
    from pdp.cli import main

    assert main(["check", str(versioned)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok: cx 2026-11-24: 1 rules")
    assert out[1].startswith("ok: cx 2025-01-01 (effective 2025-01-01, in ") and "2 rules" in out[1]

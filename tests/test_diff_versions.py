"""`pdp diff` of sets that keep earlier versions (§11, issue 8): a change to an earlier version changes the
decisions of the data collected under it, so it is reported (and fails CI's sign-off like any change)."""

import json

import pdp
from pdp.cli import main
from pdp.analysis.diff import diff
from tests.support.sets import write_versioned

VOCABULARY = "consent_topics: [marketing]\n"
OLD = '''\
policy "cx" version "2025-01-01" effective 2025-01-01
allow analytics "Analytics of contact data" cite "§2.2" to use for analytics of user.contact
'''
OLD_EDITED = '''\
policy "cx" version "2025-01-01" effective 2025-01-01
allow analytics "Analytics of contact data" cite "§2.2" to use for analytics of user.contact
deny analytics.minors "Not a minor's" cite "§10" to use for analytics when data_subject.age < 18
'''
NEW = '''\
policy "cx" version "2026-11-24" effective 2026-11-24
allow service "The service" cite "§2.1" to use for essential.service of user.contact
'''
NEWER = '''\
policy "cx" version "2027-01-01" effective 2027-01-01
allow service "The service" cite "§2.1" to use for essential.service of user.contact
'''


def test_an_edit_of_an_earlier_version_is_a_change(capsys, tmp_path):
    before = write_versioned(tmp_path / "before", NEW, {"2025-01-01": OLD}, VOCABULARY)
    after = write_versioned(tmp_path / "after", NEW, {"2025-01-01": OLD_EDITED}, VOCABULARY)
    assert main(["diff", str(before), str(after), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] and out["changes"] == []  # the current versions are alike
    [version] = out["versions"]
    assert version["version"] == "2025-01-01" and version["status"] == "compared" and version["changed"]
    [change] = version["changes"]
    assert (change["before"], change["after"], change["rules_after"]) == ("allow", "deny", ["analytics.minors"])
    # the example, collected while that version was in force, is decided so by the sets themselves
    example = change["example"]
    assert example["collected_at"] == "2025-01-01"
    assert pdp.load(before).decide(example).decision == "allow"
    assert pdp.load(after).decide(example).decision == "deny"
    assert main(["diff", str(before), str(after)]) == 1
    text = capsys.readouterr().out
    assert "version 2025-01-01 (effective 2025-01-01): 1 change of decision" in text
    assert "now DENIED, was ALLOWED: by analytics.minors (§10)" in text


def test_versions_added_and_removed_are_reported(capsys, tmp_path):
    before = write_versioned(tmp_path / "before", NEW, {"2025-01-01": OLD}, VOCABULARY)
    after = write_versioned(tmp_path / "after", NEWER, {"2026-11-24": NEW}, VOCABULARY)
    report = diff(pdp.load(before), pdp.load(after))
    assert report.changes == []  # 2026-11-24 and 2027-01-01 decide alike
    assert [(v.version, v.status, v.changed) for v in report.versions] == [
        ("2025-01-01", "removed", True), ("2026-11-24", "compared", False), ("2027-01-01", "added", True)]
    assert report.changed
    text = report.render()
    assert "version 2025-01-01: removed from NEW" in text and "version 2027-01-01: added in NEW" in text


def test_the_same_versioned_set_changes_nothing(capsys, tmp_path):
    before = write_versioned(tmp_path / "before", NEW, {"2025-01-01": OLD}, VOCABULARY)
    assert main(["diff", str(before), str(before)]) == 0
    assert "version 2025-01-01 (effective 2025-01-01): no decision changes" in capsys.readouterr().out


def test_sets_without_earlier_versions_report_as_before(capsys, tmp_path):
    before = write_versioned(tmp_path / "before", NEW, {}, VOCABULARY)
    after = write_versioned(tmp_path / "after", NEWER, {}, VOCABULARY)
    assert main(["diff", str(before), str(after), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == []


def test_an_earlier_version_whose_effective_date_moved_is_a_change(tmp_path):
    before = write_versioned(tmp_path / "before", NEW, {"2025-01-01": OLD}, VOCABULARY)
    after = write_versioned(tmp_path / "after", NEW, {"2025-01-01": OLD.replace("effective 2025-01-01",
                                                                                 "effective 2025-03-01")}, VOCABULARY)
    report = diff(pdp.load(before), pdp.load(after))
    [version] = report.versions
    assert version.effective == ("2025-01-01", "2025-03-01") and version.changed and report.changed
    assert "effective 2025-01-01 in OLD, 2025-03-01 in NEW" in report.render()

"""`pdp check --strict` fails on warnings, and a rule that never applies because of the data says why."""

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pdp
from pdp.cli import main
from pdp.analysis.never_true import why_never_true
from pdp.analysis.warnings import warnings_of
from tests.support.sets import build_set

POLICIES = Path(__file__).resolve().parents[1] / "policies"
EU = {"eu": "countries: [DE, FR, IT]\nempty: []\nnordic: [DK, SE]\n"}
NEVER_IN_THE_EU = '''\
allow eu.transfers "Transfers within the EU" cite "§8"
  to transfer of user.contact
  when destination_country in data.eu.countries and destination_country == "US"
'''


def never_applies(rules: str, data=EU) -> str:
    (warning,) = [w for w in warnings_of(build_set(rules, data=data)) if "applies to no request" in w.message]
    assert warning.code == "shadowed-rule" and warning.severity == "warning"
    return warning.message


def test_the_warning_says_which_data_makes_the_rule_never_apply():
    assert never_applies(NEVER_IN_THE_EU) == (
        'the rule `eu.transfers` applies to no request: US is not in data.eu.countries, so '
        '`destination_country in data.eu.countries and destination_country == "US"` is never true')


@pytest.mark.parametrize("condition, why", [
    ('destination_country not in data.eu.countries and destination_country == "DE"',
     'DE is in data.eu.countries, so `destination_country not in data.eu.countries and '
     'destination_country == "DE"` is never true'),
    ("destination_country in data.eu.empty",
     "data.eu.empty is empty, so `destination_country in data.eu.empty` is never true"),
    ("destination_country in data.eu.countries and destination_country in data.eu.nordic",
     "data.eu.countries and data.eu.nordic have no value in common, so `destination_country in "
     "data.eu.countries and destination_country in data.eu.nordic` is never true"),
    # only the conditions that contradict are named, whatever else the rule says
    ('data_subject.age >= 18 and destination_country == "US" and destination_country in data.eu.countries',
     'US is not in data.eu.countries, so `destination_country == "US" and destination_country in '
     'data.eu.countries` is never true'),
])
def test_the_reason_names_the_conditions_that_contradict(condition, why):
    rule = f'allow t.rule "r" cite "§1" to transfer of user.contact when {condition}\n'
    assert never_applies(rule).endswith(f"applies to no request: {why}")


def test_an_unless_that_the_data_makes_always_true_is_explained():
    rule = 'allow t.rule "r" cite "§1" to transfer of user.contact unless destination_country not in data.eu.empty\n'
    assert "applies to no request: no value of `destination_country` meets it, so " \
           "`not (destination_country not in data.eu.empty)` is never true" in never_applies(rule)


def test_without_a_reason_it_can_prove_the_warning_claims_none():
    rule = 'allow t.rule "r" cite "§1" to use when (data_subject.age == 1 or data_subject.age == 2) and data_subject.age == 3\n'
    assert never_applies(rule) == ("the rule `t.rule` applies to no request: its conditions are never true for "
                                   "what its target covers")


@pytest.fixture
def never_in_the_eu(tmp_path):
    (tmp_path / "main.pdp").write_text('policy "t" version "1" effective 2026-01-01\n' + NEVER_IN_THE_EU)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eu.yaml").write_text(EU["eu"])
    return tmp_path


def test_strict_fails_on_a_warning_and_the_plain_check_does_not(never_in_the_eu, capsys):
    assert main(["check", str(never_in_the_eu)]) == 0
    assert capsys.readouterr().out.startswith("ok: t 1: 1 rules, 1 files, 1 warnings")
    assert main(["check", "--strict", str(never_in_the_eu)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "US is not in data.eu.countries" in err
    assert err.rstrip().endswith("failed: t 1: 1 warning, and --strict fails on any warning no rule accepts")


def test_strict_passes_a_set_without_warnings(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent('''\
        policy "t" version "1" effective 2026-01-01
        allow ops "Operate" cite "§1" to use for essential of user
        '''))
    assert main(["check", "--strict", str(tmp_path)]) == 0


def test_strict_counts_the_warnings_of_earlier_versions(tmp_path, capsys):
    (tmp_path / "main.pdp").write_text('policy "t" version "2" effective 2026-01-01\n'
                                       'allow ops "Operate" cite "§1" to use for essential of user\n')
    old = tmp_path / "versions" / "1"
    old.mkdir(parents=True)
    (old / "main.pdp").write_text('policy "t" version "1" effective 2025-01-01\n'
                                  'allow ops "Operate" to use for essential of user\n')  # no citation: a warning
    assert main(["check", str(tmp_path)]) == 0
    assert "cites no clause" in capsys.readouterr().err
    assert main(["check", "--strict", str(tmp_path)]) == 1


def test_the_shipped_set_accepts_its_intended_warning_so_strict_passes(capsys):
    # README: CX-ONE-GO keeps a shadowed rule on purpose and says why (`accept shadowed-rule because`); the two
    # opt-out rules that were shadowed also read a channel's opt-out from the consent ledger now
    assert main(["check", "--strict", str(POLICIES)]) == 0
    out, err = capsys.readouterr()
    assert err.count("shadowed-rule: accepted warning") == 1 and err.count("= accepted because: ") == 1
    assert ": 53 rules, 10 files, 1 warnings (1 accepted) (" in out


CONDITIONS = ["destination_country in data.eu.countries", "destination_country not in data.eu.countries",
              "destination_country in data.eu.nordic", "destination_country in data.eu.empty",
              "destination_country not in data.eu.empty", 'destination_country == "US"',
              'destination_country == "DE"', 'destination_country != "FR"', "destination_country in [DE, US]"]
COUNTRIES = [None, "DE", "FR", "IT", "DK", "SE", "US", "IN"]


@given(when=st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=3, unique=True),
       unless=st.lists(st.sampled_from(CONDITIONS), max_size=1))
def test_a_reason_given_is_always_true(when, unless):
    """Sound: whenever the warning gives a reason, no request can make the rule apply."""
    text = f'allow t.rule "r" cite "§1" to transfer of user.contact when {" and ".join(when)}' + (
        f" unless {unless[0]}" if unless else "")
    try:
        policy_set = build_set(text + "\n", data=EU)
    except pdp.PolicyError:  # the checker proves some contradictions itself (never-matches)
        return
    (rule,) = policy_set.rules
    if why_never_true(rule.source, policy_set.data) is None:
        return
    for country in COUNTRIES:
        env = {"action": "transfer", "purpose": "essential.service", "data_categories": ["user.contact"]}
        if country:
            env["destination_country"] = country
        assert not rule.applies(env), (text, country)


def test_check_shows_warnings_from_the_texts_it_checked_without_reading_them_again(never_in_the_eu, capsys,
                                                                                   monkeypatch):
    # one read, within the loader's bounds: the excerpt comes from what was checked, not from a second read_text
    read_text = Path.read_text

    def no_second_read(self, *args, **kwargs):
        if never_in_the_eu in Path(self).resolve().parents:
            raise PermissionError(13, "read again", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_second_read)
    assert main(["check", str(never_in_the_eu)]) == 0
    err = capsys.readouterr().err
    assert 'allow eu.transfers "Transfers within the EU" cite "§8"\n     |       ^^^^^^^^^^^^' in err


def test_check_reports_a_cite_naming_no_clause_of_clauses_yaml(tmp_path, capsys):
    """A set that keeps clauses.yaml has every cite checked against it (`unknown-clause`, as the editors say);
    --strict fails on it, and the excerpt points at the clause number."""
    import shutil

    shutil.copytree(Path(__file__).parent.parent / "policies", tmp_path / "set")
    marketing = tmp_path / "set" / "marketing.pdp"
    marketing.write_text(marketing.read_text().replace('cite "§2.3"', 'cite "§2.33"'))
    assert main(["check", "--strict", str(tmp_path / "set")]) == 1
    err = capsys.readouterr().err
    assert "unknown-clause: warning: the rule `marketing.in_service_ads` cites `§2.33`" in err
    assert '  cite "§2.33"' in err and "did you mean `§2.3`" in err
    (tmp_path / "set" / "clauses.yaml").unlink()  # without clauses.yaml, a cite is not checked
    assert main(["check", "--strict", str(tmp_path / "set")]) == 0

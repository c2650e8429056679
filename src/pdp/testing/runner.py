"""Run policy test cases against a loaded policy set. Pure: results are data.

`run` never prints and never raises for a failing case; it touches the disk
only for a case that seeds ledger events, decided against a temporary ledger
holding them (`seeded.py`): each case becomes one `CaseResult` saying what happened and, if it
failed, every way in which it failed. `pdp test` and the pytest plugin both
call this runner, so a case passes or fails the same way in both; the
reporters in `report.py` turn results into text or JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from pdp.engine.decision import DEFAULT_DENY, Decision
from pdp.engine.filled import LEDGER_NOT_YET, LEDGER_UNAVAILABLE
from pdp.engine.versions import NONE_IN_FORCE
from pdp.engine.policy_set import PolicySet, Selection
from pdp.base.errors import RequestError, did_you_mean
from pdp.io import ledger_reader
from .cases import Case, TestFile
from .seeded import seeded

REFUSED = "error"  # what a case `expect`s, or what happened, when a request is refused


@dataclass(frozen=True)
class FiredRule:
    """One reason the decision gave: which rule, with what effect, citing what."""

    rule: str
    effect: str  # "allow" | "deny" | "error"
    cite: str | None
    message: str


@dataclass(frozen=True)
class CaseResult:
    """What happened when one case ran, and why it failed if it did."""

    case: Case
    passed: bool
    expected: str  # "allow" | "deny" | "error" (the request must be refused)
    actual: str | None  # "allow" | "deny" | "error" (refused); None if deciding crashed
    fired: tuple[FiredRule, ...] = ()
    obligations: tuple[str, ...] = ()
    error: str | None = None  # the refusal or crash message, if any
    failures: tuple[str, ...] = ()  # one plain sentence per unmet expectation
    advice: tuple[str, ...] = ()


def run(policy_set: PolicySet, cases: Iterable[Case | TestFile], coverage: Any = None) -> list[CaseResult]:
    """Decide every case's request and compare the answer with the case.

    `cases` may mix Case objects and whole TestFiles (their cases, in order).
    `coverage` (a pdp.testing.coverage.Recorder) records what each decided case exercised.
    """
    results = []
    for item in cases:
        for case in item.cases if isinstance(item, TestFile) else (item,):
            results.append(run_case(policy_set, case, coverage))
    return results


def run_case(policy_set: PolicySet, case: Case, coverage: Any = None) -> CaseResult:
    expected = case.expect or REFUSED
    try:
        # a copy: whatever decide does with its request must not change the case;
        # one selection (§11: the version that decides it) serves the decision and the coverage
        selection, decision = decide_case(policy_set, case, copy.deepcopy(case.request))
    except RequestError as err:
        if coverage is not None:
            coverage.refused += 1
        return _refused(case, str(err))
    except Exception as err:  # noqa: BLE001 - an engine bug fails this case, not the whole run
        message = f"deciding raised {type(err).__name__}: {err}"
        wanted = case.expect or "a refusal"
        return CaseResult(case, False, expected, None, error=message,
                          failures=(f"expected {wanted}, but the request could not be "
                                    f"decided: {message}",))

    if coverage is not None and selection is not None:
        coverage.record(selection)
    fired = tuple(FiredRule(r.rule, r.effect, r.cite, r.message) for r in decision.reasons)
    obligations = tuple(o.id for o in decision.obligations)
    advice = tuple(a.id for a in decision.advice)
    if case.error is not None:
        failures = [f"expected the request to be refused with an error containing "
                    f"`{case.error}`, but it was decided: {decision.decision}"]
    else:
        failures = unmet_expectations(case, decision.decision, fired, obligations, rule_ids(policy_set), advice)
    return CaseResult(case, not failures, expected, decision.decision, fired, obligations,
                      failures=tuple(failures), advice=advice)


def decide_case(policy_set: PolicySet, case: Case, request: dict[str, Any]) -> tuple[Selection | None, Decision]:
    """The case's decision, and the selection that made it: with the case's ledger events, as `pdp serve --ledger`
    decides (the attributes the set declares filled from them first); without, as `pdp decide`. No selection: the
    ledger decision failed closed before deciding the request, or was asked as of a past time."""
    if case.ledger is None:
        selection = policy_set.select(request)
        return selection, selection.decide()
    made: list[Selection] = []

    def decide(filled: dict[str, Any]) -> Decision:
        made.append(policy_set.select(filled))
        return made[-1].decide()

    # as of a past time when another version was in force, that version decides (pdp.engine.filled), not `decide`:
    # such a case is decided as the server decides it, and its coverage is not counted (no selection is made)
    with seeded(case.ledger) as states:
        decision = ledger_reader.decide(policy_set, request, states, decide=decide)
    return (made[-1] if made else None), decision


def _refused(case: Case, message: str) -> CaseResult:
    if case.error is None:
        failure = f"expected {case.expect}, but the request was refused: {message}"
    elif case.error.casefold() not in message.casefold():
        failure = (f"the request was refused, but the message does not contain "
                   f"`{case.error}`: {message}")
    else:
        return CaseResult(case, True, REFUSED, REFUSED, error=message)
    return CaseResult(case, False, case.expect or REFUSED, REFUSED, error=message,
                      failures=(failure,))


# The reasons pdp gives itself, named like rules: a case may expect them too (`rules: [default.deny]`).
BUILT_IN_REASONS = frozenset({DEFAULT_DENY, NONE_IN_FORCE, LEDGER_UNAVAILABLE, LEDGER_NOT_YET})


def rule_ids(policy_set: PolicySet) -> frozenset[str]:
    """What a case's `rules` may name: the rules of every version of the set, and the reasons pdp gives itself."""
    return frozenset(rule.id for version in policy_set.history for rule in version.rules) | BUILT_IN_REASONS


def unmet_expectations(case: Case, actual: str, fired: tuple[FiredRule, ...],
                       obligations: tuple[str, ...], known_rules: Collection[str] | None = None,
                       advice: tuple[str, ...] = ()) -> list[str]:
    """Every way a decided case differs from what it expects (empty: it passed).

    All expectations are checked, not just the first, so one run shows
    everything that is off about a case. A rule the case names that the set
    does not have (`known_rules`) is said to be no rule, with the closest ids,
    not merely missing from the decision.
    """
    failures = []
    if actual != case.expect:
        failures.append(f"expected {case.expect}, got {actual}")
    if case.rules is not None:
        fired_ids = {f.rule for f in fired}
        unknown = [r for r in case.rules if known_rules is not None and r not in known_rules and r not in fired_ids]
        for rule in unknown:
            assert known_rules is not None
            failures.append(f"no such rule `{rule}` in the policy set"
                            + (f" ({hint})" if (hint := did_you_mean(rule, known_rules)) else ""))
        missing = [r for r in case.rules if r not in fired_ids and r not in unknown]
        if missing:
            failures.append("missing rules: " + ", ".join(missing))
    if case.cites is not None:
        missing = [c for c in case.cites if c not in {f.cite for f in fired}]
        if missing:
            failures.append("missing cites: " + ", ".join(missing))
    for word, wanted, got in (("obligations", case.obligations, obligations), ("advice", case.advice, advice)):
        if wanted is not None and set(wanted) != set(got):
            missing = [o for o in wanted if o not in got]
            unexpected = [o for o in got if o not in wanted]
            detail = "; ".join(filter(None, [
                "missing " + ", ".join(missing) if missing else "",
                "unexpected " + ", ".join(unexpected) if unexpected else "",
            ]))
            failures.append(f"{word}: expected {_listing(wanted)}, got {_listing(got)} ({detail})")
    return failures


def _listing(items: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(set(items))) + "]"

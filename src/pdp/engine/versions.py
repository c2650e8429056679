"""Which version of a policy set decides a request (privacy policy §11).

"Unless you consent otherwise, we use your personal information in the
manner described in the Privacy Policy in effect when we received it." A
policy set may keep its earlier versions (`versions/<name>/` beside the
current files, each a whole policy set with its own header). A request may
say when the data was collected (`collected_at`, a date) and which version
the person accepted (`data_subject.accepted_policy_version`):

- no `collected_at`: the current version decides;
- the action is one of the person's own requests (`subject_requests` in
  vocabulary.yaml, e.g. erase, access): the current version decides. Such a
  request exercises a right now; it is not a use of the data under the
  terms it was collected with;
- otherwise the version in force on that date (the latest effective date on
  or before it) decides, unless the person accepted a later version, which
  then decides ("unless you consent otherwise");
- no version was in force on that date and the person accepted none: deny
  (fail closed), saying so.

`history_of` checks that the versions belong together and puts them in order;
`select` picks the version that decides a request.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pdp.base.errors import Diagnostic, FieldError, PolicyError, RequestError, suggest
from pdp.base.source import Span

if TYPE_CHECKING:
    from .policy_set import PolicySet

CURRENT = "current version"
NONE_IN_FORCE = "version.none_in_force"  # the rule a request is denied by when no version was in force


def history_of(earlier: list[PolicySet], current: PolicySet) -> tuple[PolicySet, ...]:
    """Every version, oldest first, the current one last. Raises PolicyError (`bad-version`, at the
    version's directory) for a version without an effective date or of another set, a version number
    given twice, or an earlier version that takes effect after the current one."""
    problems = [Diagnostic("bad-version", message, Span(str(v.directory), 1, 1), hint)
                for v in earlier + [current] for message, hint in _version_problems(v, current)]
    seen: dict[str, object] = {}
    for v in earlier + [current]:
        if v.version in seen:
            problems.append(Diagnostic("bad-version", f"version `{v.version}` appears twice", Span(str(v.directory), 1, 1),
                                       f"also in {seen[v.version]}"))
        seen[v.version] = v.directory
    if problems:
        raise PolicyError(problems)
    ordered = tuple(sorted(earlier + [current], key=lambda v: v.effective or ""))  # each has one by now
    if ordered[-1] is not current:
        raise PolicyError([Diagnostic("bad-version", "an earlier version takes effect after the current one",
                                      Span(str(ordered[-1].directory), 1, 1),
                                      "the policy set at the top of the directory must be the newest")])
    return ordered


def _version_problems(version: PolicySet, current: PolicySet) -> list[tuple[str, str]]:
    out = []
    if not version.effective:
        out.append((f"version `{version.version}` has no effective date", "add `effective YYYY-MM-DD` to its header"))
    if version.name != current.name:
        out.append((f"`{version.name}` is not a version of `{current.name}`", "every version keeps the set's name"))
    return out


def _date(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise RequestError([FieldError(field, "a date is written as text, YYYY-MM-DD")])
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RequestError([FieldError(field, f"`{value}` is not a date (YYYY-MM-DD)")]) from None


def select(history: tuple[PolicySet, ...], request: dict[str, Any]) -> tuple[PolicySet | None, str]:
    """The version that decides `request`, and why. `history` is sorted by effective date, oldest first."""
    current = history[-1]
    collected = request.get("collected_at") if isinstance(request, dict) else None
    subject = request.get("data_subject") if isinstance(request, dict) else None
    accepted = subject.get("accepted_policy_version") if isinstance(subject, dict) else None
    if collected is None and accepted is None:
        return current, CURRENT
    day = _date(collected, "collected_at") if collected is not None else None
    consented = _accepted_version(history, accepted) if accepted is not None else None
    action = request.get("action")
    if isinstance(action, str) and action in current.vocabulary.subject_requests:
        return current, f"{CURRENT}: `{action}` is the data subject's own request"
    chosen: PolicySet | None = current
    basis = CURRENT
    if day is not None:
        in_force = [v for v in history if v.effective and v.effective <= day]
        if in_force:
            chosen, basis = in_force[-1], f"in force on {day}, when the data was collected"
        elif consented is None:
            return None, f"no version of `{current.name}` was in force on {day}, when the data was collected"
        else:
            chosen, basis = None, ""
    if consented is not None and (chosen is None or (consented.effective or "") > (chosen.effective or "")):
        chosen, basis = consented, f"version {accepted}, accepted by the data subject"
    return chosen, basis


def _accepted_version(history: tuple[PolicySet, ...], accepted: object) -> PolicySet:
    if not isinstance(accepted, str):
        raise RequestError([FieldError("data_subject.accepted_policy_version", "a policy version is written as text")])
    by_version = {v.version: v for v in history}
    if accepted not in by_version:
        raise RequestError([FieldError("data_subject.accepted_policy_version", f"unknown policy version `{accepted}`",
                                       tuple(suggest(str(accepted), by_version)))])
    return by_version[accepted]

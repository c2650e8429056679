""""What this change does": the edit's decision changes against the served or committed set, and queries.

Both are the workbench's own answers (`pdp.analysis.diff`, `.query`): the
words `pdp diff` and `pdp query` print, and each change's example request
(re-decided by the engine, so it can be sent to "Try a request"). The
analysis is bounded by its budgets (the enumeration's, then the solver's: a
search stopped by one is said to be incomplete, never "no change"); the
route also bounds the time it waits (`routes.whole_set`).
"""

from __future__ import annotations

from typing import Any

from pdp.analysis.diff import diff
from pdp.analysis.query import Question, QuestionError, ask
from pdp.analysis.space import SpaceTooLarge
from pdp.analysis.space.encoding import Undecided
from pdp.engine.policy_set import PolicySet
from pdp.engine.sources import Sources
from .errors import StudioError, bad_field

AGAINST = ("served", "committed")


def changes(before: PolicySet, after: PolicySet, against: str) -> dict[str, Any]:
    """The answer to `/studio/api/diff` (blocking: run it off the event loop)."""
    try:
        report = diff(before, after, f"the {against} set", "the edited set")
    except (ValueError, SpaceTooLarge) as error:
        raise StudioError(422, "cannot_compare", [{"field": "edits", "message": str(error)}]) from None
    return {"text": report.render(), "changed": report.changed, "complete": report.complete,
            "changes": [{"summary": change.headline(), "before": change.before, "after": change.after,
                         "rules_before": list(change.rules_before), "rules_after": list(change.rules_after),
                         "cases": [case.render() for case in change.cases], "example": change.example}
                        for change in report.changes]}


def _strings(body: dict[str, Any], field: str) -> tuple[str, ...]:
    """A form's field: absent, one string, or a list of strings (empty strings left out)."""
    value = body.get(field)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_field(field, f"`{field}` is a string or a list of strings")
    if len(value) > 100:
        raise bad_field(field, f"at most 100 values in `{field}`")
    return tuple(item.strip() for item in value if item.strip())


DECISIONS = {"allowed": "allow", "denied": "deny", "allow": "allow", "deny": "deny"}


def question_of(body: dict[str, Any]) -> Question:
    """The query form as a Question (400 naming the field)."""
    decision = body.get("decision", "allowed")
    if not isinstance(decision, str) or decision not in DECISIONS:
        raise bad_field("decision", "`decision` is `allowed` or `denied`")
    purposes = _strings(body, "purpose") + _strings(body, "purposes")
    return Question(DECISIONS[decision], _strings(body, "action"), purposes, _strings(body, "categories"),
                    _strings(body, "where"))


def _field_of(message: str) -> str:
    for word, field in (("where", "where"), ("unknown action", "action"), ("unknown purpose", "purpose"),
                        ("unknown data category", "categories"), ("AuthZEN", "purpose")):
        if word in message:
            return field
    return "decision"


def answer(policy_set: PolicySet, sources: Sources, question: Question) -> dict[str, Any]:
    """The answer to `/studio/api/query` (blocking: run it off the event loop)."""
    try:
        found = ask(policy_set, question, sources)
    except QuestionError as error:
        message = str(error).replace("--where ", "")
        raise bad_field(_field_of(str(error)), message) from None
    except SpaceTooLarge as error:
        raise StudioError(422, "too_large", [{"field": "where", "message": str(error)}]) from None
    except Undecided as error:
        return {"answer": "unknown", "text": f"{question.describe()}: could not be decided within the budget: {error}",
                "example": None}
    return {"answer": "yes" if found.yes else "never", "text": found.render(), "example": found.request}

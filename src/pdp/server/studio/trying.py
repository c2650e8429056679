""""Try a request": decide a request with the edited set, and say why, rule by rule, with where each rule is.

The decision is the engine's (`PolicySet.select`, then the selection's
decision), answered as `/v1/decide` answers it (`Decision.to_dict`); the
explanation is `pdp explain`'s (`explain_selection` of that very selection:
it cannot disagree with the decision), its words (`render_text`) and each
rule it names with its span in the files, for the editor to highlight, and
the words of the clauses it cites (from the set's clauses.yaml), so that a
reader sees what the privacy policy says beside the rule that applied it. With
`events` (ledger events in the shape `pdp consent record` takes, as a policy
test's `ledger:`), the request is decided against a temporary ledger holding
them, as `pdp test` decides such a case (`pdp.testing.runner.decide_case`).

A fault while deciding is a deny (`deciding.failed_closed`), never an allow,
nor a 500. Nothing here is logged: a trial on an edited set is not a
decision of the service.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pdp.base.errors import RequestError
from pdp.editing import Workspace
from pdp.editing.clauses import cited, clauses
from pdp.engine.decision import Decision
from pdp.engine.policy_set import PolicySet
from pdp.explain import explain_selection
from pdp.ledger.events import MAX_BATCH, InvalidEvent, parse_event
from pdp.testing import Case
from pdp.testing.runner import decide_case
from pdp.testing.seeded import complete
from ..deciding import failed_closed
from .errors import StudioError, bad_field
from .workspace import Place

log = logging.getLogger("pdp.server")

OUTCOMES = {True: "applied", False: "did not apply"}
FAILED, UNRELATED = "could not be evaluated", "not about this request"


def checked_events(events: Any, request: dict[str, Any]) -> tuple[dict[str, Any], ...] | None:
    """The body's `events`, completed for the request's subject and checked as the ledger checks them (400 naming
    `events[i].field`); None: decided without a ledger."""
    if events is None:
        return None
    if not isinstance(events, list):
        raise bad_field("events", "`events` is a list of ledger events, e.g. [{\"kind\": \"consent.given\", "
                                  "\"topic\": \"marketing\"}]")
    if len(events) > MAX_BATCH:
        raise bad_field("events", f"{len(events)} events; at most {MAX_BATCH}")
    person = request.get("data_subject")
    subject = person.get("id") if isinstance(person, dict) else None
    done = []
    problems = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            problems.append({"field": f"events[{index}]", "message": "an event is a JSON object"})
            continue
        completed = complete(event, subject)
        try:
            parse_event(completed, where=f"events[{index}]")
        except InvalidEvent as error:
            problems += [{"field": field, "message": message} for field, message in error.problems]
            continue
        done.append(completed)
    if problems:
        raise StudioError(400, "bad_request", problems)
    return tuple(done)


def try_request(policy_set: PolicySet, place: Place, request: Any, events: Any,
                workspace: Workspace | None = None) -> dict[str, Any]:
    """The answer to `/studio/api/decide` (blocking: run it off the event loop)."""
    if not isinstance(request, dict):
        raise bad_field("request", "`request` is a decision request, a JSON object")
    seeds = checked_events(events, request)
    case = Case(Path("studio"), 0, "studio", "studio", request, ledger=seeds)
    try:
        selection, decision = decide_case(policy_set, case, request)
    except RequestError as error:
        problems = [{**problem, "field": f"request.{problem['field']}" if problem.get("field") else "request"}
                    for problem in error.errors]
        raise StudioError(400, "bad_request", problems) from None
    except Exception as error:  # noqa: BLE001 - an engine fault denies, as the service's does
        log.exception("internal error while deciding in the studio")
        return {"decision": failed_closed(policy_set, "deciding", error).to_dict(),
                "explanation": {"text": "the decision failed closed; there is no explanation", "rules": []}}
    known = clauses(workspace) if workspace is not None else {}
    return {"decision": decision.to_dict(), "explanation": _explanation(selection, decision, place, known)}


def _explanation(selection, decision: Decision, place: Place, known: dict[str, str]) -> dict[str, Any]:
    if selection is None:  # decided by a ledger's version as of a past time, or failed closed before deciding
        return {"text": "this decision was made without the rules being asked (see its reasons)", "rules": []}
    try:
        explained = explain_selection(selection)
    except Exception as error:  # noqa: BLE001 - the decision stands; say that the explanation failed
        log.exception("internal error while explaining in the studio")
        return {"text": f"internal error while explaining ({error.__class__.__name__})", "rules": []}
    version_rules = selection.version.rules if selection.version else ()
    spans = {rule.id: rule.source.span for rule in version_rules}
    cites = {rule.id: rule.cite for rule in version_rules}

    def rule(rule_id: str, effect: str, outcome: str) -> dict[str, Any]:
        return {**_rule(rule_id, effect, outcome, spans, place), **_clauses(cites.get(rule_id), known)}

    rules = [rule(r.rule, r.effect, FAILED if r.error else OUTCOMES[r.applies]) for r in explained.rules]
    rules += [rule(u.rule, u.effect, UNRELATED) for u in explained.unrelated]
    return {"text": explained.render_text(), "rules": rules,
            "would_allow": [suggestion.text for suggestion in explained.suggestions]}  # for a deny: what would allow it


def _clauses(cite: str | None, known: dict[str, str]) -> dict[str, Any]:
    """The rule's `cite`, and the clauses it names that the set's clauses.yaml quotes (none without one)."""
    if cite is None:
        return {}
    quoted = [{"number": number, "text": known[number]} for number in cited(cite) if number in known]
    return {"cite": cite, "clauses": quoted}


def _rule(rule_id: str, effect: str, outcome: str, spans: dict, place: Place) -> dict[str, Any]:
    span = spans.get(rule_id)
    where = place.location(span) if span is not None else {"file": None, "line": None, "col": None,
                                                          "end_line": None, "end_col": None}
    return {"id": rule_id, "effect": effect, "outcome": outcome, **where}

"""The ledger memo: a ledger decision remembered with the subject's kept readings, so that the same question about
the same person's same choices is answered without filling the request, deciding it and citing the events again;
only a new `LedgerDecision` with a new id is made.

Why: a decision that reads the ledger fills the request (pdp.ledger.fill), decides the filled request and wraps
its reasons with the events they relied on (pdp.engine.filled); each of those costs about what the plain decision
does, and a decision point is asked the same question about the same person many times.

Exact, not approximate: a ledger decision (`filled.decide_filled`, now, no `as_of`) is a function of the policy
set, of the subject's readings (`pdp.ledger.fill.Readings`: what the person's state says of each declared
attribute, the same until the first expiry and for the deciding version: `Readings.hold`), and of the request as
the caller sent it only through

- what the engine's request memo keys a request by: its targets and the value of every attribute the rules for
  them read, registers looked up (`RequestMemo.paths`), here read of the request as sent; and
- the caller's own values of every attribute the set fills: the ledger wins except where the caller is
  stricter, and the decision's `ledger` block says what the caller said.

The filled request differs from the one sent only at the filled attributes, whose values are a function of the
second part and of the readings; so two requests with one key are filled alike wherever a rule looks, and get the
same outcome, the same citations and the same `ledger` block. Both parts are read in one pass by
engine.request_memo's own machinery (`plan_of`, `key_of`): the same exactness (each value with its type) and
the same bounds. (Read with the registers looked up: where no register replaces a filled attribute's part, that
is what the caller said; a set that looks such a part up is not remembered.)

Failing safe, as the request memo does: no key, so decided in full and not remembered, for a request whose rules
hold a node the request memo does not know, whose key would pass its size limits, or when the request memo is
off (PDP_REQUEST_MEMO=false, `index=False`); a request the check refuses as sent (decided in full: it says
why); a set with earlier versions or a request naming `collected_at` (the version deciding, and the `basis` the
response names, then depend on more of the request). A decision with an evaluation error is not remembered. At
most LIMIT decisions are kept with one subject's readings, and TOTAL in all, whatever is asked (each key at
most the request memo's MAX_ITEMS items and MAX_TEXT characters). A memo that does not pay is given up on
(`worth`) until the person's state changes: each request is then decided in full, as with the memo off.

Never across a state change or a reload: the memo lives in the readings, which the reader
(pdp.io.ledger_reader) lets go of with the state they were read from (a new event for the subject, an erasure,
an expiry passing), and an entry names the policy set that made it. Not consulted for a request `as_of` a past
time, nor for one whose read-your-writes token the reader had not seen (`decide_filled(..., memo=False)`).

Off: `ENABLED = False`, or `SubjectStates(memo=False)` (the server's PDP_LEDGER_MEMO=false);
tests/test_ledger_memo.py proves it equal to the plain ledger path.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from pdp.base.errors import RequestError

from .decision import EVALUATION_ERROR
from .decision_id import new_decision_id
from .request_memo import PLANS_LIMIT, Plan, RequestMemo, key_of, plan_of

if TYPE_CHECKING:
    from pdp.ledger.fill import Readings

    from .filled import LedgerDecision
    from .policy_set import PolicySet

ENABLED = True  # the switch: False decides every ledger request in full (the plain path)
LIMIT = 16  # decisions kept with one subject's readings; when full, they start again
TRIES = 16  # misses after which a subject's memo is given up on while it hits less than one time in four (`worth`)
TOTAL = 65_536  # decisions kept in all (every subject, every reader of this process); when full, all start again


@dataclasses.dataclass(frozen=True, slots=True)
class Remembered:
    """A ledger decision without its id, and the policy set that made it."""

    policy_set: PolicySet
    kind: type[LedgerDecision]
    fields: dict[str, Any]  # every field of the decision but its id (made with `fields`: each field is kept)

    def again(self) -> LedgerDecision:
        """The decision, with a new id (made as `decision.decision_of` makes one: without a frozen dataclass's
        setattr per field, about 1 µs a decision less)."""
        made = object.__new__(self.kind)
        made.__dict__.update(self.fields, decision_id=new_decision_id())
        return made


def key(policy_set: PolicySet, request: dict[str, Any]) -> Hashable | None:
    """The key of a request decided now by `policy_set` with the ledger (see the module); None: not remembered."""
    memo = policy_set.request_memo
    if memo is None or not ENABLED or len(policy_set.history) != 1 or "collected_at" in request:
        return None
    try:
        env = policy_set.checked(request)
    except RequestError:
        return None  # decided in full, which says why (or fills what the check refused: `fill.combined`)
    targets = policy_set.model.targets(request)
    plans = policy_set.ledger_plans
    try:
        plan = plans[targets]
    except KeyError:
        plan = plans[targets] = plan_for(policy_set, memo, targets) if len(plans) < PLANS_LIMIT else None
    return None if plan is None else key_of(plan, targets, env)


def plan_for(policy_set: PolicySet, memo: RequestMemo, targets: Hashable) -> Plan | None:
    """How the key reads a request about `targets`: what the request memo reads (the values the rules for them
    read, registers looked up), and the filled attributes. Read of the request as its registers make it: the
    caller's values of the filled attributes are the request's own only when no register replaces their part (a
    set that looks such a part up is not remembered: None)."""
    paths = memo.paths(targets)
    roots = {lookup.root for lookup in policy_set.lookups}
    if paths is None or any(f.attribute[0] in roots for f in policy_set.ledger_fills):
        return None
    return plan_of((*paths, *(f.attribute for f in policy_set.ledger_fills)))


def worth(readings: Readings) -> bool:
    """Whether to look for a decision in these readings' memo: not once it has missed TRIES times and hit less than
    a quarter as often (a person asked something new each time: the key and the keeping would cost a third more
    than deciding in full, and the memo would only push out what it held)."""
    hits, misses = readings.tally
    return misses < TRIES or hits * 4 >= misses


def recall(readings: Readings, policy_set: PolicySet, found: Hashable) -> Remembered | None:
    """The decision remembered for `found` with these readings by this policy set; None if none."""
    kept: Remembered | None = readings.decided.get(found)
    if kept is not None and kept.policy_set is policy_set:
        readings.tally[0] += 1
        return kept
    readings.tally[1] += 1
    return None


def keep(readings: Readings, policy_set: PolicySet, found: Hashable, decision: LedgerDecision) -> None:
    """Remember `decision` for `found` (not one with an evaluation error: it may be transient, and is reported
    again rather than replayed)."""
    if decision.error is not None or any(r.effect == EVALUATION_ERROR for r in decision.reasons):
        return
    kept = dict(decision.__dict__)  # every field (a frozen dataclass's, without slots: `again` sets them alike)
    del kept["decision_id"]
    decided = readings.decided
    with _lock:
        global _count
        if len(decided) >= LIMIT:
            _count -= len(decided)
            decided.clear()
        if _count >= TOTAL:  # every memo starts again: whatever is asked, at most TOTAL decisions are kept
            for held in _holding:
                held.clear()
            _holding.clear()
            _count = 0
        if not decided:
            _holding.append(decided)
        if found not in decided:
            _count += 1
        decided[found] = Remembered(policy_set, type(decision), kept)


# every memo holding decisions, and how many they hold together (a dict let go of with its readings stays here,
# its decisions counted, until the next start: the bound holds)
_holding: list[dict[Hashable, Remembered]] = []
_count = 0
_lock = threading.Lock()


__all__ = ["ENABLED", "LIMIT", "TOTAL", "TRIES", "Remembered", "keep", "key", "plan_for", "recall", "worth"]

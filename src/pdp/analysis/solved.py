"""The facts `pdp check`'s rule warnings rest on, found by the solver (pdp.analysis.space.encoding).

The same facts the enumeration finds (warnings.rule_warnings), each a question about one rule:

- it applies to some request: satisfiable(applies);
- an allow is always overridden: not satisfiable(applies, nothing fails, no deny applies);
- it is redundant: not satisfiable(applies, nothing fails, no deny applies, no other allow applies) for an
  allow; not satisfiable(applies, nothing fails, no other deny applies) for a deny ("no other" is a
  cardinality constraint: at most one rule of its effect applies);
- for a redundant rule, the rules of its effect that apply with it everywhere (its companions) and somewhere
  (its helpers), among the rules whose targets meet its own;
- a deny overlaps the allows that apply together with it on some request, among those whose targets meet its
  own and that neither names the other in `overrides` (only those are reported): found a model at a time,
  each model's allows struck off before the next question.

Most rules are settled without the solver's whole formula: a request where the rule alone decides settles
"applies", "not overridden" and "not redundant" at once, and the engine itself says whether a candidate
request is one: the candidate is a model of the rule's own formula, found by a small solver holding that
formula only. Only the rules no such request settles are asked of the whole set.

Most questions about one rule or two never reach a solver at all (`BOXES`, boxes.py): a rule's own formula
read as a box (the indexes it allows on each dimension) says exactly whether it applies and gives the first
candidate request when it is a conjunction of one-dimension tests, as targets and most conditions are; two
rules whose boxes do not meet never apply together, two exact boxes that meet do, and an exact box within
another's is implied by it. The boxes also index the rules (`_Targets`) on every dimension, so a rule is
compared only with those whose boxes meet its own (the rules of the same service, on a set keyed by
`requester.id`), and what they cannot settle goes to the solver. `BOXES = False` is the solver alone; the
tests hold both equal, and equal to the enumeration on small sets.

Bounded as every question to the solver is (encoding.RLIMIT), and in the pairs of rules the set looks at
(`NEIGHBOURS`) and the questions about pairs the boxes do not settle (`PAIR_QUESTIONS`): a rule whose question
cannot be settled is `undecided` (its warnings are not given, and `pdp check` says so), never reported as a
finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, overload

from pdp.base.errors import RequestError
from pdp.engine.policy_set import PolicySet
from pdp.vocab.request import apply_lookups
from .space import Space
from .space.model_keys import KINDS, key_of
from pdp.engine.decision import DEFAULT_DENY
from .boxes import Box, Boxes, request_at
from .space.encoding import Encoding, Formula, Undecided, as_z3, f_and, f_not, f_or



@dataclass
class RuleFacts:
    applies: bool = False  # applies to some request
    redundant: bool = True  # every request it applies to is decided the same without it
    overridden: bool = True  # every request it applies to is denied anyway (allows)
    companions: set[str] | None = None  # same-effect rules that apply with it on every such request
    helpers: set[str] = field(default_factory=set)  # same-effect rules that apply with it somewhere


@dataclass
class Solved:
    facts: dict[str, RuleFacts]
    overlaps: dict[str, set[str]]  # deny id -> allow ids it applies together with
    undecided: list[str]  # rules whose questions the solver could not settle within its budget
    questions: int = 0
    timed: list[str] = field(default_factory=list)  # of those: a test of time not read, or meeting one


class _Targets:
    """Which rules may apply together with a rule: those whose regions (per dimension, the indexes where a rule
    may apply: a bitmask; a dimension not named, every index) meet its own on every dimension. Bitsets of rules
    per index, so a rule's neighbours are a few big-integer operations, not a scan of every rule. A region wider
    than `WIDE` indexes on an attribute's dimension is not indexed (the rule counts as everywhere there): fewer
    neighbours left out, never one too many left out."""

    def __init__(self, rules: list, regions: list[dict[int, int]]):
        self.rules = rules
        self.all = (1 << len(rules)) - 1
        self.by_index: dict[int, dict[int, int]] = {}  # dimension -> index -> rules whose region holds it
        self.named: dict[int, int] = {}  # dimension -> rules whose region names it
        self.wide: dict[int, int] = {}  # dimension -> rules whose region there is too wide to index
        for i, region in enumerate(regions):
            bit = 1 << i
            for dim, mask in region.items():
                self.named[dim] = self.named.get(dim, 0) | bit
                if _too_wide(dim, mask):
                    self.wide[dim] = self.wide.get(dim, 0) | bit
                    continue
                column = self.by_index.setdefault(dim, {})
                for index in _indexes(mask):
                    column[index] = column.get(index, 0) | bit

    def meeting(self, region: dict[int, int]) -> int:
        """The rules whose regions meet this one, as bits (`of` lists them)."""
        bits = self.all
        for dim, mask in region.items():
            if _too_wide(dim, mask):
                continue
            found = (self.all & ~self.named.get(dim, 0)) | self.wide.get(dim, 0)
            column = self.by_index.get(dim, {})
            for index in _indexes(mask):
                found |= column.get(index, 0)
            bits &= found
        return bits

    def of(self, bits: int) -> list:
        return [self.rules[i] for i in _indexes(bits)]


def _indexes(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class TimeInTheWay(Undecided):
    """A rule's question meets, in its way, a rule whose test of time is not read (encoding.unencoded): it is left
    undecided."""


def _too_wide(dim: int, mask: int) -> bool:
    return dim >= _KEY_DIMS and mask.bit_count() > WIDE


def solve_facts(policy_set: PolicySet, unmarked: Callable[[str, str], bool], *, boxes: bool | None = None) -> Solved:
    """The rule facts of one version, and its denies' overlaps with the allows `unmarked(deny, allow)` admits.
    `boxes` (default `BOXES`): settle what the formulas' boxes settle before asking the solver (boxes.py)."""
    space = Space([policy_set], obligations=False)
    encoding = Encoding(space, unencoded_free=True)
    encoding.selects_latest()  # a request collected before the set's effective date is an earlier version's
    verdicts = encoding.verdicts[0]
    rules = policy_set.rules
    applies = verdicts.applies
    decided = f_not(verdicts.refused)  # a refused request is decided by no rule
    clean = f_and([decided, f_not(verdicts.failing)])
    lone = {effect: encoding.at_most_one([applies[r.id] for r in rules if r.effect == effect])
            for effect in ("allow", "deny")}
    facts = {r.id: RuleFacts() for r in rules}
    overlaps: dict[str, set[str]] = {}
    undecided: set[str] = set(encoding.unencoded)  # tests of time: nothing is claimed of them
    timed: set[str] = set(encoding.unencoded)  # those, and the rules whose questions meet them
    pairs = _Pairs(policy_set, encoding, facts, BOXES if boxes is None else boxes)
    targets = {effect: _Targets(chosen, [pairs.region(r) for r in chosen])
               for effect in ("allow", "deny") for chosen in [[r for r in rules if r.effect == effect]]}
    for rule in rules:  # what each rule does alone: applies, overridden, redundant
        fact = facts[rule.id]
        if rule.id in undecided:
            continue
        try:
            fact.applies = pairs.applies(rule)
            if not fact.applies:
                continue
            alone = pairs.search(rule, alone=True)  # a request it decides alone: neither overridden nor redundant
            if alone is not None:
                fact.redundant = not alone
                fact.overridden = not alone and (rule.effect == "allow" and pairs.search(rule, alone=False) is False)
            if alone is None or (fact.redundant and rule.effect == "allow" and not fact.overridden
                                 and pairs.search(rule, alone=False) is None):
                _settle(encoding, rule, fact, applies[rule.id], clean, verdicts, lone)
        except TimeInTheWay:
            timed.add(rule.id)
            undecided.add(rule.id)
        except Undecided:
            undecided.add(rule.id)
    for rule in rules:  # what it does with others: companions and helpers of a redundant rule, overlaps of a deny
        fact = facts[rule.id]
        if rule.id in undecided or not fact.applies:
            continue
        try:
            if fact.redundant:
                same = pairs.neighbours(targets[rule.effect], rule)
                fact.helpers = {s.id for s in same if pairs.together(rule, s)}
                _companions(encoding, pairs, rule, fact, applies[rule.id], decided, verdicts, lone,
                            [s for s in same if s.id in fact.helpers], same, applies)
            if rule.effect == "deny":
                found = {a.id for a in pairs.neighbours(targets["allow"], rule)  # (an allow that tests time: not)
                         if a.id not in encoding.unencoded and unmarked(rule.id, a.id) and pairs.together(rule, a)}
                if found:
                    overlaps[rule.id] = found
        except TimeInTheWay:
            timed.add(rule.id)
            undecided.add(rule.id)
        except Undecided:
            undecided.add(rule.id)
    for rule_id in undecided:
        facts[rule_id] = RuleFacts(applies=True, redundant=False, overridden=False)  # nothing claimed of it
        overlaps.pop(rule_id, None)
    return Solved(facts, overlaps, sorted(undecided), encoding.questions, sorted(timed))


def _settle(encoding: Encoding, rule, fact: RuleFacts, mine: Formula, clean: Formula, verdicts, lone: dict) -> None:
    """Overridden, redundant: asked of the whole set (for a rule that applies somewhere)."""
    if rule.effect == "allow":
        allowed = f_and([mine, clean, f_not(verdicts.denying)])
        fact.overridden = not encoding.satisfiable(allowed)
        fact.redundant = fact.overridden or not encoding.satisfiable(allowed, lone["allow"])
    else:
        fact.overridden = False
        fact.redundant = not encoding.satisfiable(mine, clean, lone["deny"])


def _companions(encoding: Encoding, pairs: _Pairs, rule, fact: RuleFacts, mine: Formula, decided: Formula,
                verdicts, lone: dict, helpers: list, same: list, applies: dict) -> None:
    """The rules of its effect that apply wherever a redundant rule takes part in the decision (of its helpers).
    As the enumeration counts them: an allow's requests where a deny wins (or a rule fails) and no other allow
    applies need no companion. Requests the engine puts there settle most of it; the whole set is asked the
    rest."""
    if rule.effect == "deny":  # wherever it applies: a question about the two rules alone (of those applying on
        first = pairs.applying(pairs.example(rule), helpers)  # one such request)
        fact.companions = {s.id for s in helpers if s.id in first and pairs.implies(rule, s)}
        return
    where = f_and([mine, decided, f_not(f_and([f_or([verdicts.failing, verdicts.denying]), lone["allow"]]))])
    request = pairs.example(rule)
    if not pairs.takes_part(request, rule, same):
        model = encoding.check(where)
        if model is None:
            fact.companions = None
            return
        request = pairs.request_of(model)
    first = pairs.applying(request, helpers)  # a companion applies there too
    corner = pairs.example(rule, highest=True)  # and at the far corner of its box (if it takes part there)
    if corner is not None and pairs.takes_part(corner, rule, same):
        first &= pairs.applying(corner, helpers)
    companions = set()
    for other in helpers:
        if other.id not in first:
            continue
        if pairs.implies(rule, other):
            companions.add(other.id)
            continue
        pairs.pair_question()  # a model and the engine's decision, maybe the whole set's solver
        model = encoding.alone(f_and([pairs.own(rule), f_not(pairs.own(other)), pairs.decided]))
        if model is not None and pairs.takes_part(pairs.request_of(model, rule, other), rule, same):
            continue  # a request where it takes part without the other
        if not encoding.satisfiable(where, f_not(applies[other.id])):
            companions.add(other.id)
    fact.companions = companions


class _Pairs:
    """What one rule does alone, or with one other, asked of the two rules' own formulas (a small solver: no
    other rule takes part in whether they apply), and settled without a solver where the engine can say, or
    the formulas' boxes (with `boxes`: boxes.py)."""

    def __init__(self, policy_set: PolicySet, encoding: Encoding, facts: dict[str, RuleFacts], boxes: bool):
        self.policy_set = policy_set
        self.encoding = encoding
        self.facts = facts
        verdicts = encoding.verdicts[0]
        # the refusal's own formula, not its name: the small solver and the boxes know only the dimensions, so a
        # name defined in the whole set's solver would leave "refused" free there
        self.decided = f_not(encoding.formula_of(verdicts.refused))
        self.asked = 0  # questions about pairs of rules (PAIR_QUESTIONS)
        self.looked = 0  # pairs of rules that may apply together, looked at (NEIGHBOURS)
        self._own = {r.id: encoding.formula_of(verdicts.applies[r.id]) for r in policy_set.rules}
        self._reads = {r.id: encoding.reads(r) for r in policy_set.rules}
        self._boxes = Boxes(encoding) if boxes else None
        self._box: dict[str, Box] = {}

    def box(self, rule) -> Box | None:
        """Where the rule may apply (its own formula, decided), or None without boxes."""
        if self._boxes is None:
            return None
        found = self._box.get(rule.id)
        if found is None:
            found = self._box[rule.id] = self._boxes.of(self._own[rule.id]).meet(self._boxes.of(self.decided))
        return found

    def region(self, rule) -> dict[int, int]:
        """The indexes per dimension where the rule may apply: its box's, or (without boxes) the classes its
        target reaches."""
        box = self.box(rule)
        if box is not None:
            return {d: m for d, m in box.masks.items() if d < len(self.encoding.dims)}
        return {d: sum(1 << c for c in classes)
                for d, classes in enumerate(self.encoding.reach_classes(rule)) if classes is not None}

    def applies(self, rule) -> bool:
        box = self.box(rule)
        if box is not None and (box.exact or box.empty):
            return not box.empty
        return self.encoding.alone(f_and([self._own[rule.id], self.decided]), model=False) is not None

    def search(self, rule, alone: bool, rounds: int = 0) -> bool | None:
        """Is there a request where the rule applies and decides: nothing fails, no other rule of its effect
        applies (`alone`), and, for an allow, no deny applies? Found lazily: the rule's own formula in the small
        solver, a request of its model (saying nothing else) decided by the engine, and the rules the engine
        finds in its way excluded from the next model, until the engine agrees (True) or nothing is left
        (False: then no such request exists, as the rules excluded are a part of those in the way). None: not
        settled within `ROUNDS` requests (the caller asks the whole set). The first request is a point of the
        rule's box where that is exact (no solver)."""
        encoding = self.encoding
        verdicts = encoding.verdicts[0]
        local = encoding.local()
        box = self.box(rule)
        pending = [f_and([self._own[rule.id], self.decided])]  # what the small solver is yet to be told
        pushed = False
        try:
            reads = set(self._reads[rule.id])
            excluded: set[tuple[str, str]] = set()
            for _ in range(rounds or ROUNDS):
                if box is not None and box.exact and not excluded:
                    if box.empty:
                        return False
                    request = request_at(encoding, box.point(), frozenset(reads))
                else:
                    if not pushed:
                        local.push()
                        pushed = True
                    for formula in pending:
                        local.add(as_z3(formula))
                    pending = []
                    if not encoding.settled(local):
                        return False
                    request = encoding.request(local.model(), frozenset(reads))
                try:
                    outcome = self.policy_set.outcome(request)
                except RequestError:
                    raise RuntimeError(f"the engine refuses a request of the space: {request}") from None
                in_way = {(r.rule, r.effect) for r in outcome.reasons
                          if r.rule != rule.id and (outcome.decision == "deny" or alone)}
                if rule.id not in {r.rule for r in outcome.reasons} and not in_way:
                    raise RuntimeError(f"the solver and the engine disagree on `{rule.id}` for {request}")
                if not in_way:
                    return True
                new = in_way - excluded
                if any(r in encoding.unencoded for r, _ in in_way):
                    # a rule that tests time is in the way: its free verdict cannot be told where it holds
                    raise TimeInTheWay(f"`{rule.id}` meets rules that test time on the way")
                if not new or any(r == DEFAULT_DENY for r, _ in new):
                    raise RuntimeError(f"the solver and the engine disagree on `{rule.id}` for {request}")
                in_way_formulas = []
                for other, effect in new:
                    which = verdicts.fails if effect == "error" else verdicts.applies
                    in_way_formulas.append(encoding.formula_of(which[other]))
                    reads |= self._reads[other]
                pending.append(f_not(f_or(in_way_formulas)))  # one formula a round: thousands may be in the way
                excluded |= new
            return None
        finally:
            if pushed:
                local.pop()

    @overload
    def example(self, rule) -> dict: ...

    @overload
    def example(self, rule, highest: Literal[True]) -> dict | None: ...

    def example(self, rule, highest: bool = False) -> dict | None:
        """A request the rule applies to, with the attributes it reads only: a point of its box where that is
        exact (with `highest`, the highest indexes of its box, None if it has no exact box), else a model of its
        own formula."""
        box = self.box(rule)
        if box is not None and box.exact and not box.empty:
            return request_at(self.encoding, box.point(highest), self._reads[rule.id])
        if highest:
            return None
        model = self.encoding.alone(f_and([self._own[rule.id], self.decided]))
        if model is None:
            raise RuntimeError(f"`{rule.id}` applies, yet its formula has no model")
        return self.request_of(model, rule)

    def pair_question(self) -> None:
        self.asked += 1
        if self.asked > PAIR_QUESTIONS:
            raise Undecided(f"more than {PAIR_QUESTIONS:,} questions about pairs of rules that apply together")

    def neighbours(self, targets: _Targets, rule) -> list:
        """The rules (other than this one) whose regions meet the rule's: each is looked at in turn, so how many
        the whole set looks at is bounded (NEIGHBOURS), even when the boxes settle every pair."""
        bits = targets.meeting(self.region(rule))
        self.looked += bits.bit_count()
        if self.looked > NEIGHBOURS:
            raise Undecided(f"more than {NEIGHBOURS:,} pairs of rules that may apply together")
        return [r for r in targets.of(bits) if r.id != rule.id]

    def implies(self, rule, other) -> bool:
        """Does the other rule apply wherever this one does? (a question about the two rules alone; settled by
        their boxes when the rule's is exact: it is, unless a point of its box lies outside the other's; and
        when both are, exactly when its box lies within the other's)"""
        mine, theirs = self.box(rule), self.box(other)
        if mine is not None and theirs is not None and mine.exact:
            if mine.empty:
                return True
            if not mine.within(theirs):
                return False
            if theirs.exact:
                return True
        self.pair_question()
        return self.encoding.alone(f_and([self._own[rule.id], f_not(self._own[other.id]), self.decided]),
                                   model=False) is None

    def together(self, rule, other) -> bool:
        """Do the two rules (whose targets meet) apply together to some request? Rules reading no attribute
        in common, nor the keys in a condition, each apply wherever their own attributes let them: together
        exactly when each applies somewhere. Boxes that do not meet: never; exact boxes that meet: together."""
        if not (self.facts[rule.id].applies and self.facts[other.id].applies):
            return False
        mine, theirs = self._reads[rule.id], self._reads[other.id]
        if not (mine & theirs) and not ((mine | theirs) & _KEYS):
            return True
        boxes = self.box(rule), self.box(other)
        if boxes[0] is not None and boxes[1] is not None:
            if not boxes[0].meets(boxes[1]):
                return False
            if boxes[0].exact and boxes[1].exact:
                return True
        self.pair_question()
        return self.encoding.alone(f_and([self._own[rule.id], self._own[other.id], self.decided]),
                                   model=False) is not None

    def own(self, rule) -> Formula:
        return self._own[rule.id]

    def request_of(self, model, *rules) -> dict:
        """The request of a model; given rules, with the attributes they read only (the others absent)."""
        return self.encoding.request(model, frozenset().union(*(self._reads[r.id] for r in rules)) if rules else None)

    def takes_part(self, request: dict, rule, same: list) -> bool:
        """Does an allow that applies to the request take part in its decision: the engine allows it, or
        another allow (of `same`, those whose targets meet its own) applies too?"""
        try:
            if self.policy_set.outcome(request).decision == "allow":
                return True
        except RequestError:
            return False
        return bool(self.applying(request, [s for s in same if s.id != rule.id]))

    def applying(self, request: dict, rules: list) -> set[str]:
        """Which of the rules the engine finds applying to a request (their targets reach its keys, their
        compiled conditions hold)."""
        lookups = self.policy_set.lookups
        try:
            env = apply_lookups(request, lookups) if lookups else request
        except RequestError:
            return set()
        action, purpose, category = (key_of(self.policy_set.model, request, kind) for kind in KINDS)
        found = set()
        for rule in rules:
            if not rule.reaches(action, purpose, category):
                continue
            try:
                if rule.applies(env):
                    found.add(rule.id)
            except Exception:  # noqa: BLE001 - a rule that fails does not apply (the engine fails it closed)
                continue
        return found


_KEYS = frozenset({"action", "purpose", "category"})  # the dimensions of the keys a request names
_KEY_DIMS = 3  # the encoding's first dimensions: action, purpose, category
WIDE = 64  # indexes of an attribute's dimension a rule's region may hold and still be indexed (_Targets)
BOXES = True  # settle what the formulas' boxes settle before asking the solver (boxes.py); False: the solver alone
ROUNDS = 64  # requests one lazy search may try before the whole set is asked
# questions about two rules the boxes do not settle (together? one wherever the other? a request where a redundant
# rule takes part without the other, decided by the engine) one set may ask: quadratic in the rules that apply
# together (a thousand rules applying to the same requests ask a million); beyond, the rules left are undecided
PAIR_QUESTIONS = 100_000
# pairs of rules whose regions meet, looked at (most settled by their boxes, a few microseconds each): beyond, the
# rules left are undecided (20,000 clustered rules look at about 46,000; 1,000 rules that all apply together, 10^6)
NEIGHBOURS = 1_000_000



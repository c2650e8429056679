"""A built policy set (PolicySet: decide many times) and a request admitted by it (Selection).

`pdp.engine.build.build` makes a PolicySet from its Sources; this module
holds what it makes and how a request is decided by it.
"""

from __future__ import annotations

from functools import cached_property, partial
from pathlib import Path
from collections.abc import Callable
from typing import Any, cast

from pdp.base.errors import Diagnostic, RequestError
from pdp.lang import ast
from pdp.ledger.fill import Fill
from pdp.vocab import taxonomy as tx
from pdp.vocab.request import DEFAULT_SHAPE, RequestShape, apply_lookups

from . import models, timing, versions
from .compiler import CandidatesOf, CompiledRule, RuleIndex, RuleScan
from .decision import Decision, Outcome, Reason, decision_of
from .request_memo import RequestMemo
from .registers import CompiledLookup
from .sources import Sources


class PolicySet:
    """A compiled policy set: decide many times."""

    def __init__(self, header: ast.Header, rules: tuple[CompiledRule, ...], vocabulary: tx.Vocabulary,
                 lookups: tuple[CompiledLookup, ...], data: dict[str, Any], digest: str,
                 files: tuple[ast.PolicyFile, ...],
                 warnings: tuple[Diagnostic, ...], index: bool = True, directory: Path | None = None,
                 sources: Sources | None = None, request_shape: RequestShape = DEFAULT_SHAPE):
        self.name = header.name
        self.version = cast(str, header.version)  # the checker requires one (no-version)
        self.effective = header.effective
        self.title = header.title
        self.model = models.named(header.model)  # data use or AuthZEN: what its requests are about
        self.rules = rules
        self.vocabulary = vocabulary
        self.data = data
        self.digest = digest
        self.files = files
        # The checker's warnings. The whole set's (shadowed rules, overlaps, unused vocabulary) are
        # pdp.analysis.warnings.warnings_of: most of what a load would cost, so only `pdp check` and the
        # workbench pay for them, never deciding or serving.
        self.checker_warnings = warnings
        self.sources = sources  # the texts it was built from (for the analysis and the warnings' excerpts)
        self.directory = directory
        self.indexed = index
        self.request_shape = request_shape  # known keys and declared attribute types, checked in every request
        # the pre-validated fast path of the request check (vocab/admit.py): off with the index, as every
        # optimisation of deciding is
        self._admit = self.model.admission(vocabulary, request_shape) if index else None
        # the registers a request's parts are looked up in, in the order of the lookups (pdp.engine.registers)
        self.lookups: tuple[CompiledLookup, ...] = lookups
        # the rules that may take part for (action, purpose, category): the rule index, or the plain scan
        self._index = RuleIndex(rules) if index else RuleScan(rules)
        self.candidates: CandidatesOf = self._index.candidates
        # the same, as the model narrows (an AuthZEN set: by the action alone): what the decision space reads
        self.candidates_for: CandidatesOf = partial(self.model.candidates, self._index)
        self.deciding = self._index.deciding  # the candidates narrowed by their conditions too (narrowing.py)
        # outcomes by what the rules read of a request (request_memo.py): off with the index, as every optimisation
        self.request_memo = (RequestMemo.of(partial(self.model.rules_for, self._index), self.model.TARGET_PATHS)
                              if index else None)
        # the response's `policy` object (shared by every decision of this version: never change it; `info` copies)
        self.policy_info: dict[str, Any] = {"name": self.name, "version": self.version, "digest": digest}
        # the attributes the consent ledger fills before deciding (`ledger fills ...`; pdp.io.ledger_reader fills them)
        self.ledger_fills: tuple[Fill, ...] = ()
        self.ledger_reads: dict[str, frozenset[str]] | None = None  # rule -> the filled attributes it reads (filled.py)
        self.ledger_plans: dict[Any, Any] = {}  # targets -> how the ledger memo reads a request (ledger_memo.py)
        self.history: tuple[PolicySet, ...] = (self,)  # every version, oldest first (build adds the earlier ones)

    @cached_property
    def reads_now(self) -> bool:
        """Whether a rule of any version reads `now` (an edge stamps it then: engine/timing)."""
        return timing.reads_now(self)

    def forget_requests(self) -> None:
        """Switch the request memo off in every version (request_memo.py): each request is evaluated anew."""
        for version in self.history:
            version.request_memo = None

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.policy_info)

    def select(self, request: dict[str, Any]) -> Selection:
        """The one way in for a request: which version decides it (§11) and why, the request checked
        against that version, and what its conditions read. decide, explain, coverage, the test runner
        and the server all start here, so they cannot disagree on the version. Raises RequestError."""
        if len(self.history) == 1 and not (isinstance(request, dict) and "collected_at" in request):
            return Selection(self, self, None, request, self.checked(request))
        chosen, basis = versions.select(self.history, request)
        return Selection(self, chosen, basis, request, (chosen or self).checked(request))

    def checked(self, request: dict[str, Any]) -> dict[str, Any]:
        """Check a request as this version reads it (raises RequestError) -> what its conditions read
        (the request with its registers looked up)."""
        admit = self._admit
        if admit is None or not admit(request):  # not known to be accepted: the plain check accepts it, or says why
            self.model.check(request, self.vocabulary, self.request_shape)
        return apply_lookups(request, self.lookups) if self.lookups else request

    def outcome(self, request: dict[str, Any]) -> Outcome:
        """The decision without its id, by the version the request selects: what tests and comparisons use."""
        return self.select(request).outcome

    def decide(self, request: dict[str, Any]) -> Decision:
        """Decide one request (a dict shaped as the contract's JSON). Raises RequestError if it is malformed."""
        if self._admit is not None and len(self.history) == 1 and self._admit(request) \
                and "collected_at" not in request:
            # `select`, without the Selection: this version decides, the request is accepted as it is
            env = apply_lookups(request, self.lookups) if self.lookups else request
            return decision_of(self.evaluate(request, env), self.policy_info)
        return self.select(request).decide()

    def decide_many(self, requests: list[dict[str, Any]]) -> list[Decision]:
        return [self.decide(r) for r in requests]

    def decide_authzen(self, request: dict[str, Any],
                       decide: Callable[[dict[str, Any]], Decision] | None = None) -> Decision:
        """Decide an AuthZEN Access Evaluation (by `decide`, default this set's: a ledger's decider passes its
        own). Raises RequestError naming AuthZEN fields."""
        request = self.model.from_authzen(request)
        try:
            return (decide or self.decide)(request)
        except RequestError as error:
            raise self.model.authzen_error(error) from None

    def evaluate(self, request: dict[str, Any], env: dict[str, Any]) -> Outcome:
        """This version's decision for a request already checked (`env`: what its conditions read, from
        `checked`). Not a way in for a request: `select` chooses the version and checks it first."""
        memo = self.request_memo
        if memo is None:
            return self.model.outcome(self._index, request, env, self.vocabulary)
        key = memo.key(self.model.targets(request), env)
        if key is not None:
            found = memo.get(key)
            if found is not None:
                return found
        outcome = self.model.outcome(self._index, request, env, self.vocabulary)
        if key is not None:
            memo.keep(key, outcome)
        return outcome


class Selection:
    """A request admitted by a policy set: the version that decides it, why, and its decision, made once.

    `version` is None when no version was in force when the data was collected (§11): the request
    is then denied. `basis` is None when the set has no earlier versions and the request gives no
    collection date: the response then has no `basis`, as before versions existed.
    """

    __slots__ = ("policy_set", "version", "basis", "request", "env", "outcome", "info")

    def __init__(self, policy_set: PolicySet, version: PolicySet | None, basis: str | None, request: dict[str, Any],
                 env: dict[str, Any]):
        self.policy_set = policy_set  # the set as served, every version in its history
        self.version = version
        self.basis = basis
        self.request = request
        self.env = env  # the request as the version's conditions read it (registers looked up)
        if version is None:
            reason = Reason(versions.NONE_IN_FORCE, "deny", "§11", f"{basis}; add that version under versions/")
            self.outcome = Outcome("deny", (reason,))
        else:
            self.outcome = version.evaluate(request, env)  # the decision without its id
        info = (version or policy_set).policy_info
        self.info = info if basis is None else {**info, "basis": basis}  # the response's `policy`

    def decide(self) -> Decision:
        """The outcome as a decision, with a new id."""
        return decision_of(self.outcome, self.info)

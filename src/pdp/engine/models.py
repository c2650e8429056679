"""What a policy set's requests are about: data use or AuthZEN, two implementations of one interface.

A policy set's header names its model (`model data_use`, the default, or
`model authzen`). The model is everything that differs between the two: the
request contract (`pdp.vocab.contract`, and from it the attributes rules
read), how a request is checked, which parts of it a register may fill in,
what the rule index narrows by, how the rules that apply make an outcome,
and how an AuthZEN Access Evaluation is put in the model's own terms. The
rest of pdp asks the model; nothing compares its name.

- `DataUse`: a request names an action, a purpose and data categories; the
  index narrows by all three, and every category needs an allow.
- `AuthZen`: any subject, action and resource; rules target actions only,
  so the index narrows by the action's name alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

from pdp.base.errors import Diagnostic, RequestError, did_you_mean, suggest
from pdp.lang import ast
from pdp.vocab import authzen
from pdp.vocab import request as rq
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from pdp.vocab.admit import Admission, admission
from pdp.vocab.contract import Contract
from .compiler import Candidates, CompiledRule, RuleIndex, RuleScan
from .decision import DEFAULT_DENY, Outcome, Reason, evaluate

Rules = RuleIndex | RuleScan


class Model(ABC):
    """What requests of one kind are, and how a policy set of that kind decides them."""

    name: str  # as the policy header names it: `model data_use`
    title: str  # the policy set, as messages name it
    contract: Contract  # what a request may say
    # The parts of a request a register may fill in (`lookup recipient in ...`), in the order hints list them:
    # the contract's parts named by an id (`Contract.entities`; a test holds them equal).
    lookup_roots: tuple[str, ...]
    # The AuthZEN Search API's searched parts and the request part whose register lists their candidates (a
    # `lookup` of that part): none, a data-use set lists no subjects or resources (its actions it declares).
    search_roots: ClassVar[dict[str, str]] = {}

    # What the whole-set analysis (pdp.analysis.space) reads of the model. The keys the rule index narrows by,
    # each where a request holds it: the space's cells are made of them (a kind a model's requests do not name
    # is one class, and no dimension of its solver).
    KEY_PATHS: ClassVar[dict[str, tuple[str, ...]]] = {}
    # What a request must state besides its keys (the contract requires it): the space never leaves it out
    REQUIRED: ClassVar[frozenset[tuple[str, ...]]] = frozenset()
    # Is a request naming a key its vocabulary lacks refused (or decided, as a deny)?
    REFUSES_UNKNOWN_KEYS: ClassVar[bool] = True

    @abstractmethod
    def skeleton(self, action: str, purpose: str, category: str) -> dict[str, Any]:
        """The least request of these keys the model's check accepts (the space adds the attributes it varies;
        a key of a kind the model's requests do not name is not read)."""

    @abstractmethod
    def candidates(self, rules: Rules, action: str, purpose: str, category: str) -> Candidates:
        """The rules that take part for a request of these keys (the space's cell): the rule index's candidates."""

    @property
    def names_data_use(self) -> bool:
        """Requests name a purpose and data categories (rules may target them; the decision space is about them)."""
        return self.contract.names_data_use

    def schema(self, vocabulary: tx.Vocabulary) -> dict[str, sch.Type]:
        """The attributes of a request, as the set's conditions read them."""
        return self.contract.schema(vocabulary.known)

    def shape(self, declared: rq.Declared, registered: dict[str, Iterable[str]]) -> rq.RequestShape:
        """The keys and declared attribute types a request is checked against."""
        return rq.DEFAULT_SHAPE

    # Raise RequestError naming what is wrong with a request (request, vocabulary, shape). A function, not a
    # method: on the hot path, the model's own checker is called with no call in between.
    check: Callable[[Any, tx.Vocabulary, rq.RequestShape], None]

    def admission(self, vocabulary: tx.Vocabulary, shape: rq.RequestShape) -> Admission | None:
        """The pre-validated fast path of `check` for a set (vocab/admit.py), or None: every request checked."""
        return None

    @abstractmethod
    def outcome(self, rules: Rules, request: dict[str, Any], env: dict[str, Any], vocabulary: tx.Vocabulary) -> Outcome:
        """The outcome of a checked request (`env`: what its conditions read) by these rules."""

    # the request's paths whose values `targets` holds (request_memo.py reads the others)
    TARGET_PATHS: frozenset[tuple[str, ...]] = frozenset()

    @abstractmethod
    def targets(self, request: dict[str, Any]) -> Hashable:
        """What of a checked request `outcome` reads besides its rules' conditions (request_memo.py's key)."""

    @abstractmethod
    def rules_for(self, rules: Rules, targets: Any) -> Iterable[CompiledRule]:
        """Every rule `outcome` may evaluate for a request with these targets: the rule index's candidates."""

    @abstractmethod
    def from_authzen(self, request: Any) -> Any:
        """An AuthZEN Access Evaluation as a request of this model (raises RequestError naming AuthZEN fields)."""

    def authzen_error(self, error: RequestError) -> RequestError:
        """An error about the request `from_authzen` made, naming the fields of the AuthZEN request."""
        return error


class DataUse(Model):
    name = "data_use"
    title = "a data-use policy set"
    contract = rq.CONTRACT
    lookup_roots = ("recipient", "data_subject", "requester")
    KEY_PATHS: ClassVar[dict[str, tuple[str, ...]]] = {
        "action": ("action",), "purpose": ("purpose",), "category": ("data_categories",)}

    def skeleton(self, action: str, purpose: str, category: str) -> dict[str, Any]:
        return {"action": action, "purpose": purpose, "data_categories": [category]}

    def candidates(self, rules: Rules, action: str, purpose: str, category: str) -> Candidates:
        return rules.candidates(action, purpose, category)

    def shape(self, declared: rq.Declared, registered: dict[str, Iterable[str]]) -> rq.RequestShape:
        return rq.request_shape(declared, registered)

    check = staticmethod(rq.check_request)

    def admission(self, vocabulary: tx.Vocabulary, shape: rq.RequestShape) -> Admission | None:
        return admission(rq.DecisionRequest, vocabulary, shape)

    def outcome(self, rules: Rules, request: dict[str, Any], env: dict[str, Any], vocabulary: tx.Vocabulary) -> Outcome:
        return evaluate(rules.deciding, request["action"], request["purpose"], request["data_categories"], env,
                        rules.outcomes)

    TARGET_PATHS = frozenset({("action",), ("purpose",), ("data_categories",)})

    def targets(self, request: dict[str, Any]) -> Hashable:
        return request["action"], request["purpose"], tuple(request["data_categories"])

    def rules_for(self, rules: Rules, targets: Any) -> Iterable[CompiledRule]:
        action, purpose, categories = targets
        for category in categories:
            found = rules.candidates(action, purpose, category)
            yield from (*found.denies, *found.allows, *found.partial)

    def from_authzen(self, request: Any) -> dict[str, Any]:
        authzen.check_evaluation(request)
        return authzen.to_data_use_request(request)

    def authzen_error(self, error: RequestError) -> RequestError:
        return authzen.rename_fields(error)


class AuthZen(Model):
    name = "authzen"
    title = "an AuthZEN policy set"
    contract = authzen.CONTRACT
    lookup_roots = ("subject", "resource")
    search_roots: ClassVar[dict[str, str]] = {"subject": "subject", "resource": "resource"}
    KEY_PATHS: ClassVar[dict[str, tuple[str, ...]]] = {"action": ("action", "name")}
    REQUIRED = frozenset({("subject", "type"), ("subject", "id"), ("resource", "type"), ("resource", "id")})
    REFUSES_UNKNOWN_KEYS = False  # an unknown action is a deny (`outcome`), not a refused request

    def skeleton(self, action: str, purpose: str, category: str) -> dict[str, Any]:
        # the required ids and types, as placeholders (a rule or lookup that reads them makes them dimensions)
        return {"subject": {"type": "user", "id": "any"}, "action": {"name": action},
                "resource": {"type": "resource", "id": "any"}}

    def candidates(self, rules: Rules, action: str, purpose: str, category: str) -> Candidates:
        return rules.for_action(action)

    check = staticmethod(authzen.check_evaluation)  # the shape alone: no vocabulary (an unknown action is a deny)

    def outcome(self, rules: Rules, request: dict[str, Any], env: dict[str, Any], vocabulary: tx.Vocabulary) -> Outcome:
        action = request["action"]["name"]
        if action not in vocabulary.actions:
            # A typo must not pass for a considered deny: say what was meant.
            close = suggest(action, vocabulary.actions)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            return Outcome("deny", (Reason("unknown.action", "deny", None, f"unknown action `{action}`{hint}"),))
        # the action is what needs an allow
        outcome = evaluate(rules.deciding_for_action, action, None, (action,), env, rules.outcomes)
        if outcome.reasons and outcome.reasons[0].rule == DEFAULT_DENY:
            reason = Reason(DEFAULT_DENY, "deny", None, f"no rule allows `{action}` on this resource")
            return Outcome("deny", (reason,))
        return outcome

    TARGET_PATHS = frozenset({("action", "name")})

    def targets(self, request: dict[str, Any]) -> Hashable:
        name: Hashable = request["action"]["name"]
        return name

    def rules_for(self, rules: Rules, targets: Any) -> Iterable[CompiledRule]:
        found = rules.for_action(targets)
        return (*found.denies, *found.allows, *found.partial)

    def from_authzen(self, request: Any) -> Any:
        return request  # checked as every request of the set is, when it is decided


DATA_USE, AUTHZEN = DataUse(), AuthZen()
MODELS: dict[str, Model] = {m.name: m for m in (DATA_USE, AUTHZEN)}
DEFAULT = DATA_USE


def named(name: str) -> Model:
    """The model a header names (an unknown name is reported by `model_of`; the default stands in for it)."""
    return MODELS.get(name, DEFAULT)


def model_of(headers: list[ast.Header]) -> tuple[Model, list[Diagnostic]]:
    """The model of a policy set (its first header's), and an error for each header naming no model."""
    errors = []
    for header in headers:
        if header.model not in MODELS:
            listed = ", ".join(f"`{n}`" + (" (the default)" if m is DEFAULT else "") for n, m in MODELS.items())
            errors.append(Diagnostic("bad-model", f"unknown model `{header.model}`", header.span,
                                     did_you_mean(header.model, MODELS) or f"models: {listed}"))
    return (named(headers[0].model) if headers else DEFAULT), errors

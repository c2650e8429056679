"""The pipeline as code: sources -> parse -> check -> compile -> PolicySet.

`build` is pure: it takes the texts of a policy set (the loader reads them
from disk) and returns a PolicySet ready to decide, or raises PolicyError
with every problem found.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path, PurePosixPath
from dataclasses import dataclass, field

from pdp.lang import ast
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from pdp.lang.checker import CheckContext, check_policy_set
from .compiler import CompiledRule, Obligation, RuleIndex, RuleScan, compile_rules
from . import versions
from pdp.vocab.authzen import check_evaluation, rename_fields, to_data_use_request
from .decision_id import new_decision_id
from .decision import DEFAULT_DENY, EVALUATION_ERROR, Outcome, Reason, evaluate
from pdp.base.errors import Diagnostic, PolicyError, RequestError, suggest
from pdp.lang.parser import parse_policy
from .registers import compile_lookups, data_key_problems
from pdp.vocab.request import DEFAULT_SHAPE, apply_lookups, check_request, request_shape
from pdp.base.source import Span
from pdp.vocab.vocabulary import extend_vocabulary
from pdp.base.yamlpos import YamlSyntaxError, load_located

log = logging.getLogger("pdp")


@dataclass(frozen=True)
class Sources:
    """The texts of one policy set, by path relative to its directory."""

    policies: dict[str, str]
    vocabulary: tuple[str, str] | None = None  # (path, text)
    data: dict[str, str] = field(default_factory=dict)  # path -> YAML text; data.<stem>
    root: str = ""  # the directory the paths start with, as they name it ("" when they are bare)

    def digest(self) -> str:
        """The same files give the same digest, wherever pdp runs from (paths count below the root)."""
        h = hashlib.sha256()
        every = self.texts()
        for path in sorted(every, key=self._below_root):
            h.update(self._below_root(path).encode() + b"\0" + every[path].encode() + b"\0")
        return "sha256:" + h.hexdigest()

    def _below_root(self, path: str) -> str:
        if not self.root:
            return path
        try:
            return PurePosixPath(Path(path).relative_to(self.root)).as_posix()
        except ValueError:
            return path

    def texts(self) -> dict[str, str]:
        every = dict(self.policies)
        every.update(self.data)
        if self.vocabulary:
            every[self.vocabulary[0]] = self.vocabulary[1]
        return every


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    policy: dict
    decision_id: str

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": [o.to_dict() for o in self.obligations],
            "policy": dict(self.policy),
            "decision_id": self.decision_id,
        }


class PolicySet:
    """A compiled policy set: decide many times."""

    def __init__(self, header: ast.Header, rules: tuple[CompiledRule, ...], vocabulary: tx.Vocabulary,
                 lookups: tuple, data: dict, digest: str, files: tuple[ast.PolicyFile, ...],
                 warnings: tuple[Diagnostic, ...], index: bool = True, directory=None, sources: Sources | None = None):
        self.name = header.name
        self.version = header.version
        self.effective = header.effective
        self.title = header.title
        self.model = header.model
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
        self.request_shape = DEFAULT_SHAPE  # known keys and declared attribute types, checked in every request
        self._lookups = lookups
        self._candidates = (RuleIndex(rules) if index else RuleScan(rules)).candidates
        self._policy_info = {"name": self.name, "version": self.version, "digest": digest}
        self.history: tuple[PolicySet, ...] = (self,)  # every version, oldest first (loader adds older ones)

    @property
    def info(self) -> dict:
        return dict(self._policy_info)

    def select(self, request: dict) -> "Selection":
        """The one way in for a request: which version decides it (§11) and why, the request checked
        against that version, and what its conditions read. decide, explain, coverage, the test runner
        and the server all start here, so they cannot disagree on the version. Raises RequestError."""
        if len(self.history) == 1 and not (isinstance(request, dict) and "collected_at" in request):
            return Selection(self, self, None, request, self._checked(request))
        chosen, basis = versions.select(self.history, request)
        return Selection(self, chosen, basis, request, (chosen or self)._checked(request))

    def _checked(self, request) -> dict:
        """Check a request as this version reads it (raises RequestError) -> what its conditions read."""
        if self.model == "authzen":
            check_evaluation(request)
        else:
            check_request(request, self.vocabulary, self.request_shape)
        return apply_lookups(request, self._lookups) if self._lookups else request

    def outcome(self, request: dict) -> Outcome:
        """The decision without its id, by the version the request selects: what tests and comparisons use."""
        return self.select(request).outcome

    def decide(self, request: dict) -> Decision:
        """Decide one request (a dict shaped as the contract's JSON). Raises RequestError if it is malformed."""
        return self.select(request).decide()

    def decide_many(self, requests: list[dict]) -> list[Decision]:
        return [self.decide(r) for r in requests]

    def decide_authzen(self, request: dict) -> Decision:
        """Decide an AuthZEN Access Evaluation. Raises RequestError naming AuthZEN fields."""
        if self.model != "authzen":
            check_evaluation(request)
            try:
                return self.decide(to_data_use_request(request))
            except RequestError as error:
                raise rename_fields(error) from None
        return self.select(request).decide()

    def _evaluate(self, request: dict, env: dict) -> Outcome:
        """This version's decision for a request already checked (`env`: what its conditions read)."""
        if self.model == "authzen":
            return self._authzen_outcome(request, env)
        return evaluate(self._candidates, request["action"], request["purpose"], request["data_categories"], env)

    def _authzen_outcome(self, request: dict, env: dict) -> Outcome:
        action = request["action"]["name"]
        if action not in self.vocabulary.actions:
            # A typo must not pass for a considered deny: say what was meant.
            close = suggest(action, self.vocabulary.actions)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            return Outcome("deny", (Reason("unknown.action", "deny", None, f"unknown action `{action}`{hint}"),))
        outcome = evaluate(self._candidates, action, "", ("",), env)
        if outcome.reasons and outcome.reasons[0].rule == DEFAULT_DENY:
            reason = Reason(DEFAULT_DENY, "deny", None, f"no rule allows `{action}` on this resource")
            return Outcome("deny", (reason,))
        return outcome


class Selection:
    """A request admitted by a policy set: the version that decides it, why, and its decision, made once.

    `version` is None when no version was in force when the data was collected (§11): the request
    is then denied. `basis` is None when the set has no earlier versions and the request gives no
    collection date: the response then has no `basis`, as before versions existed.
    """

    __slots__ = ("policy_set", "version", "basis", "request", "env", "outcome", "info")

    def __init__(self, policy_set: PolicySet, version: PolicySet | None, basis: str | None, request: dict, env: dict):
        self.policy_set = policy_set  # the set as served, every version in its history
        self.version = version
        self.basis = basis
        self.request = request
        self.env = env  # the request as the version's conditions read it (registers looked up)
        if version is None:
            reason = Reason(versions.NONE_IN_FORCE, "deny", "§11", f"{basis}; add that version under versions/")
            self.outcome = Outcome("deny", (reason,))
        else:
            self.outcome = version._evaluate(request, env)  # the decision without its id
        info = (version or policy_set)._policy_info
        self.info = info if basis is None else {**info, "basis": basis}  # the response's `policy`

    def decide(self) -> "Decision":
        """The outcome as a decision, with a new id."""
        return _decision(self.outcome, self.info)


def _decision(outcome: Outcome, policy_info: dict) -> Decision:
    """The outcome as a decision with its id; a rule that could not be evaluated is also logged."""
    for reason in outcome.reasons:
        if reason.effect == EVALUATION_ERROR:
            log.warning("policy %s %s: rule %s failed closed, the request is denied: %s",
                        policy_info.get("name"), policy_info.get("version"), reason.rule, reason.message)
    return Decision(outcome.decision, outcome.reasons, outcome.obligations, policy_info, new_decision_id())


def build(sources: Sources, index: bool = True, directory=None) -> PolicySet:
    diagnostics: list[Diagnostic] = []
    files: list[ast.PolicyFile] = []
    for path in sorted(sources.policies):
        parsed, errors = parse_policy(sources.policies[path], path)
        files.append(parsed)
        diagnostics += errors

    vocabulary = tx.Vocabulary.default()
    declared_attributes: dict[str, sch.Type] = {}
    if sources.vocabulary:
        vocabulary, declared_attributes, errors = extend_vocabulary(vocabulary, sources.vocabulary[1], sources.vocabulary[0])
        diagnostics += errors

    data: dict = {}
    located: dict = {}  # stem -> the document with positions, for errors in registers
    for path in sorted(sources.data):
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        try:
            located[stem] = load_located(sources.data[path], path)
        except YamlSyntaxError as error:
            diagnostics.append(Diagnostic("data", error.message, error.span, error.hint))
            continue
        data[stem] = located[stem].value
        diagnostics += data_key_problems(located[stem])

    headers = [h for f in files for h in f.headers]
    model = headers[0].model if headers else "data_use"
    schema = sch.authzen_schema() if model == "authzen" else sch.request_schema(vocabulary.consent_topics)
    for dotted, typ in declared_attributes.items():
        schema = sch.with_attribute(schema, dotted, typ)
    schema["data"] = sch.type_of_value(data)
    lookups, errors = compile_lookups([lk for f in files for lk in f.lookups], data, located, schema, vocabulary)
    diagnostics += errors
    for lookup in lookups:  # a register's own attributes (a user's roles) are read like the request's
        record_type = sch.register_record_type(lookup.register)
        own = schema[lookup.root].field_map()
        extra = tuple((k, t) for k, t in record_type.field_map().items() if k not in own)
        schema[lookup.root] = sch.Type("map", fields=tuple(own.items()) + extra)

    diagnostics += check_policy_set(files, CheckContext(vocabulary, schema, model))
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise PolicyError(diagnostics, sources.texts())
    header = next(h for f in files for h in f.headers)
    rules = [rule for f in files for rule in f.rules]
    compiled = compile_rules(rules, data, vocabulary)
    policy_set = PolicySet(header, compiled, vocabulary, tuple(lookups), data, sources.digest(), tuple(files),
                           tuple(d for d in diagnostics if d.severity == "warning"), index, directory, sources)
    if model != "authzen":
        registered = {lk.root: {k for record in lk.register.values() if isinstance(record, dict) for k in record}
                      for lk in lookups}
        policy_set.request_shape = request_shape(
            tuple((tuple(path.split(".")), typ) for path, typ in declared_attributes.items()), registered)
    return policy_set


def no_policy_files(directory: str) -> PolicyError:
    return PolicyError([Diagnostic("no-policies", f"no policy files (*.pdp) in `{directory}`", Span(str(directory), 0, 0),
                                   "point pdp at a policy set directory, e.g. `policies`")])

"""The `Space` class: builds the dimensions, groups the cells, enumerates the components, decides and describes."""

from __future__ import annotations

import copy
import itertools
import operator
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from pdp.vocab import taxonomy as tx
from pdp.engine.compiler import CompiledRule
from pdp.lang import ast
from pdp.base.dates import day_of
from pdp.base.paths import set_at, value_at
from pdp.engine.conditions import MISSING, compile_test, failure, item_key
from pdp.engine.requested import ALL, SOME, Keys, reads_requested_key
from pdp.engine.decision import Outcome, Reason, combine
from pdp.base.errors import RequestError
from pdp.vocab.request import apply_lookups
from .cells import Cell, Component, Group, Klass, Node, State, Stats
from .domains import (EXAMPLE_COUNTRIES, AttrDomain, ValueClass, chain_classifiers, number_classes,
                      SCALAR_KINDS, show_value, string_classes, type_at, unregistered_id, value_kinds)
from .keys import KeyClass, key_classes
from .model_keys import KINDS, declared_keys, is_cell, key_of, kinds_read, known_keys, names, part_of
from .templated import TooManyPaths
from .reading import (AttributeUses, atoms, connected_groups, pairs_requested, read_paths, rule_conditions,
                      searched_note, timed_paths, unread_message, untabled, with_entries)

PROBE, POSSIBLE = "probe", "possible"  # slot kinds beside a version's rules: a probe; a partial allow (Group.partial)
DEFAULT_LIMIT = 2_000_000  # assignments one component may have before the space gives up
LIST_CLASSES = 64  # classes of lists a searched list may take (every set of its values' classes), at most
COLLECTED_AT = ("collected_at",)
A_DATE = "2026-01-01"  # the representative of a class of dates (the solver chooses the day: space/timed.py)


# How a whole-set question is answered (query, diff, warnings): by enumerating the space (this module), by the
# solver (encoding.py), or (AUTO) by the enumeration when the space is small enough for it and the solver beyond
AUTO, ENUMERATION, SOLVER = "auto", "enumeration", "solver"
ENUMERATION_BUDGET = 100_000  # AUTO: partial requests the enumeration may take before the solver is asked
GROUPING_WORK = 2_000_000  # AUTO: cells x rules the grouping of the cells may cost before the solver is asked

# Switches of the enumeration's shortcuts (each off: the plain path, which tests/test_analysis_speed.py holds equal)
# a rule's table, and a component made of such tables, kept by the keys of the cell its conditions read (a rule
# reading `purpose` has one table per purpose class, whatever the action and category); False: one per whole cell
SHARED_TABLES = True
# a cell's group key made of parts worked out once: each cell test answered once per value of the keys it reads,
# the lists of the rule index's candidates once per candidates; False: every test and list for every cell
FACTORED_CELLS = True
# a rule's first test no table reads (`time_test_of`) looked for once per rule, not once per table; False: per table
KEPT_TIME_TESTS = True
# a component's assignments sorted into classes by their tables' answers (each table's answers read once for the
# assignments of its component's nodes), the states of an answer made once; False: the states made for every
# assignment
CLASSES_BY_ANSWERS = True


class SpaceTooLarge(Exception):
    """A component would need more assignments than the limit allows."""


class Space:
    """The decision space spanned by one or more versions of a policy set (and optional probe conditions).

    `versions` are ordered oldest first (a history, or OLD and NEW of a diff). `probes` are compiled
    rules whose conditions are tracked but take no part in decisions: a query's `--where` clauses,
    read as the last (current) version reads a request (its registers).

    With `obligations` (the default), the classes also tell apart what decides the obligations of an
    allowed broad request (the partial allows, `Candidates.partial`), so an outcome carries the
    engine's obligations, but for what an obligation's or advice's own condition (`if`) reads, which no
    class tells apart: such an obligation is carried as possibly due, such advice left out (decision.combine
    without a request). Decisions, all that `query` and `diff` compare, never depend on them. Without (the
    whole-set warnings, which compare which rules apply), the space
    is smaller, and an outcome carries only the obligations of the allows that apply.
    """

    def __init__(self, versions: Sequence, probes: Sequence[CompiledRule] = (), *,
                 purposes: Iterable[str] = (), categories: Iterable[str] = (), actions: Iterable[str] = (),
                 limit: int = DEFAULT_LIMIT, budget: int | None = None, obligations: bool = True):
        started = time.perf_counter()
        self.versions = tuple(versions)
        # what the requests are (data use or AuthZEN): where they hold their keys, what they must state
        self.model = self.versions[-1].model
        if any(v.model is not self.model for v in self.versions):
            raise ValueError("the versions of a decision space are of one model (data use or AuthZEN)")
        self.probes = tuple(probes)
        self.obligations = obligations
        self.limit = limit
        self.budget = budget  # partial requests the whole enumeration may take (None: no cap)
        self.stats = Stats(cell_words=" x ".join(
            ("action", "purpose class", "category class")[i] for i, kind in enumerate(KINDS) if names(self.model, kind)))
        self.notes: set[str] = set()
        # attributes read as lists whose classes of lists are every set of their values' classes: a `has any of`
        # of one is decided by the classes (reading.compares_lists), of another it is left unread
        self.lists: set[tuple[str, ...]] = set()
        self.effects = [{r.id: r.effect for r in v.rules} for v in self.versions]
        self._messages: dict[tuple[int, str], str] = {}
        self._tables: dict = {}
        self._components: dict = {}
        self._uses = AttributeUses()
        self._group_of: dict[tuple[str, str, str], Group] = {}
        self._reads: dict[int, tuple[tuple[int, ...], bool]] = {}
        self._cell_keys: dict[int, Callable[[Cell], Any]] = {}  # id(rule) -> what of a cell its table depends on
        self._time_tests: dict[int, ast.Expr | None] = {}  # id(rule) -> time_test_of (KEPT_TIME_TESTS)
        self._by_kinds: list | None = None  # the cell tests by the kinds of key they read, with their answers
        # CLASSES_BY_ANSWERS: nodes -> their assignments, weights, refusals; (id(table), nodes) -> its answers
        self._by_nodes: dict[tuple[int, ...], tuple[list[tuple[int, ...]], list[int], list[list[bool]]]] = {}
        self._columns: dict[tuple[int, tuple[int, ...]], list] = {}
        for v in self.versions:
            for rule in v.rules:
                for e in rule_conditions(rule):
                    self._uses.add(e, v.data)
        for probe in self.probes:
            for e in rule_conditions(probe):
                self._uses.add(e, self.versions[-1].data)  # probes read the request as the current version does
        self.notes |= self._uses.notes
        self._key_dimensions(purposes, categories, actions)
        self._attribute_nodes()
        self._grouped: list[Group] | None = None
        self.stats.seconds = time.perf_counter() - started

    def node_of(self, parts: tuple[str, ...]) -> int | None:
        """The node (index in `nodes`) an attribute path is a dimension of, if any."""
        return self._node_of.get(parts)

    @property
    def refusing(self) -> list[int]:
        """The nodes some version refuses a choice of (an `except` of its lookup), read by a rule or not."""
        return self._refusing

    def cheap_to_group(self, work: int = GROUPING_WORK) -> bool:
        """Is walking every cell (`groups`: every action x purpose class x category class, against the rules)
        cheap enough for the enumeration to be tried (AUTO)? Counted, not timed."""
        cells = len(self.actions) * len(self.purposes) * len(self.categories)
        return cells * (1 + sum(len(v.rules) for v in self.versions) + len(self.probes)) <= work

    @property
    def groups(self) -> list[Group]:
        """The cells grouped by the rules that cover them: walked on first use (every cell; the solver's
        encoding, space/encoding.py, needs the dimensions only)."""
        if self._grouped is None:
            started = time.perf_counter()
            self._cell_atoms = self._compile_cell_atoms()
            self._grouped = self._groups()
            self.stats.cells = sum(len(g.cells) for g in self._grouped)
            self.stats.groups = len(self._grouped)
            self.stats.seconds += time.perf_counter() - started
        return self._grouped

    # -- the vocabulary dimensions ---------------------------------------------------------

    def _key_dimensions(self, purposes, categories, actions) -> None:
        cover = {"action": set(actions), "purpose": set(purposes), "category": set(categories)}
        exact: dict[str, set[str]] = {"action": set(), "purpose": set(), "category": set()}
        for v in self.versions:
            for rule in v.rules:
                cover["action"] |= set(rule.actions or ())
                cover["purpose"] |= set(rule.purposes or ())
                cover["category"] |= set(rule.categories or ())
        # an action is matched exactly (`CompiledRule.reaches`): a named one is a class of its own, never one
        # with a key below it (an AuthZEN action may be dotted)
        exact["action"] |= cover["action"]
        for kind, parts in self.model.KEY_PATHS.items():
            use = self._uses.by_path.get(parts)
            if use is None:
                continue
            named = {v for v in use.literals if isinstance(v, str)} | {v for s in use.sets for v in s if isinstance(v, str)}
            cover[kind] |= set(use.under)
            # a request for a key above a compared key names it (requested.py, SOME): it tells them apart too
            cover[kind] |= named
            exact[kind] |= named
        universe = {kind: set().union(*(declared_keys(self.model, v.vocabulary)[kind] for v in self.versions))
                    for kind in KINDS}
        # per version, the keys it accepts (a request naming another is refused by it)
        self.known = [known_keys(self.model, v.vocabulary, universe) for v in self.versions]
        known = {kind: [k[kind] for k in self.known] for kind in KINDS}
        self.actions = key_classes("action", universe["action"], cover["action"], exact["action"], known["action"])
        self.purposes = key_classes("purpose", universe["purpose"], cover["purpose"], exact["purpose"],
                                    known["purpose"])
        self.categories = key_classes("category", universe["category"], cover["category"], exact["category"],
                                      known["category"])

    # -- the attribute dimensions ----------------------------------------------------------

    def _attribute_nodes(self) -> None:
        base = self.versions[-1]
        def known_to_all(classes, kind) -> str:
            # a key a version refuses would make every probed value look refused: the attribute lost its classes
            return next((c.rep for c in classes if all(c.rep in known[kind] for known in self.known)),
                        classes[0].rep)

        model = self.model
        probe_request = model.skeleton(
            *(known_to_all(classes, kind) for classes, kind in zip((self.actions, self.purposes, self.categories), KINDS)))
        # the attributes as the versions' conditions read them (a map's keys: those of any version's vocabulary)
        schema = model.contract.schema(lambda kind: frozenset().union(*(v.vocabulary.known(kind) for v in self.versions)))
        lookups: dict[str, list] = {}  # root -> per version its registers.CompiledLookup, or None
        sources: dict[str, str] = {}
        for i, v in enumerate(self.versions):
            for lk in v.lookups:
                lookups.setdefault(lk.root, [None] * len(self.versions))[i] = lk
                sources.setdefault(lk.root, lk.named)
                # refused for an unlisted id: a class of their own, and a dimension even when no rule reads the
                # attribute (the engine refuses such a request whatever the rules say: so must the space)
                for name, values in lk.excluded.items():
                    self._uses.use((lk.root, name)).literals |= set(values)

        every = frozenset(range(len(self.versions)))
        accepting: dict[tuple, frozenset[int]] = {}

        def accepted(parts, value) -> frozenset[int]:
            """The versions whose request check accepts the value (as the engine checks it): a value only some
            accept is refused by the others (their vocabularies type the attribute otherwise), a change of
            `pdp diff` like any other; one that none accepts is not in the space."""
            key = (parts, type(value), tuple(value) if isinstance(value, list) else value)
            found = accepting.get(key)
            if found is not None:
                return found
            request = copy.deepcopy(probe_request)
            set_at(request, parts, value)
            ok = set()
            for i, v in enumerate(self.versions):
                try:
                    v.model.check(request, v.vocabulary, v.request_shape)
                except RequestError:
                    continue
                ok.add(i)
            found = accepting[key] = frozenset(ok)
            return found

        def valid(parts, value) -> bool:
            return bool(accepted(parts, value))

        # an attribute the versions type otherwise is refused by some for values the others accept, read by a
        # rule or not: an attribute of the space, of every kind of value (its classes then say who refuses them)
        for parts in _typed_otherwise(self.versions):
            if parts not in self._uses.by_path:
                self._uses.use(parts).needs_kind = True

        # attributes compared with each other share their constants, and get one value per attribute of the
        # group in each class, so that any two can be equal or apart (and in either order)
        self._pair_groups = connected_groups(self._uses.pairs)
        for group in self._pair_groups:
            # a looked-up attribute compared with another (`resource.owner == subject.email`): the register's values
            # are constants of the group, so that the other can equal each (the register gives them, not the caller)
            for parts in group:
                for entry in lookups.get(parts[0], ()) if len(parts) > 1 else ():
                    if entry is not None and parts[1:] == ("id",):  # the id itself: each listed one, and one not
                        self._uses.use(parts).literals.update(entry.register)
                        self._uses.use(parts).literals.add(unregistered_id(
                            set(entry.register) | set().union(*(self._uses.use(p).literals for p in group))))
                        continue
                    for record in (entry.register.values() if entry else ()):
                        value = value_at(record, parts[1:]) if isinstance(record, dict) else None
                        if isinstance(value, (str, int, float)):
                            self._uses.use(parts).literals.add(value)
        for group in self._pair_groups:
            uses = [self._uses.use(p) for p in group]
            literals = set().union(*(u.literals for u in uses))
            ordered = set().union(*(u.ordered for u in uses))
            sets = set().union(*(u.sets for u in uses))
            written = set().union(*(u.templates for u in uses))  # a path one matches, the other may hold
            for u in uses:
                u.literals, u.ordered, u.sets, u.templates = set(literals), set(ordered), set(sets), set(written)
        paired_extra = {p: len(g) - 1 for g in self._pair_groups for p in g}
        for root in lookups:
            if any(p[0] == root for p in self._uses.by_path if not is_cell(model, p)):
                self._uses.use((root, "id"))
        paths = sorted(p for p in self._uses.by_path if not is_cell(model, p))
        for p in paths:
            if any(q != p and q[: len(p)] == p for q in paths):
                self.notes.add(f"`{'.'.join(p)}` is read both whole and by its parts: sampled, not exhausted")

        domains: dict[tuple[str, ...], AttrDomain] = {}
        refused_by: dict[tuple[str, ...], list[frozenset[int]]] = {}  # per class: the versions that refuse it
        register_signature: dict[str, Callable] = {}
        for root, per_version in lookups.items():
            register_signature[root] = self._register_signature(root, per_version, paths, domains)
        # the id of a looked-up part is built last: its classes depend on the other attributes' classes
        ordered_paths = sorted(paths, key=lambda p: (p[0] in lookups and p[1:] == ("id",), p))
        types = {parts: type_at(schema, parts, base, lookups) for parts in paths}
        declared_dates = {(part, name) for v in self.versions for part, named in v.request_shape.types.items()
                          for name, t in named.items() if t.kind == "date"}
        declared_dates |= {parts for v in self.versions for parts, t in v.request_shape.deep if t.kind == "date"}
        self.dated = frozenset(p for p, t in types.items() if (t is not None and t.kind == "date") or p in declared_dates)
        # the attributes that hold dates as the conditions read them: the solver gives each a date of its own
        conditions = ([e for v in self.versions for r in v.rules for e in rule_conditions(r)]
                      + [e for p in self.probes for e in rule_conditions(p)])
        self.timed = timed_paths(conditions, self.dated) & set(paths)
        # attributes whose templates (`matches`) are too many to tell apart (templated.WALK_LIMIT), and why: their
        # tests are read by no table, as a test of time the solver does not read (time_test_of)
        self.untold: dict[tuple[str, ...], str] = {}
        kinds_of = {parts: value_kinds(self._uses.by_path[parts], types[parts]) for parts in paths}
        for group in self._pair_groups:  # compared with each other: each may hold what the other holds
            joined = set().union(*(kinds_of.get(p, set()) for p in group))
            if not joined:  # nothing but each other fixes their kind: read as presence alone, they would be one
                joined = set(SCALAR_KINDS)  # value, always equal (`a != b` never true); values a check refuses drop out
            for p in group:
                kinds_of[p] = joined
        for parts in ordered_paths:
            use = self._uses.by_path[parts]
            typ = types[parts]
            extra = paired_extra.get(parts, 0)
            check = (lambda ps: (lambda value: valid(ps, value)))(parts)
            as_list = use.listed and not (parts[0] in lookups and parts[1:] == ("id",))
            # a list's values are classed as the items it may hold (a type `list` refuses them alone: they drop out
            # after the classes of lists are made of them)
            item_check = (lambda accepts: (lambda value: accepts(value) or accepts([value])))(check) if as_list else check
            classes: list[ValueClass] = [ValueClass(MISSING, "absent", "is absent")]
            classifiers: list[tuple[int, Callable]] = []
            kinds = kinds_of[parts]
            literals = use.literals | {v for s in use.sets for v in s}
            if "number" in kinds:
                found, classify = number_classes(use, item_check, extra)
                classifiers.append((len(classes), classify))
                classes += found
            if "bool" in kinds:
                offset = len(classes)
                classes += [ValueClass(b, "bool", f"is {'true' if b else 'false'}", (), True)
                            for b in (True, False) if item_check(b)]
                reps = [c.rep for c in classes[offset:]]
                classifiers.append((offset, lambda x, reps=reps: reps.index(x)
                                    if isinstance(x, bool) and x in reps else -1))
            fresh = None
            if "string" in kinds:
                universe = None
                prefer: Sequence[str] = ()
                if typ is not None and typ.vocab is not None:
                    universe = sorted(set().union(*(v.vocabulary.known(typ.vocab) for v in self.versions)))
                    prefer = EXAMPLE_COUNTRIES if typ.vocab == tx.COUNTRY else ()
                extra_sig = None
                if parts[0] in lookups and parts[1:] == ("id",):
                    registered = set().union(*(set(p.register) for p in lookups[parts[0]] if p))
                    universe = sorted(set(universe or ()) | {v for v in literals if isinstance(v, str)} | registered)
                    fresh = unregistered_id(universe)
                    universe.append(fresh)
                    extra_sig = register_signature[parts[0]]
                if len(self.versions) > 1:  # a text some version refuses is never in the class of one it accepts
                    extra_sig = (lambda ps, sig: (lambda v: (sig(v) if sig else ()) + (accepted(ps, v),)))(
                        parts, extra_sig)
                try:
                    found, classify = string_classes(use, universe, item_check, extra, extra_sig, prefer)
                except TooManyPaths as error:
                    self.untold[parts] = str(error)
                    use.templates = set()
                    found, classify = string_classes(use, universe, item_check, extra, extra_sig, prefer)
                classifiers.append((len(classes), classify))
                classes += found
            if as_list:
                # `x in attribute` needs a list (a text there fails the test, closed). Whether a value is in it
                # depends only on which classes of values it holds: every set of classes is a class of lists,
                # while there are few (`LIST_CLASSES`); beyond, the empty list and one value of each class, and
                # `Space.notes` says so
                items = list(range(1, len(classes)))
                exhaustive = 2 ** len(items) <= LIST_CLASSES
                held = [combo for n in (range(len(items) + 1) if exhaustive else range(2))
                        for combo in itertools.combinations(items, n)]
                item_of = chain_classifiers(list(classifiers))
                offset = len(classes)
                kept = [(combo, [classes[i].rep for i in combo]) for combo in held]
                kept = [(combo, value) for combo, value in kept if check(value)]
                classes += [ValueClass(value, "list", "is an empty list" if not combo else
                                       f"is a list of values that {', '.join(classes[i].label for i in combo)}")
                            for combo, value in kept]
                positions = {combo: n for n, (combo, _) in enumerate(kept)}
                # an item of a kind no class holds (a number where only texts are compared, a map) equals no value
                # a test compares the list with: it is in the list as a value of a class of such values is
                foreign = next((i for i in items if not classes[i].singleton
                                and all(item_key(classes[i].rep) != item_key(v) for v in literals)), -1)

                def list_class(x, item_of=item_of, positions=positions, foreign=foreign) -> int:
                    if not isinstance(x, list):
                        return -1
                    held = {item_of(v) for v in x}
                    return positions.get(tuple(sorted({foreign if n < 0 else n for n in held})), -1)

                classifiers.append((offset, list_class))
                if exhaustive and parts not in paired_extra:  # (paired: the other's values are sampled)
                    self.notes.discard(searched_note(parts))
                    if not use.unlisted and not (parts in self.timed and parts in self.dated):
                        self.lists.add(parts)
                refused = {i for i in range(1, offset) if not check(classes[i].rep)}
                if refused:  # values a list's item may be but the attribute may not (a text where `list` is typed)
                    whole = chain_classifiers(classifiers)
                    moved = {old: new for new, old in enumerate(i for i in range(len(classes)) if i not in refused)}
                    classes = [c for i, c in enumerate(classes) if i not in refused]
                    classifiers = [(0, lambda x, whole=whole, moved=moved: moved.get(whole(x), -1))]
            if parts in self.timed and parts in self.dated:  # a date is all it may hold (the texts it shares
                classes, classifiers = classes[:1], []        # with an attribute it is compared with are refused)
            only_presence = len(classes) == 1
            if parts in self.timed and check(self.a_date(parts)):
                # an attribute a test of time reads: any date is one class (before the classes of the texts it is
                # compared with), its day the solver's to choose (space/timed.py)
                classifiers.insert(0, (len(classes), lambda x: 0 if day_of(x) is not None else -1))
                classes.append(ValueClass(self.a_date(parts), "string",
                                          "is present" if parts in self.dated else "is a date", (), False, True))
                only_presence = only_presence and parts not in self.dated  # (a date is all it may hold)
            if only_presence:  # only tested for presence: any value will do (a date, where only a date is)
                offset = len(classes)
                for value in (self.a_date(parts),) if parts in self.dated else ("present", True, 1):
                    if check(value):
                        classes.append(ValueClass(value, "string" if isinstance(value, str) else "bool",
                                                  "is present", (), False))
                        break
                classifiers.append((offset, lambda x: 0))
            domains[parts] = AttrDomain(parts, classes, chain_classifiers(classifiers))
            # absent is refused where the contract requires the attribute (an AuthZEN request's ids and types)
            refused_by[parts] = [(every if parts in model.REQUIRED else frozenset()) if i == 0
                                 else every - accepted(parts, c.rep) for i, c in enumerate(classes)]
            if parts[0] in lookups and parts[1:] == ("id",):
                self._label_register_ids(domains[parts], lookups[parts[0]], sources.get(parts[0], "the register"),
                                         fresh)
        self.domains = domains
        for parts in paths:  # a list only the register gives is read whole, id by id (its signature): not sampled
            entries = lookups.get(parts[0], ())
            if len(parts) > 1 and entries and all(e is not None and parts[1] not in e.request_wins
                                                  and parts[1] not in e.described for e in entries):
                self.notes.discard(searched_note(parts))

        nodes: list[Node] = []
        self._node_of: dict[tuple[str, ...], int] = {}
        for root in sorted(lookups):
            members = tuple(domains[p] for p in paths if p[0] == root)
            if not members:
                continue
            nodes.append(self._lookup_node(root, members, lookups[root], [refused_by[d.path] for d in members]))
            for d in members:
                self._node_of[d.path] = len(nodes) - 1
        for parts in paths:
            if parts in self._node_of:
                continue
            d = domains[parts]
            nodes.append(Node(d.dotted, (d,), [(i,) for i in range(len(d))], [frozenset()] * len(d),
                              list(refused_by[parts]) if any(refused_by[parts]) else []))
            self._node_of[parts] = len(nodes) - 1
        self.nodes = nodes
        self._refusing = [n for n, node in enumerate(nodes) if any(node.refused)]  # refused by some version
        self._present = [[node.present(c) for c in range(len(node.choices))] for node in nodes]

    def _register_signature(self, root: str, per_version: list, paths, domains) -> Callable[[str], tuple]:
        fields = [p for p in paths if p[0] == root and len(p) > 1 and p[1:] != ("id",)]

        def signature(ident: str) -> tuple:
            sig: list[tuple | None] = []
            for entry in per_version:
                record = entry.register.get(ident) if entry else None
                if not isinstance(record, dict):
                    sig.append(None)
                    continue
                values = []
                for f in fields:
                    value: Any = record
                    for part in f[1:]:
                        value = value.get(part) if isinstance(value, dict) else None
                    domain = domains.get(f)
                    cls: Any = domain.classify(value) if domain is not None else 0
                    if domain is not None and isinstance(value, list):
                        # a list (`"admin" in subject.roles`): the classes of its items, in order, tell ids apart
                        # (the rules read the register's own list, so the class of each id is exact)
                        cls = ("list", tuple(domain.classify(item) for item in value))
                    values.append((cls, f[1] not in entry.request_wins))
                sig.append(tuple(values))
            return tuple(sig)

        return signature

    def _label_register_ids(self, domain: AttrDomain, per_version: list, source: str, fresh: str | None) -> None:
        registered = set().union(*(set(p.register) for p in per_version if p))
        for cls in domain.classes[1:]:
            if cls.rep in registered:
                members = cls.members or (cls.rep,)
                cls.label = f"in [{', '.join(show_value(m) for m in members)}]" if cls.members else \
                    f"is an id of {source} like {show_value(cls.rep)}"
                cls.singleton = False
            elif cls.rep == fresh:
                cls.label = f"is an id {source} does not list"
                cls.singleton = False

    def _lookup_node(self, root: str, members: tuple[AttrDomain, ...], per_version: list,
                     refused_by: list[list[frozenset[int]]]) -> Node:
        """The joint values of a looked-up part: for each id class, what the request may still say.

        The engine's rule (`apply_lookups`): a listed id takes the register's
        attributes, and the request only those `request wins for` names; an
        unlisted id (or none) keeps only those `if unlisted, request states`
        names. Whatever else the request says is ignored: those attributes
        are `free` (any value will do). A value an `except` names is refused
        for an unlisted id by the versions whose lookup names it: a choice
        that holds it is refused by those versions (`Node.refused`) and
        decided by the others; one every version refuses is left out.
        """
        id_pos = next(i for i, d in enumerate(members) if d.path[1:] == ("id",))
        choices, free, refusing = [], [], []
        every = frozenset(range(len(per_version)))
        for id_class in range(len(members[id_pos])):
            ident = members[id_pos].classes[id_class].rep
            ignored: set[int] | None = None  # members every version ignores for this id
            refused: list[set[tuple[int, int]]] = [set() for _ in per_version]  # per version: (member, class)
            for version, entry in enumerate(per_version):
                if entry is None:
                    ignored = set()
                    continue
                listed = isinstance(ident, str) and isinstance(entry.register.get(ident), dict)
                kept = entry.request_wins if listed else entry.described
                names = {i for i, d in enumerate(members) if i != id_pos and d.path[1] not in kept}
                ignored = names if ignored is None else ignored & names
                if not listed:
                    for i, d in enumerate(members):
                        bad = entry.excluded.get(d.path[1], ()) if len(d.path) == 2 else ()
                        refused[version] |= {(i, c) for c, cls in enumerate(d.classes)
                                             if any(type(cls.rep) is type(v) and cls.rep == v for v in bad)}
            fixed = ignored or set()
            # an ignored attribute is left out, or, where the contract requires it, takes its first accepted value
            ranges = [[id_class] if i == id_pos
                      else [next((c for c, by in enumerate(refused_by[i]) if by != every), 0)] if i in fixed
                      else list(range(len(d)))
                      for i, d in enumerate(members)]
            for combo in itertools.product(*ranges):
                by = frozenset(v for v, pairs in enumerate(refused) if any(p in pairs for p in enumerate(combo)))
                by = by.union(*(refused_by[i][c] for i, c in enumerate(combo)))  # a value its check refuses
                if by == every:
                    continue  # no version decides such a request
                choices.append(tuple(combo))
                free.append(frozenset(fixed))
                refusing.append(by)
        return Node(root, members, choices, free, refusing)

    # -- cells and groups ------------------------------------------------------------------

    def _compile_cell_atoms(self) -> list[tuple[tuple[int, ...], Callable[[dict], Any]]]:
        """The tests that read only the cell's keys, each with the kinds of key (KINDS) it reads."""
        tests = []
        seen = set()
        keys = [Keys.of(v.vocabulary) for v in self.versions]
        sources = [(v.data, k, rule_conditions(r)) for v, k in zip(self.versions, keys) for r in v.rules]
        sources += [(self.versions[-1].data, keys[-1], rule_conditions(p)) for p in self.probes]
        for data, vocabulary_keys, conditions in sources:
            for e in conditions:
                # a test of a requested key against policy data looked up (`purpose under data.c[x]`): it tells cells
                # apart as the test of each value an entry holds does
                for atom in (a for found in atoms(e) for a in (found, *with_entries(found, data))):
                    read = read_paths([atom])
                    if read and all(is_cell(self.model, p) for p in read) and (atom, id(data), id(vocabulary_keys)) not in seen:
                        seen.add((atom, id(data), id(vocabulary_keys)))
                        kinds = kinds_read(self.model, read)
                        tests.append((kinds, compile_test(atom, data)))
                        if reads_requested_key(atom):
                            # a rule reads a broad key on one side or the other (requested.py): every reading
                            # tells cells apart
                            tests += [(kinds, compile_test(atom, data, side=s, keys=vocabulary_keys)) for s in (SOME, ALL)]
        return tests

    def _cell_signature(self, cell: Cell) -> tuple:
        """What the cell tests answer for the cell (two cells alike here and in their rules are one group)."""
        return _answers([test for _kinds, test in self._cell_atoms], cell.request())

    def _factored_signature(self, cell: Cell, reps: tuple[str, str, str]) -> tuple:
        """`_cell_signature` (FACTORED_CELLS) from the answers of the tests reading each combination of keys (of
        the cell's keys, `reps`), each worked out once per value of those keys: equal for two cells exactly when
        every test answers them alike."""
        if self._by_kinds is None:
            by_kinds: dict[tuple[int, ...], list] = {}
            for kinds, test in self._cell_atoms:
                by_kinds.setdefault(kinds, []).append(test)
            self._by_kinds = [(operator.itemgetter(*kinds) if kinds else (lambda reps: ()), tests, {})
                              for kinds, tests in by_kinds.items()]
        out = []
        for keys_of, tests, answered in self._by_kinds:
            key = keys_of(reps)
            found = answered.get(key)
            if found is None:
                found = answered[key] = _answers(tests, cell.request())
            out.append(found)
        return tuple(out)

    def cells(self) -> Iterator[Cell]:
        for a in self.actions:
            for p in self.purposes:
                for c in self.categories:
                    yield Cell(a, p, c, self.model)

    def _groups(self) -> list[Group]:
        groups: dict[tuple, Group] = {}
        known = [tuple(keys[kind] for kind in KINDS) for keys in self.known]
        # FACTORED_CELLS: id(candidates) -> the candidates and their lists as a group holds them (the index hands
        # the same candidates to the many cells of the same rules), each list made once for the rules it holds
        listed: dict[int, tuple] = {}
        made: dict[tuple, tuple] = {}
        versions = list(enumerate(zip(self.versions, known)))
        for cell in self.cells():
            a, p, c = cell.action.rep, cell.purpose.rep, cell.category.rep
            lists: list[tuple] = []
            for v, (version, (acts, purps, cats)) in versions:
                if a not in acts or p not in purps or c not in cats:
                    lists.append(_UNKNOWN)
                    continue
                found = version.candidates_for(a, p, c)
                hit = listed.get(id(found)) if FACTORED_CELLS else None
                if hit is None or hit[0] is not found:
                    hit = (found, self._lists_of(v, found, made if FACTORED_CELLS else None))
                    if FACTORED_CELLS:
                        listed[id(found)] = hit
                lists.append(hit[1])
            if FACTORED_CELLS:  # (a list is one object for the rules it holds: told apart by its identity)
                key: tuple = (tuple(map(id, lists)), self._factored_signature(cell, (a, p, c)))
            else:
                key = (tuple(ids for _rules, _partial, ids, _partial_ids in lists),
                       tuple(ids for _rules, _partial, _ids, ids in lists), self._cell_signature(cell))
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group([], tuple(rules for rules, _partial, _ids, _partial_ids in lists),
                                            partial=tuple(partial for _rules, partial, _ids, _partial_ids in lists))
            group.cells.append(cell)
            self._group_of[(a, p, c)] = group
        return list(groups.values())

    def _lists_of(self, version: int, found, made: dict[tuple, tuple] | None) -> tuple:
        """The candidates as a group holds them: its rules in policy order, its partial allows, and their ids; one
        object for the same rules of a version when `made` keeps them (two versions' rules of one id are not the
        same rules)."""
        rules = tuple(sorted(found.denies + found.allows, key=lambda r: r.order))
        partial = found.partial if self.obligations else ()
        entry = (rules, partial, tuple(r.id for r in rules), tuple(r.id for r in partial))
        if made is None:
            return entry
        return made.setdefault((version, entry[2], entry[3]), entry)

    def group_of(self, cell: Cell) -> Group:
        self.groups  # noqa: B018 - grouped on first use
        return self._group_of[(cell.action.rep, cell.purpose.rep, cell.category.rep)]

    # -- components ------------------------------------------------------------------------

    def slot_nodes_of(self, rule) -> tuple[tuple[int, ...], bool]:
        """The nodes a rule's conditions read, and whether they read the cell (action, purpose, categories)."""
        found = self._reads.get(id(rule))
        if found is None:
            read = read_paths(rule_conditions(rule))
            nodes = tuple(sorted({self._node_of[p] for p in read if p in self._node_of}))
            found = self._reads[id(rule)] = (nodes, any(is_cell(self.model, p) for p in read))
        return found

    def components(self, group: Group) -> list[Component]:
        """The independent components of a group, each with its classes (computed once, then kept)."""
        if group.components:
            return group.components
        slots: list = []  # (kind, rule): kind is a version number, (POSSIBLE, version) or (PROBE, index)
        for v, rules in enumerate(group.rules):
            for rule in rules or ():
                slots.append((v, rule))
        for v, rules in enumerate(group.partial):
            for rule in rules:
                slots.append(((POSSIBLE, v), rule))
        for i, probe in enumerate(self.probes):
            slots.append(((PROBE, i), probe))
        parent: dict[int, int] = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        slot_nodes = []
        for _kind, rule in slots:
            nodes, _ = self.slot_nodes_of(rule)
            slot_nodes.append(nodes)
            for n in nodes[1:]:
                parent[find(n)] = find(nodes[0])
        by_root: dict = {}
        for (kind, rule), nodes in zip(slots, slot_nodes):
            root = find(nodes[0]) if nodes else None
            by_root.setdefault(root, []).append((kind, rule))
        components = []
        for _root, members in sorted(by_root.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
            nodes = tuple(sorted({n for kind, rule in members for n in self.slot_nodes_of(rule)[0]}))
            components.append(self._component(group, nodes, members))
        # a node some version refuses a choice of (an `except`) decides whether that version decides at all, read
        # by a rule of the group or not: one that none reads is a component of its own, with no rules
        read = {n for nodes in slot_nodes for n in nodes}
        components += [self._component(group, (n,), []) for n in self.refusing if n not in read]
        if None not in by_root:
            components.insert(0, self._component(group, (), []))
        group.components = components
        represented = len(group.cells)
        for component in components:
            represented *= component.size
        self.stats.represented += represented
        self.stats.examined += len(group.cells)
        return components

    def enumerate(self) -> None:
        """Compute every group's components (the whole space)."""
        started = time.perf_counter()
        for group in self.groups:
            self.components(group)
        self.stats.seconds += time.perf_counter() - started

    def _component(self, group: Group, nodes: tuple[int, ...], slots: list) -> Component:
        cell = group.rep
        keyed = tuple((kind, id(rule), self._cell_key(rule, cell)) for kind, rule in slots)
        key = (nodes, keyed)
        found = self._components.get(key)
        if found is not None:
            return found
        size = 1
        for n in nodes:
            size *= len(self.nodes[n].choices)
        if size > self.limit:
            raise SpaceTooLarge(f"the decision space is too large: one rule group reads "
                                f"{', '.join(self.nodes[n].name for n in nodes)} together, {size:,} combinations "
                                f"(limit {self.limit:,})")
        if self.budget is not None and self.stats.enumerated + size > self.budget:
            raise SpaceTooLarge(f"the decision space is too large: more than {self.budget:,} partial requests")
        tables = []
        for (kind, rule), (_kind, _id, cell_key) in zip(slots, keyed):
            own, _ = self.slot_nodes_of(rule)
            positions = tuple(nodes.index(n) for n in own)
            tables.append((kind, rule, positions, self._table(kind, rule, cell, own, cell_key)))
        classes = (self._classes_by_answers if CLASSES_BY_ANSWERS else self._classes)(nodes, tables)
        self.stats.enumerated += size
        rule_ids = tuple(frozenset(rule.id for kind, rule in slots if kind == v) for v in range(len(self.versions)))
        component = Component(nodes, size, classes, rule_ids)
        self._components[key] = component
        return component

    def _classes(self, nodes: tuple[int, ...], tables: list) -> list[Klass]:
        """The component's assignments grouped into classes by what they do (the rules that apply, err, may apply
        in part; the probes' answers; whether each version refuses them), in the order first met."""
        classes: dict[tuple, Klass] = {}
        for assignment in itertools.product(*(range(len(self.nodes[n].choices)) for n in nodes)):
            answers = [table[tuple(assignment[i] for i in positions)] for _kind, _rule, positions, table in tables]
            k = self._states(nodes, tables, answers, assignment)
            klass = classes.get(k)
            if klass is None:
                classes[k] = Klass(k[0], k[1], [assignment], assignment)
            else:
                klass.members.append(assignment)
                if self.weight_of(nodes, assignment) < self.weight_of(nodes, klass.witness):
                    klass.witness = assignment
        return list(classes.values())

    def _classes_by_answers(self, nodes: tuple[int, ...], tables: list) -> list[Klass]:
        """`_classes` (CLASSES_BY_ANSWERS), each assignment looked up by its tables' answers: the states of an
        answer met before are not made again, and each table's answers to the assignments of these nodes are
        read once (`_column`), for every component of these nodes that holds the table."""
        every, weights, refusing = self._assignments(nodes)
        columns = [self._column(nodes, positions, table) for _kind, _rule, positions, table in tables] + refusing
        classes: dict[tuple, Klass] = {}
        by_answers: dict[tuple, Klass] = {}
        lightest: dict[int, int] = {}  # id(klass) -> its witness's weight
        for assignment, answers, weight in zip(every, zip(*columns) if columns else itertools.repeat(()), weights):
            klass = by_answers.get(answers)
            if klass is None:
                k = self._states(nodes, tables, answers, assignment)
                klass = classes.get(k)
                if klass is None:
                    klass = by_answers[answers] = classes[k] = Klass(k[0], k[1], [assignment], assignment)
                    lightest[id(klass)] = weight
                    continue
                by_answers[answers] = klass
            klass.members.append(assignment)
            if weight < lightest[id(klass)]:
                klass.witness = assignment
                lightest[id(klass)] = weight
        return list(classes.values())

    def _assignments(self, nodes: tuple[int, ...]) -> tuple[list[tuple[int, ...]], list[int], list[list[bool]]]:
        """The assignments of the nodes in order, their weights (`weight_of`), and per version whether it refuses
        each (only when some node has a choice a version refuses: `_refuses`); kept per nodes."""
        found = self._by_nodes.get(nodes)
        if found is None:
            every = list(itertools.product(*(range(len(self.nodes[n].choices)) for n in nodes)))
            weights = list(map(sum, itertools.product(*(self._present[n] for n in nodes))))
            refusing = [list(map(any, itertools.product(*([self.nodes[n].refuses(c, v) for c in range(
                len(self.nodes[n].choices))] for n in nodes)))) for v in range(len(self.versions))] \
                if any(self.nodes[n].refused for n in nodes) else []
            found = self._by_nodes[nodes] = (every, weights, refusing)
        return found

    def _column(self, nodes: tuple[int, ...], positions: tuple[int, ...], table: dict) -> list:
        """A table's answers to the nodes' assignments, in order (kept per table and nodes)."""
        key = (id(table), nodes)
        found = self._columns.get(key)
        if found is None:
            every = self._assignments(nodes)[0]
            if positions == tuple(range(len(nodes))):
                found = list(map(table.__getitem__, every))
            elif len(positions) == 1:
                one = {choice[0]: answer for choice, answer in table.items()}
                found = list(map(one.__getitem__, map(operator.itemgetter(positions[0]), every)))
            else:
                found = list(map(table.__getitem__, map(operator.itemgetter(*positions), every)))
            self._columns[key] = found
        return found

    def _states(self, nodes: tuple[int, ...], tables: list, answers: Sequence,
                assignment: tuple[int, ...]) -> tuple[tuple[State, ...], tuple]:
        """What an assignment does, from its tables' answers (in the order of `tables`): its state under each
        version, and the probes' answers."""
        versions = len(self.versions)
        applies: list[list[str]] = [[] for _ in range(versions)]
        errors: list[list[str]] = [[] for _ in range(versions)]
        possible: list[list[str]] = [[] for _ in range(versions)]
        probes = [None] * len(self.probes)
        for (kind, rule, _positions, _table), result in zip(tables, answers):
            if isinstance(kind, tuple):
                if kind[0] == PROBE:
                    probes[kind[1]] = result
                elif result is True:
                    possible[kind[1]].append(rule.id)
            elif result is True:
                applies[kind].append(rule.id)
            elif result == "error":
                errors[kind].append(rule.id)
        states = tuple(State(frozenset(applies[v]), frozenset(errors[v]), self._refuses(nodes, assignment, v),
                             frozenset(possible[v]))
                       for v in range(versions))
        return states, tuple(probes)

    def _refuses(self, nodes: Sequence[int], choices: Sequence[int], version: int) -> bool:
        """Does the version refuse a request that makes these choices of these nodes (Node.refused)?"""
        return any(self.nodes[n].refuses(c, version) for n, c in zip(nodes, choices))

    def weight_of(self, nodes, assignment) -> int:
        """How many attributes the request of an assignment carries (witnesses carry as few as they can)."""
        return sum(self._present[n][c] for n, c in zip(nodes, assignment))

    def a_date(self, parts: tuple[str, ...]) -> str:
        """The representative of an attribute's class of dates. `collected_at` also chooses the version that
        decides (§11): its representative is the latest effective date, on which every version of the space is
        in force, so that a request made of representatives is decided by the version it is asked of."""
        if parts == COLLECTED_AT:
            return max((v.effective for v in self.versions if v.effective), default=A_DATE)
        return A_DATE

    def time_test_of(self, rule) -> ast.Expr | None:
        """The rule's first test no table of classes reads: of time or of a list the request gives that is not in
        `lists` (reading.untabled), a `matches` of an attribute whose templates are too many to tell apart
        (`untold`), or a key the request names tested against another of its attributes (reading.pairs_requested);
        or None."""
        if not KEPT_TIME_TESTS:
            return self._first_untabled(rule)
        if id(rule) not in self._time_tests:
            self._time_tests[id(rule)] = self._first_untabled(rule)
        return self._time_tests[id(rule)]

    def _first_untabled(self, rule) -> ast.Expr | None:
        return next((a for e in rule_conditions(rule) for a in atoms(e)
                     if untabled(a, self.timed, self.lists) or self.untold_test(a) or pairs_requested(a)), None)

    def untold_test(self, atom: ast.Expr) -> str | None:
        """Why the `matches` test is read by no table (`untold`), or None."""
        if not self.untold or not isinstance(atom, ast.Matches):
            return None
        return next((self.untold[p] for p in read_paths([atom]) if p in self.untold), None)

    def _reads_cell(self, rule) -> bool:
        return self.slot_nodes_of(rule)[1]

    def _cell_key(self, rule, cell: Cell) -> Any:
        """What of the cell a rule's table depends on: the keys its conditions read (SHARED_TABLES), else the
        whole cell; False when they read none."""
        key_of = self._cell_keys.get(id(rule))
        if key_of is None:
            key_of = self._cell_keys[id(rule)] = self._cell_key_of(rule)
        return key_of(cell)

    def _cell_key_of(self, rule) -> Callable[[Cell], Any]:
        if not self._reads_cell(rule):
            return _reads_no_cell
        if not SHARED_TABLES:
            return _whole_cell
        kinds = kinds_read(self.model, read_paths(rule_conditions(rule)))
        keys_of = operator.itemgetter(*kinds) if kinds else (lambda reps: ())
        return lambda cell: keys_of((cell.action.rep, cell.purpose.rep, cell.category.rep))

    def _table(self, kind, rule, cell: Cell, nodes: tuple[int, ...], cell_key: Any = None) -> dict:
        key = (kind, id(rule), self._cell_key(rule, cell) if cell_key is None else cell_key)
        table = self._tables.get(key)
        if table is not None:
            return table
        timed = self.time_test_of(rule)
        if timed is not None:  # its value classes cannot tell every date apart: enumerating it could claim "never"
            raise SpaceTooLarge(f"the decision space is not enumerated: {unread_message(rule.id, timed)}")
        table = {}
        # a probe reads the request as the current version does; a rule, as its own version
        version = kind if not isinstance(kind, tuple) else kind[1] if kind[0] == POSSIBLE else -1
        lookups = self.versions[version].lookups
        verdict = rule.possible if isinstance(kind, tuple) and kind[0] == POSSIBLE else rule.applies
        for choice in itertools.product(*(range(len(self.nodes[n].choices)) for n in nodes)):
            env = cell.request()
            for n, c in zip(nodes, choice):
                self.nodes[n].fill(env, c)
            if lookups:
                try:
                    env = apply_lookups(env, lookups)
                except RequestError:  # this version refuses the request (an `except`): State.refused says so
                    table[choice] = "refused"
                    continue
            try:
                table[choice] = verdict(env) is True
            except Exception as error:  # noqa: BLE001 - the engine fails closed, on anything unforeseen too; so does the space
                table[choice] = "error"
                self._messages.setdefault((version, rule.id), failure(error))
        self._tables[key] = table
        return table

    # -- requests and decisions ------------------------------------------------------------

    def request(self, cell: Cell, group: Group, picks: Sequence[Klass]) -> dict:
        """The request of one class per component of the group, in `cell`."""
        request = cell.request()
        for component, klass in zip(self.components(group), picks):
            for n, c in zip(component.nodes, klass.witness):
                self.nodes[n].fill(request, c)
        return request

    def outcome(self, version: int, group: Group, picks: Sequence[Klass], category: str) -> Outcome:
        """The decision `combine` gives for these classes (the engine's function, on the tables' verdicts)."""
        rules = group.rules[version]
        if rules is None:
            return REFUSED
        if any(k.states[version].refused for k in picks):
            return UNACCEPTED
        applies = set().union(*(k.states[version].applies for k in picks)) if picks else set()
        errors = set().union(*(k.states[version].errors for k in picks)) if picks else set()
        denies = [r for r in rules if r.id in applies and r.effect == "deny"]
        allows = [r for r in rules if r.id in applies and r.effect == "allow"]
        # the engine evaluates a category's denies, then its allows: errors are reported in that order
        erring = [r for r in rules if r.id in errors and r.effect == "deny"] + \
                 [r for r in rules if r.id in errors and r.effect == "allow"]
        failed = [(r, self._messages.get((version, r.id), "could not be evaluated")) for r in erring]
        # an allowed broad request carries the obligations of the partial allows that may apply to part of it
        possible = set().union(*(k.states[version].possible for k in picks)) if picks else set()
        partial = [r for r in group.partial[version] if r.id in possible and r.id not in applies]
        return combine(denies, allows, [] if allows else [category], failed, partial)

    def decide(self, version: int, request: dict) -> Outcome:
        """The engine's own decision for a request (the check every reported request goes through)."""
        self.stats.decided += 1
        try:
            return self.versions[version].outcome(request)
        except RequestError as error:
            return Outcome("refused", (Reason("request.refused", "deny", None, str(error)),))

    # -- describing sets of assignments ----------------------------------------------------

    def describe(self, nodes: tuple[int, ...], assignments: Iterable[tuple[int, ...]]) -> list[str]:
        """Conditions (each an `and` of attribute tests) whose `or` is true exactly for these assignments."""
        dims: list[AttrDomain] = []
        spans = []
        for n in nodes:
            node = self.nodes[n]
            spans.append((len(dims), node))
            dims.extend(node.domains)
        points = set()
        for assignment in assignments:
            parts: list[list[int]] = []
            for (_offset, node), choice in zip(spans, assignment):
                values = node.choices[choice]
                for i, value in enumerate(values):
                    parts.append(list(range(len(node.domains[i]))) if i in node.free[choice] else [value])
            for point in itertools.product(*parts):
                points.add(point)
        sizes = [len(d) for d in dims]
        out = []
        for box in _boxes(points, list(range(len(dims))), sizes):
            # a required attribute is never absent: "is present" of it says nothing
            described = [dims[i].describe(set(range(len(dims[i])))
                                          if dims[i].path in self.model.REQUIRED and set(values) == set(range(1, len(dims[i])))
                                          else set(values))
                         for i, values in sorted(box.items())]
            tests = [t for t in described if t]
            out.append(" and ".join(tests) if tests else "")
        return out

    def classify(self, request: dict) -> tuple[Cell, dict[int, int]] | None:
        """The cell and node choices of a single-category request (None if outside the space)."""
        keys: list[KeyClass] = []
        for classes, kind in zip((self.actions, self.purposes, self.categories), KINDS):
            key = key_of(self.model, request, kind)
            named = next((c for c in classes if key in c.members), None)
            if named is None:
                return None
            keys.append(named)
        found: dict[tuple[str, ...], int] = {}
        values: dict[tuple[str, ...], Any] = {}
        for d in self.domains.values():
            value: Any = request
            for part in d.path:
                value = value.get(part) if isinstance(value, dict) else None
            values[d.path] = value
            found[d.path] = d.classify(value)
        for group in self._pair_groups:  # attributes compared with each other: keep their order and equalities
            by_class: dict[tuple, list] = {}
            for path in group:
                index = found[path]
                if index > 0 and path not in self.timed:  # (a date's day is the solver's, not a class's)
                    cls = self.domains[path].classes[index]
                    by_class.setdefault((cls.kind, cls.label), []).append(path)
            for paths in by_class.values():
                distinct = sorted({values[p] for p in paths}, key=lambda v: (str(type(v)), v))
                for path in paths:
                    found[path] += distinct.index(values[path])
        choices = {}
        for n, node in enumerate(self.nodes):
            wanted = [found[d.path] for d in node.domains]
            for i, choice in enumerate(node.choices):
                if all(j in node.free[i] or w == c for j, (w, c) in enumerate(zip(wanted, choice))):
                    choices[n] = i
                    break
            else:
                return None
        action, purpose, category = keys
        return Cell(action, purpose, category, self.model), choices


    def predict(self, version: int, request: dict) -> Outcome | None:
        """The space's decision for a single-category request: the class it falls in, combined.

        What the tests compare with the engine's own decision, request by request.
        """
        located = self.classify(request)
        if located is None:
            return None
        cell, choices = located
        if self._refuses(tuple(choices), tuple(choices.values()), version):
            return UNACCEPTED  # (a node no rule of the cell reads is in none of its components)
        group = self.group_of(cell)
        picks = []
        for component in self.components(group):
            assignment = tuple(choices[n] for n in component.nodes)
            picks.append(next(k for k in component.classes if assignment in k.members))
        return self.outcome(version, group, picks, part_of(self.model, request))


def _reads_no_cell(cell: Cell) -> Any:
    return False


def _whole_cell(cell: Cell) -> Any:
    return cell


_UNKNOWN = (None, (), None, ())  # a cell's lists under a version that does not know one of its keys


def _answers(tests: Sequence[Callable[[dict], Any]], env: dict) -> tuple:
    out = []
    for test in tests:
        try:
            out.append(test(env))
        except Exception:  # noqa: BLE001 - a test that fails is an error, as the engine fails closed
            out.append("error")
    return tuple(out)


REFUSED = Outcome("refused", (Reason("request.refused", "deny", None, "the version does not know this vocabulary"),))
NOT_ACCEPTED = "request.not-accepted"  # what a change names a refusal of an attribute's value with (changes.py)
UNACCEPTED = Outcome("refused", (Reason(NOT_ACCEPTED, "deny", None,
                                        "the version does not accept a value the request states: its vocabulary types "
                                        "the attribute otherwise, or only its register can grant it (`except`)"),))


def _typed_otherwise(versions: Sequence) -> list[tuple[str, ...]]:
    """The declared attributes (paths) whose types are not the same in every version."""
    if len(versions) < 2:
        return []

    def declared(version) -> dict[tuple[str, ...], Any]:
        shape = version.request_shape
        found: dict[tuple[str, ...], Any] = {(part, name): typ for part, types in shape.types.items()
                                             for name, typ in types.items() if part}
        found.update({tuple(parts): typ for parts, typ in shape.deep})
        return found

    every = [declared(v) for v in versions]
    paths = set().union(*every)
    return sorted(p for p in paths if any(d.get(p) != every[0].get(p) for d in every[1:]))


def _boxes(points: set[tuple], dims: list[int], sizes: list[int]) -> list[dict[int, frozenset[int]]]:
    """Split a set of points into boxes (products of value sets), greedily, for description."""
    if not points:
        return []
    projections = {d: frozenset(p[d] for p in points) for d in dims}
    volume = 1
    for d in dims:
        volume *= len(projections[d])
    if volume == len(points):
        return [{d: v for d, v in projections.items() if len(v) < sizes[d]}]
    split = min((d for d in dims if len(projections[d]) > 1), key=lambda d: (len(projections[d]), d))
    rest = [d for d in dims if d != split]
    by_value: dict[int, set] = {}
    for p in points:
        by_value.setdefault(p[split], set()).add(p)
    merged: dict[tuple, set[int]] = {}
    order: list[tuple] = []
    for value, part in sorted(by_value.items()):
        for box in _boxes(part, rest, sizes):
            k = tuple(sorted(box.items()))
            if k not in merged:
                merged[k] = set()
                order.append(k)
            merged[k].add(value)
    out = []
    for k in order:
        box = dict(k)
        if len(merged[k]) < sizes[split]:
            box[split] = frozenset(merged[k])
        out.append(box)
    return out

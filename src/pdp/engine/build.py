"""The pipeline as code: Sources -> parse -> check -> compile -> versions -> PolicySet.

`build` is pure: it takes the texts of a policy set and of its earlier
versions (the loader reads them from disk) and returns a PolicySet ready to
decide, every version in its `history`, or raises PolicyError with every
problem found. The whole-set analysis is not a stage here: it runs on
demand (pdp.analysis.warnings), never inside a load.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from pdp.base.errors import Diagnostic, PolicyError
from pdp.base.source import Span
from pdp.base.yamlpos import Located, YamlSyntaxError, load_located
from pdp.lang import ast, named
from pdp.lang.checker import CheckContext, check_policy_set
from pdp.lang.follow_on import Losses, held_back
from pdp.lang.parser import parse_policy
from pdp.lang.reuse import Parses
from pdp.lang.stricter import permissive_reads
from pdp.ledger.fill import Fill
from pdp.vocab import compatibility, country_groups
from pdp.vocab import schema as sch
from pdp.vocab import taxonomy as tx
from pdp.vocab.request import RequestShape
from pdp.vocab.vocabulary import extend_vocabulary

from . import models, versions
from .compiler import compile_rules
from .policy_set import PolicySet
from .registers import CompiledLookup, compile_lookups, data_key_problems
from .sources import Sources


def build(sources: Sources, index: bool = True, directory: Path | None = None, pause_gc: bool = True,
          reuse: bool = True) -> PolicySet:
    """The policy set the sources describe, with its earlier versions (§11). Raises PolicyError.

    `index=False` decides by scanning every rule instead of the rule index (the plain path the index
    is proved equal to); `directory` is where the set was read from, as its errors name it;
    `pause_gc=False` builds with Python's cycle collector running (see `collector_paused`);
    `reuse=False` parses every file afresh, none taken from a file of the same text parsed before in
    this process (see `lang.reuse`: `pdp diff` and a hot reload load sets that share most files)."""
    with collector_paused(pause_gc):
        current = build_version(sources, index, directory, reuse)
        if sources.versions is None:
            return current
        earlier = [build_version(v.sources, index, v.directory, reuse) for v in sources.versions]
        current.history = versions.history_of(earlier, current)
        for version in earlier:
            version.checker_warnings += filled_by_current(version, current)
        return current


def filled_by_current(version: PolicySet, current: PolicySet) -> tuple[Diagnostic, ...]:
    """The stricter-wins warnings about an earlier version's rules read with the current set's `ledger fills`: a
    request decided as of a past time by that version is filled as the current set declares (pdp.engine.filled).
    Those the version's own declarations gave already are left out."""
    fills = [fill for f in current.files for fill in f.ledger_fills]
    if not fills:
        return ()
    given = {(w.code, w.span) for w in version.checker_warnings}
    return tuple(w for w in permissive_reads(list(version.files), fills) if (w.code, w.span) not in given)


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """Python's cycle collector held off while a set is built, then running again.

    A build allocates millions of objects that all live on (syntax trees, tokens, compiled rules), and
    the collector runs each time allocations outnumber frees by 700, each full pass walking every object
    alive: a load's collections grow with the square of the set (issue 10: 20,000 rules load in 15 s of
    CPU with it paused, 41 s without). Nothing a build makes needs collecting before it ends; what it
    leaves in cycles is collected at the next pass after. The collector is one per process: a build that
    finds it already paused (by another build, in another thread) leaves it as it is."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build_version(sources: Sources, index: bool = True, directory: Path | None = None,
                  reuse: bool = True) -> PolicySet:
    """One version of a policy set, alone: its `versions` are not read. Raises PolicyError."""
    parsed, diagnostics = parse(sources, reuse)
    broken = {d.file for d in diagnostics if d.severity == "error"}
    files, errors = named.resolve(parsed)  # (the rules as written: each use of a named condition resolved)
    diagnostics += errors
    vocabulary, declared, vocabulary_errors = vocabulary_of(sources)
    diagnostics += vocabulary_errors
    data, located, data_errors = data_of(sources)
    data_errors += with_compatible_purposes(data, vocabulary, sources)
    diagnostics += data_errors
    headers = [h for f in files for h in f.headers]
    model, errors = models.model_of(headers)
    diagnostics += errors
    schema = schema_of(model, vocabulary, declared, data)
    lookups, errors = compile_lookups([lk for f in files for lk in f.lookups], data, located, schema, vocabulary)
    diagnostics += errors
    schema = with_registers(schema, lookups)
    losses = Losses(tuple(text for path, text in sources.policies.items() if path in broken), bool(headers),
                    _has_errors(vocabulary_errors), _has_errors(data_errors), model.lookup_roots)
    diagnostics += check_policy_set(files, CheckContext(vocabulary, schema, model, roots_elsewhere(model, vocabulary)))
    if any(d.severity == "error" for d in diagnostics):
        kept, left_out = held_back(diagnostics, losses)
        raise PolicyError(kept, sources.texts(), left_out)
    # (index=False: the plain path, every optimisation of deciding off, compact rules among them)
    written, files = [rule for f in files for rule in f.rules], named.inlined_files(files)
    compiled = compile_rules([rule for f in files for rule in f.rules], data, vocabulary, schema, compact=index,
                             written=written)
    shape = shape_of(model, declared, lookups)
    policy_set = PolicySet(headers[0], compiled, vocabulary, tuple(lookups), data, sources.digest(), tuple(files),
                           tuple(d for d in diagnostics if d.severity == "warning"), index, directory, sources, shape)
    policy_set.ledger_fills = ledger_fills_of(files)
    return policy_set


def roots_elsewhere(model: models.Model, vocabulary: tx.Vocabulary) -> dict[str, str]:
    """The request parts only other models' sets read, each with the hint for a rule that reads one: the header's
    `model` line to add, or to remove when the other model is the default (issue 12: forgetting `model authzen`
    got "did you mean `data_subject`?")."""
    own = model.schema(vocabulary)
    out: dict[str, str] = {}
    for name, other in models.MODELS.items():
        if other is model:
            continue
        if other is models.DEFAULT:
            reads = ", ".join(f"`{r}`" for r in own if r != "data")
            hint = (f"part of the requests of {other.title} (the default model), but this set's header says "
                    f"`model {model.name}`: remove that line, or read what its requests hold ({reads})")
        else:
            hint = f"part of the requests of {other.title}: add the line `model {name}` to the `policy` header"
        for root in other.schema(vocabulary):
            if root not in own:
                out.setdefault(root, f"`{root}` is {hint}")
    return out


def _has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def ledger_fills_of(files: list[ast.PolicyFile]) -> tuple[Fill, ...]:
    """What the set declares the consent ledger fills (`ledger fills ...`), checked, as pdp.ledger.fill reads it."""
    return tuple(Fill(f.attribute.parts, f.source, f.name, f.purpose) for file in files for f in file.ledger_fills)


# The files parsed in this process, by their text (held only while a set that was built holds them)
_PARSES = Parses()


def parse(sources: Sources, reuse: bool = True) -> tuple[list[ast.PolicyFile], list[Diagnostic]]:
    """Every policy file's syntax tree (in path order) and every syntax error."""
    diagnostics: list[Diagnostic] = []
    files: list[ast.PolicyFile] = []
    for path in sorted(sources.policies):
        parsed, errors = (_PARSES.parse if reuse else parse_policy)(sources.policies[path], path)
        files.append(parsed)
        diagnostics += errors
    return files, diagnostics


def vocabulary_of(sources: Sources) -> tuple[tx.Vocabulary, dict[str, sch.Type], list[Diagnostic]]:
    """fideslang's vocabulary, extended by the set's vocabulary.yaml; the attributes it declares."""
    if not sources.vocabulary:
        return tx.Vocabulary.default(), {}, []
    path, text = sources.vocabulary
    return extend_vocabulary(tx.Vocabulary.default(), text, path)


def data_of(sources: Sources) -> tuple[dict[str, Any], dict[str, Located], list[Diagnostic]]:
    """The registers under data/ by stem (`data.<stem>`), with their positions (for errors in them); `data.countries`
    holds the country groups pdp ships and the set's own (pdp.vocab.country_groups)."""
    data: dict[str, Any] = {}
    located: dict[str, Located] = {}
    diagnostics: list[Diagnostic] = []
    for path in sorted(sources.data):
        stem = _stem(path)
        try:
            located[stem] = load_located(sources.data[path], path)
        except YamlSyntaxError as error:
            diagnostics.append(Diagnostic("data", error.message, error.span, error.hint))
            continue
        data[stem] = located[stem].value
        diagnostics += data_key_problems(located[stem])
    own = next((path for path in sources.data if _stem(path) == country_groups.STEM), "data/countries.yaml")
    data[country_groups.STEM], errors = country_groups.country_data(located.get(country_groups.STEM), own)
    return data, located, diagnostics + errors


def with_compatible_purposes(data: dict[str, Any], vocabulary: tx.Vocabulary, sources: Sources) -> list[Diagnostic]:
    """The set's `compatible_purposes` (vocabulary.yaml) put in its policy data, where rules read it
    (`data.compatible_purposes[purpose_of_collection]`); an error if a data file of that name is there too."""
    if vocabulary.compatible_purposes is None:
        return []
    own = next((path for path in sorted(sources.data) if _stem(path) == compatibility.SECTION), None)
    if own is not None:
        return [Diagnostic("data", f"`data.{compatibility.SECTION}` is declared in vocabulary.yaml and in {own}",
                           Span(own, 1, 1), f"keep one: `{compatibility.SECTION}` in vocabulary.yaml, whose purposes "
                           "are checked")]
    data[compatibility.SECTION] = compatibility.as_data(vocabulary.compatible_purposes)
    return []


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def schema_of(model: models.Model, vocabulary: tx.Vocabulary, declared: dict[str, sch.Type],
              data: dict[str, Any]) -> dict[str, sch.Type]:
    """The types of what a condition may read: the request (with the declared attributes) and `data`."""
    schema = model.schema(vocabulary)
    for dotted, typ in declared.items():
        schema = sch.with_attribute(schema, dotted, typ)
    schema["data"] = sch.type_of_value(data)
    return schema


def with_registers(schema: dict[str, sch.Type], lookups: list[CompiledLookup]) -> dict[str, sch.Type]:
    """A register's own attributes (a user's roles) are read like the request's."""
    for lookup in lookups:
        record_type = sch.register_record_type(lookup.register)
        own = schema[lookup.root].field_map()
        extra = tuple((k, t) for k, t in record_type.field_map().items() if k not in own)
        schema[lookup.root] = sch.Type("map", fields=tuple(own.items()) + extra)
    return schema


def shape_of(model: models.Model, declared: dict[str, sch.Type], lookups: list[CompiledLookup]) -> RequestShape:
    """The keys a request may give, and the declared attributes' types, checked in every request."""
    registered: dict[str, Iterable[str]] = {
        lk.root: {k for record in lk.register.values() if isinstance(record, dict) for k in record}
        for lk in lookups}
    return model.shape(tuple((tuple(path.split(".")), typ) for path, typ in declared.items()), registered)

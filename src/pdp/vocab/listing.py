"""The vocabulary a policy can name, listed for people: keys, names, descriptions, and where each comes from.

`pdp vocab` prints it (issue 12: the only way to find a taxonomy key was to
dump fideslang from Python). Data uses, data categories and data subjects
are fideslang's default taxonomy (Ethyca, CC BY 4.0), with the names and
descriptions fideslang gives them; a policy set's own keys, consent topics
and attributes come from its `vocabulary.yaml`, with the `name` (and
`description`) written there. Pure: takes the file's text, not its path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from . import schema as sch
from . import taxonomy as tx
from .contract import Contract
from .vocabulary import SECTION_OF_KIND, extend_vocabulary
from pdp.base.errors import Diagnostic, suggest
from pdp.base.yamlpos import YamlSyntaxError, load_located

FIDESLANG, BUILT_IN, DECLARED = "fideslang", "built-in", "declared"
ATTRIBUTE = "attribute"
# The kinds in the order they are listed, each with the fideslang collection its keys come from (if any).
KINDS = (tx.ACTION, tx.PURPOSE, tx.CATEGORY, tx.SUBJECT_TYPE, tx.CONSENT_TOPIC, tx.RECIPIENT_TYPE, ATTRIBUTE,
         tx.COUNTRY)
FIDESLANG_COLLECTIONS = {tx.PURPOSE: "data_use", tx.CATEGORY: "data_category", tx.SUBJECT_TYPE: "data_subject"}
ACTION_NAMES = {"collect": "Collect the data", "use": "Use the data", "share": "Disclose it to a recipient",
                "transfer": "Transfer it to another country", "erase": "Erase it"}


@dataclass(frozen=True)
class Entry:
    """One thing a policy can name: its kind (`data category`), key, name, description and source."""

    kind: str
    key: str
    name: str = ""
    description: str = ""
    source: str = BUILT_IN  # FIDESLANG, BUILT_IN or DECLARED (by the policy set's vocabulary.yaml)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def fideslang_entries() -> tuple[Entry, ...]:
    """fideslang's default taxonomy with its names and descriptions (its models are imported here, once: the
    engine reads only the shipped keys, `taxonomy.fideslang_keys`)."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return tuple(Entry(kind, item.fides_key, item.name or "", " ".join((item.description or "").split()), FIDESLANG)
                 for kind, collection in FIDESLANG_COLLECTIONS.items()
                 for item in getattr(DEFAULT_TAXONOMY, collection))


def built_in_entries(contract: Contract | None = None) -> list[Entry]:
    """What pdp itself defines: the actions, the recipient types, the attributes of a request (of `contract`; by
    default a data-use request), the countries."""
    from .request import CONTRACT

    import pycountry

    out = [Entry(tx.ACTION, action, ACTION_NAMES.get(action, "")) for action in tx.BUILTIN_ACTIONS]
    out += [Entry(tx.RECIPIENT_TYPE, kind, kind.replace("_", " ").capitalize()) for kind in tx.RECIPIENT_TYPES]
    out += [Entry(ATTRIBUTE, path, type_name(typ))
            for path, typ in attributes((contract or CONTRACT).schema(lambda kind: ()))]
    out += [Entry(tx.COUNTRY, country.alpha_2, country.name) for country in pycountry.countries]
    return out


def attributes(schema: dict[str, sch.Type], prefix: str = "") -> Iterable[tuple[str, sch.Type]]:
    """Every attribute a condition can read, as a dotted path with its type (a map's own attributes, not it)."""
    for name, typ in schema.items():
        path = f"{prefix}{name}"
        if typ.kind == "map" and typ.fields:
            yield from attributes(dict(typ.fields), path + ".")
        else:
            yield path, typ


def declared_entries(text: str, filename: str) -> tuple[list[Entry], list[Diagnostic]]:
    """The keys, consent topics and attributes a `vocabulary.yaml` declares, and its errors."""
    vocabulary, declared_types, diagnostics = extend_vocabulary(tx.Vocabulary.default(), text, filename)
    try:
        doc = load_located(text, filename).value
    except YamlSyntaxError:
        doc = None
    written = _names_written(doc if isinstance(doc, dict) else {})
    out = [Entry(kind, key, *written.get((kind, key), ("", "")), DECLARED) for kind, key in vocabulary.declared]
    out += [Entry(ATTRIBUTE, path, type_name(typ), "", DECLARED) for path, typ in declared_types.items()]
    return out, diagnostics


def _names_written(doc: dict[Any, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, key) -> the `name` and `description` an entry of vocabulary.yaml gives its key."""
    out = {}
    for kind, section in SECTION_OF_KIND.items():
        entries = doc.get(section)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                out[(kind, entry["key"])] = (str(entry.get("name") or ""), str(entry.get("description") or ""))
    return out


def type_name(typ: sch.Type) -> str:
    """A type as docs/language.md names it (`bool`, not `true or false`; `string (action)` for a key of one)."""
    named = next((name for name, known in sch.TYPE_NAMES.items() if known == typ), None)
    if named is not None:
        return named
    if typ.kind == "list" and typ.item is not None:
        return f"list of {type_name(typ.item)}"
    if typ.kind == "map":
        return f"map of {typ.keys}s" if typ.keys else "map (declare its attributes under `attributes`)"
    return f"{typ.kind} ({typ.vocab})" if typ.vocab else typ.kind


def kinds_of(contract: Contract) -> tuple[str, ...]:
    """The kinds a set of this request contract can name: an AuthZEN set's rules target actions and read the
    request's attributes; purposes, categories, data subjects, consent topics and recipient types are data use's."""
    return KINDS if contract.names_data_use else (tx.ACTION, ATTRIBUTE)


def listing(prefix: str = "", kinds: Iterable[str] = KINDS, declared: Iterable[Entry] = (),
            contract: Contract | None = None) -> list[Entry]:
    """The entries of `kinds` whose key starts with `prefix` (case ignored), kind by kind, each kind by key; the
    set's own declarations beside the built-in ones (a declared attribute replaces a built-in one of its path);
    the attributes are those of `contract`'s requests (by default a data-use request)."""
    wanted = set(kinds)
    own = list(declared)
    replaced = {(e.kind, e.key) for e in own}
    everything = [e for e in (*fideslang_entries(), *built_in_entries(contract)) if (e.kind, e.key) not in replaced] + own
    folded = prefix.casefold()
    found = [e for e in everything if e.kind in wanted and e.key.casefold().startswith(folded)]
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(found, key=lambda e: (order[e.kind], e.key))


def closest(prefix: str, declared: Iterable[Entry] = ()) -> list[str]:
    """For a prefix no key starts with: the keys that start with what is closest to it (`usr.helth` -> the
    first key under `user.heal`, `user.health_and_medical`)."""
    keys = sorted({e.key for e in (*fideslang_entries(), *built_in_entries(), *declared)}, key=lambda k: (len(k), k))
    starts = {key[:len(prefix)]: key for key in reversed(keys)}  # each cut, its shortest key
    return [starts[cut] for cut in suggest(prefix, starts)]

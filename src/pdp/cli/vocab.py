"""`pdp vocab [PREFIX] [--policy DIR] [--kind KIND] [--json]`: the keys a policy can name, with names and descriptions.

Like `cedar` listing a schema's entity types or `opa inspect`, for the
vocabulary: fideslang's data uses, data categories and data subjects (with
fideslang's names and descriptions, credited), the built-in actions and
recipient types, the request's attributes, the countries, and, with
`--policy DIR`, the set's own keys, consent topics and attributes from its
`vocabulary.yaml` and the attributes its registers give, marked. Only that
file, the header and the lookups with their registers are read: a set whose rules do not
check yet still lists its vocabulary, which is when it is needed.
"""

from __future__ import annotations

import json
import sys

from .common import EXIT_FAIL, EXIT_OK

CREDIT = ("data uses, data categories and data subjects: fideslang's default taxonomy "
          "(Ethyca, https://github.com/ethyca/fideslang), CC BY 4.0")
KIND_NAMES = {  # what --kind takes -> pdp.vocab.taxonomy's kind (and the attributes)
    "action": "action", "data_use": "purpose", "purpose": "purpose", "data_category": "data category",
    "data_subject": "data subject type", "consent_topic": "consent topic", "recipient_type": "recipient type",
    "attribute": "attribute", "country": "country",
}


def register(subparsers) -> None:
    vocab = subparsers.add_parser(
        "vocab", help="list the keys a policy can name (fideslang's, pdp's, a set's own), with names and descriptions")
    vocab.add_argument("prefix", nargs="?", default="", metavar="PREFIX",
                       help="only keys that start with it (`user.health`, `marketing`, `context.`)")
    vocab.add_argument("-p", "--policy", metavar="DIR",
                       help="also the keys, consent topics and attributes this policy set's vocabulary.yaml declares, "
                            "and the attributes its registers give (marked `+`)")
    vocab.add_argument("--kind", choices=sorted(KIND_NAMES), action="append",
                       help="only keys of this kind (repeat for several)")
    vocab.add_argument("--json", action="store_true", help="a JSON list of {kind, key, name, description, source}")
    vocab.set_defaults(func=cmd_vocab)


def cmd_vocab(args) -> int:
    from pdp.base.errors import render_all, suggestion_hint
    from pdp.vocab import listing

    declared: list = []
    contract = None  # without a set: a data-use request's
    if args.policy is not None:
        read = _declared(args.policy)
        if read is None:
            return EXIT_FAIL
        declared, diagnostics, texts, contract = read
        if any(d.severity == "error" for d in diagnostics):
            print(render_all(diagnostics, texts), file=sys.stderr)
            return EXIT_FAIL
    kinds = [KIND_NAMES[k] for k in args.kind] if args.kind else (
        listing.kinds_of(contract) if contract is not None else listing.KINDS)
    entries = listing.listing(args.prefix, kinds, declared, contract)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return EXIT_OK if entries else EXIT_FAIL
    if not entries:
        hint = suggestion_hint(listing.closest(args.prefix, declared)) or "run `pdp vocab` for every key"
        print(f"no key starts with `{args.prefix}`: {hint}", file=sys.stderr)
        return EXIT_FAIL
    print(render(entries, args.policy))
    return EXIT_OK


def _declared(directory: str):
    """The entries the set's vocabulary.yaml declares, its diagnostics and text, and the request contract of the
    set's model (its header's `model`; the default if no header reads); None after printing why the directory
    cannot be read."""
    from pdp.base.errors import PolicyError
    from pdp.engine.build import parse
    from pdp.engine.models import model_of
    from pdp.io.loader import read_sources
    from pdp.vocab import listing

    try:
        sources = read_sources(directory)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return None
    files, _ = parse(sources)  # (syntax errors are `pdp check`'s to report: the header and lookups are wanted here)
    contract = model_of([h for f in files for h in f.headers])[0].contract
    if sources.vocabulary is None:
        return _register_attributes(files, sources), [], {}, contract
    path, text = sources.vocabulary
    entries, diagnostics = listing.declared_entries(text, path)
    return entries + _register_attributes(files, sources), diagnostics, {path: text}, contract


def _register_attributes(files, sources) -> list:
    """The attributes the set's registers give the parts they look up (`subject.roles` from `lookup subject in
    data.users`), as a condition reads them; a lookup or register that does not read is `pdp check`'s to report."""
    from pdp.editing.knowledge import read_knowledge

    if not any(f.lookups for f in files):
        return []
    return list(read_knowledge(sources).registered)


def render(entries, policy: str | None) -> str:
    """Kind by kind: `  key  name: description`, a set's own marked `+`; the credit at the end."""
    from pdp.vocab.listing import DECLARED, FIDESLANG

    lines: list[str] = []
    width = min(max(len(e.key) for e in entries), 48)
    kind = None
    for entry in entries:
        if entry.kind != kind:
            kind = entry.kind
            lines += ([""] if lines else []) + [_plural(kind) + ":"]
        mark = "+" if entry.source == DECLARED else " "
        text = ": ".join(filter(None, [entry.name, entry.description]))
        lines.append(f" {mark}{entry.key:<{width}}  {text}".rstrip())
    lines.append("")
    if any(e.source == FIDESLANG for e in entries):
        lines.append(CREDIT)
    if any(e.source == DECLARED for e in entries):
        lines.append(f"+: declared by the policy set in {policy} (vocabulary.yaml, or a register its lookups read)")
    return "\n".join(lines)


def _plural(kind: str) -> str:
    return {"purpose": "purposes (data uses)", "data category": "data categories",
            "country": "countries (ISO 3166-1)"}.get(kind, kind + "s")

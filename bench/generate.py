"""Generated policy sets modelled on CX-ONE-GO, for measuring pdp at scale (issue 10).

    python -m bench.generate --rules 5000 --variant random --registers 100 --seed 1 --out /tmp/set

writes a policy directory that `pdp check` accepts (no errors): rules in the
CX-ONE-GO areas (collection, use, marketing, disclosure, transfers, rights,
children, retention), each citing a section of its privacy policy; the
CX-ONE-GO vocabulary extensions; the registers `data/processors.yaml` (the
size asked for), `data/affiliates.yaml` and `data/facilities.yaml`, read
through a `lookup` as CX-ONE-GO reads them; `requests.json` (N seeded
decision requests, the JSON of `POST /v1/decide`) and `tests/generated.yaml`
(policy tests whose expected decisions follow from how the set is built).
The same arguments give the same files, byte for byte.

How a set is built, so that it reads like a real one grown large: a
company of many services (`requester.id`), each with its own rules in the
CX-ONE-GO areas (`use.s0012.analytics_3`): allows stating requirements
(consent given, a registered processor under a DPA, a facility country, a
verified identity, the service's own context flags) and, beside some of
them, a deny stating a prohibition (consent refused, a blocking flag) that
names the allows it overrides. The set-wide denies of CX-ONE-GO (children,
retention, objection, no sale, special categories) override every area.

Built so that the whole-set analysis has nothing to report (no warning
under `pdp check --strict` once the analysis can run on the set): rules of
different services never apply together (each reads its own
`requester.id`); within a service, allows of one action have disjoint
purposes; each deny of a service reads a prohibition no other deny of that
service reads, and allows never read a prohibition but as its opposite (an
allow's `consent.marketing == true` against a deny's `== false`), so no
allow is always overridden, none is shadowed, and every overlap is named in
`overrides`.

The variants:

- `random`: each rule's conditions are drawn from every attribute;
- `clustered`: as in CX-ONE-GO, the rules of one service read the same few
  attributes (3 or 4);
- `shared-target`: 1,000 rules (all of them below 1,000) share one target
  (`to use for marketing.communications.email of user.contact.email`) and
  differ only by their conditions; the rest as `random`;
- `broad`: a quarter of the rules have no `to`, `for` or `of`;
- `wide`: every allow reads 6 to 12 attributes at once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

VARIANTS = ("random", "clustered", "shared-target", "broad", "wide")
SHARED = 1_000  # rules that share one target in the `shared-target` variant
SHARED_TARGET = ("use", "marketing.communications.email", "user.contact.email")
RULES_PER_FILE = 150  # CX-ONE-GO's files hold 3 to 12 rules; 20,000 rules stay well under the 2,000 files allowed
ACTIONS = ("collect", "use", "share", "transfer")
ACTION_WEIGHTS = (3, 5, 2, 2)
SIGNALS = 24  # generated context.signal_NN (requirements) and context.block_NN (prohibitions)
LEVELS = 12  # generated context.level_NN (numbers)

# The CX-ONE-GO privacy policy's sections, by the area of the rules that cite them.
CITATIONS = {
    "collection": ("§1.1", "§1.2", "§1.3", "§1.4", "§1.5"),
    "use": ("§2.1", "§2.2", "§2.4", "§2.6", "§3.5"),
    "marketing": ("§2.2", "§2.3", "§2.4", "§2.5", "§2.6"),
    "disclosure": ("§3.1", "§3.2", "§3.3", "§3.4", "§3.5", "§3.6", "§8"),
    "transfers": ("§3.2", "§8", "§9"),
}
VERBS = {"collect": "collects", "use": "uses", "share": "shares", "transfer": "transfers"}

# CX-ONE-GO's vocabulary.yaml, and the attributes the generated rules read besides.
VOCABULARY_KEYS = {
    "data_uses": (("essential.legal_claims", "Legal claims, liability, IP, privacy and defamation issues"),
                  ("marketing.promotions", "Promotions and other activities"),
                  ("operations.business_transfer", "Merger, acquisition or other change of control"),
                  ("essential.service.notifications.breach", "Notice of a personal-data breach")),
}
CONTEXT_FLAGS = ("linked_account", "from_other_source", "user_initiated", "legal_request", "identity_verified",
                 "processing_restricted", "objection_upheld", "breach_notification", "retention_expired",
                 "consented_to_current_version")
SPECIAL = ("user.health_and_medical", "user.biometric", "user.authorization.biometric", "user.government_id",
           "user.financial", "user.criminal_history", "user.demographic.political_opinion",
           "user.demographic.race_ethnicity", "user.demographic.religious_belief",
           "user.demographic.sexual_orientation")


@dataclass(frozen=True)
class Atom:
    """One test a rule's condition makes, the attribute group it reads, and the request values that make it true."""

    text: str
    group: str  # two atoms of one group are never in one rule (recipient.* is one group: a register fills it)
    satisfy: tuple[tuple[tuple[str, ...], Any], ...]  # (path, value) pairs that make the test true


def _bool(path: str, value: bool = True) -> Atom:
    return Atom(f"{path} == {'true' if value else 'false'}", path, ((tuple(path.split(".")), value),))


def requirement_atoms(processors: list[str], affiliates: list[str]) -> list[Atom]:
    """What an allow may require, CX-ONE-GO's conditions first."""
    atoms = [
        Atom("recipient.id in data.processors and recipient.dpa == true", "recipient",
             ((("recipient", "id"), processors[0]),)),
        Atom('recipient.type == "affiliate" and recipient.id in data.affiliates', "recipient",
             ((("recipient", "id"), affiliates[0]),)),
        Atom('recipient.type == "other_user"', "recipient", ((("recipient", "type"), "other_user"),)),
        Atom('recipient.type in ["public_authority", "third_party"]', "recipient",
             ((("recipient", "type"), "public_authority"),)),
        Atom('recipient.type == "advertising_partner"', "recipient", ((("recipient", "type"), "advertising_partner"),)),
        Atom("destination_country in data.facilities.countries", "destination", ((("destination_country",), "SG"),)),
        Atom('destination_country == "IN"', "destination", ((("destination_country",), "IN"),)),
        Atom('data_subject.country in ["IN", "SG", "US"]', "data_subject.country",
             ((("data_subject", "country"), "IN"),)),
        Atom('data_subject.type == "customer"', "data_subject.type", ((("data_subject", "type"), "customer"),)),
    ]
    atoms += [_bool(f"data_subject.consent.{topic}") for topic in ("marketing", "cookies", "location")]
    atoms += [_bool(f"context.{flag}") for flag in ("linked_account", "from_other_source", "user_initiated",
                                                   "legal_request", "identity_verified", "consented_to_current_version")]
    atoms += [_bool(f"context.signal_{i:02}") for i in range(1, SIGNALS + 1)]
    atoms += [Atom(f"context.level_{i:02} >= {1 + i % 5}", f"context.level_{i:02}",
                   ((("context", f"level_{i:02}"), 1 + i % 5 + i % 2),)) for i in range(1, LEVELS + 1)]
    return atoms


def prohibition_atoms() -> list[Atom]:
    """What a service's deny may forbid: never true of a request that leaves it out, never an allow's requirement
    but as its opposite. (Set-wide denies read age, retention, objection: no service's rule reads those.)"""
    atoms = [_bool(f"data_subject.consent.{topic}", False) for topic in ("marketing", "cookies", "location")]
    atoms.append(Atom("recipient.dpa == false", "recipient.dpa", ((("recipient", "dpa"), False),)))
    atoms.append(_bool("context.processing_restricted"))
    atoms += [_bool(f"context.block_{i:02}") for i in range(1, SIGNALS + 1)]
    return atoms


@dataclass
class Rule:
    effect: str
    rule_id: str
    message: str
    cite: str
    actions: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    when: tuple[str, ...] = ()  # joined by `and`
    unless: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    obligation: tuple[str, str] | None = None
    satisfy: tuple[tuple[tuple[str, ...], Any], ...] = ()  # for an allow: a request it allows

    def text(self) -> str:
        lines = [f'{self.effect} {self.rule_id} "{self.message}"', f'  cite "{self.cite}"']
        for keyword, keys in (("to", self.actions), ("for", self.purposes), ("of", self.categories)):
            if keys:
                lines.append(f"  {keyword} {', '.join(keys)}")
        if self.when:
            lines.append("  when " + "\n       and ".join(self.when))
        lines += [f"  unless {test}" for test in self.unless]
        if self.obligation:
            lines.append(f'  oblige {self.obligation[0]} "{self.obligation[1]}"')
        if self.overrides:
            lines.append(f"  overrides {', '.join(self.overrides)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Spec:
    rules: int = 1_000
    variant: str = "clustered"
    registers: int = 100
    seed: int = 1
    requests: int = 1_000
    tests: int = 20


@dataclass
class Generated:
    files: dict[str, str]  # path in the policy directory -> text
    requests: list[dict]
    rules: list[Rule] = field(default_factory=list)


class _Taxonomy:
    """fideslang's keys (and CX-ONE-GO's own purposes) as trees: the leaves below each key."""

    def __init__(self) -> None:
        from pdp.vocab.taxonomy import fideslang_keys

        uses, categories, _ = fideslang_keys()
        declared = {key for key, _ in VOCABULARY_KEYS["data_uses"]}
        self.purposes = sorted(k for k in uses | declared if not k.startswith("sales"))
        self.categories = sorted(k for k in categories if k.startswith("user.")
                                 and not any(k == s or k.startswith(s + ".") for s in SPECIAL))
        self.purpose_leaves = self.leaves(self.purposes)
        self.category_leaves = self.leaves(self.categories)

    @staticmethod
    def leaves(keys: list[str]) -> dict[str, list[str]]:
        """key -> the keys below it (or itself) that have nothing below them."""
        leaves = [k for k in keys if not any(o.startswith(k + ".") for o in keys)]
        return {k: [leaf for leaf in leaves if leaf == k or leaf.startswith(k + ".")] for k in keys}


class _Builder:
    def __init__(self, spec: Spec) -> None:
        if spec.variant not in VARIANTS:
            raise ValueError(f"unknown variant {spec.variant!r}; one of {', '.join(VARIANTS)}")
        self.spec = spec
        self.rng = random.Random(f"{spec.seed}/{spec.variant}/{spec.rules}/{spec.registers}")
        self.tax = _Taxonomy()
        self.processors = [f"p{i:05}" for i in range(1, max(2, spec.registers) + 1)]
        self.dpa = {p: i % 10 != 3 for i, p in enumerate(self.processors)}  # one in ten has no DPA
        self.affiliates = [f"cx-{i:03}" for i in range(1, max(2, spec.registers // 20) + 1)]
        self.requirements = requirement_atoms([p for p in self.processors if self.dpa[p]], self.affiliates)
        self.prohibitions = prohibition_atoms()
        self.rules: list[Rule] = []

    # -- targets

    def _purposes(self, used: dict[str, set[str]], actions: tuple[str, ...]) -> tuple[str, ...] | None:
        """One or two purposes whose leaves no earlier allow of the service, for these actions, covers."""
        taken = set().union(*(used.setdefault(a, set()) for a in actions))
        chosen: list[str] = []
        for _ in range(1 if self.rng.random() < 0.7 else 2):
            for _ in range(12):
                key = self.rng.choice(self.tax.purposes)
                leaves = set(self.tax.purpose_leaves[key])
                if len(leaves) <= 12 and not leaves & taken:
                    chosen.append(key)
                    taken |= leaves
                    break
        if not chosen:
            return None
        for action in actions:
            used[action] |= taken
        return tuple(sorted(chosen))

    def _categories(self) -> tuple[str, ...]:
        count = self.rng.choice((1, 1, 2, 3, 4, 6))
        return tuple(sorted(set(self.rng.sample(self.tax.categories, count))))

    # -- conditions

    def _atoms(self, pool: list[Atom], count: int) -> list[Atom]:
        chosen: list[Atom] = []
        groups: set[str] = set()
        for atom in self.rng.sample(pool, len(pool)):
            if atom.group not in groups:
                chosen.append(atom)
                groups.add(atom.group)
            if len(chosen) == count:
                break
        return chosen

    def _cluster(self) -> list[Atom]:
        """A service's few attributes (clustered): one atom of each of 3 or 4 groups."""
        return self._atoms(self.requirements, self.rng.choice((3, 4)))

    def _requirements(self, cluster: list[Atom]) -> list[Atom]:
        variant = self.spec.variant
        if variant == "wide":
            return self._atoms(self.requirements, self.rng.randint(5, 11))  # with requester.id: 6 to 12 attributes
        if variant == "clustered":
            return self._atoms(cluster, self.rng.randint(1, min(3, len(cluster))))
        return self._atoms(self.requirements, self.rng.choice((0, 1, 1, 2, 2, 3)))

    # -- rules

    def _area(self, actions: tuple[str, ...], purposes: tuple[str, ...]) -> str:
        if actions[0] == "use" and purposes and all(p.startswith("marketing") for p in purposes):
            return "marketing"
        return {"collect": "collection", "use": "use", "share": "disclosure", "transfer": "transfers"}[actions[0]]

    def _service(self, number: int, size: int, broad: bool = False, shared: bool = False) -> list[Rule]:
        """The rules of one service: allows, and a deny beside about one allow in four."""
        service = f"s{number:05}"
        guard = f'requester.id == "svc-{number:05}"'
        guard_value = ((("requester", "id"), f"svc-{number:05}"),)
        cluster = self._cluster()
        used: dict[str, set[str]] = {}
        prohibitions = self.rng.sample(self.prohibitions, len(self.prohibitions))
        rules: list[Rule] = []
        tries = 0
        while len(rules) < size and tries < size * 4:
            tries += 1
            if (shared or broad) and rules:
                break  # one allow (and its deny): two of them in one service would have one target
            if shared:
                actions, purposes, categories = (SHARED_TARGET[0],), (SHARED_TARGET[1],), (SHARED_TARGET[2],)
            elif broad:
                actions, purposes, categories = (), (), ()
            else:
                first = self.rng.choices(ACTIONS, ACTION_WEIGHTS)[0]
                actions = (first,) if self.rng.random() < 0.85 or first in ("collect", "use") else ("share", "transfer")
                found = self._purposes(used, actions)
                if found is None:
                    continue
                purposes, categories = found, self._categories()
            area = "rights" if not actions else self._area(actions, purposes)
            if not actions:
                area = "use"
            atoms = self._requirements(cluster)
            when, unless = [guard], []
            for atom in atoms:
                if atom.text == f"{atom.group} == true" and self.rng.random() < 0.15:
                    unless.append(atom.text[: -len(" == true")] + " == false")  # allows where it is true
                else:
                    when.append(atom.text)
            name = (purposes[0].rsplit(".", 1)[-1] if purposes else "any") + f"_{len(rules) + 1}"
            what = ", ".join(c.rsplit(".", 1)[-1].replace("_", " ") for c in categories) or "personal data"
            why = " and ".join(p.rsplit(".", 1)[-1].replace("_", " ") for p in purposes) or "its work"
            verb = VERBS[actions[0]] if actions else "processes"
            allow = Rule("allow", f"{area}.{service}.{name}", f"Service {number} {verb} {what} for {why}",
                         self.rng.choice(CITATIONS[area]), actions, purposes, categories, tuple(when), tuple(unless),
                         satisfy=guard_value + tuple(p for a in atoms for p in a.satisfy))
            if self.rng.random() < 0.2:
                allow.obligation = ("retention_limit", "Keep the data only as long as its purpose or the law needs it (§7)")
            rules.append(allow)
            if len(rules) < size and prohibitions and self.rng.random() < 0.25:
                forbid = prohibitions.pop()
                denied = Rule("deny", f"{area}.{service}.no_{name}", f"Service {number} may not, where {forbid.text}",
                              allow.cite, actions, purposes, categories[:2], (guard, forbid.text),
                              overrides=(f"{area}.{service}",))
                rules.append(denied)
        return rules

    def _set_wide(self, areas: list[str]) -> list[Rule]:
        """CX-ONE-GO's denies that hold whatever the service (§10, §7, §4, §3, §1), and its rights (§4)."""
        every = tuple(sorted(set(areas) | {"rights"}))
        uses = tuple(a for a in every if a != "rights")
        return [
            Rule("allow", "rights.access", "You may ask what personal data we collect, use and share", "§4",
                 ("access",), when=("context.identity_verified == true", "recipient.id is absent",
                                    "recipient.type is absent")),
            Rule("allow", "rights.correct", "You may update or correct your profile information", "§4", ("correct",),
                 when=("context.identity_verified == true", "recipient.id is absent", "recipient.type is absent")),
            Rule("deny", "children.under_18", "The Service is not intended for children under 18", "§10",
                 ("collect", "use", "share", "transfer", "access", "correct"), when=("data_subject.age < 18",),
                 overrides=every),
            Rule("deny", "retention.period_ended", "We keep personal data only as long as its purpose or the law requires",
                 "§7", ("use", "share", "transfer"), when=("context.retention_expired == true",), overrides=uses),
            Rule("deny", "rights.objection", "You objected to this processing of your personal data", "§4",
                 ("use", "share", "transfer"), when=("context.objection_upheld == true",), overrides=uses),
            Rule("deny", "disclosure.no_sale", "We are not in the business of selling your personal information", "§3",
                 ("collect", "use", "share", "transfer"), ("sales",), overrides=uses),
            Rule("deny", "minimisation.special_categories", "We do not collect or use special categories of data", "§1",
                 ("collect", "use", "share", "transfer"), categories=SPECIAL, overrides=uses),
        ]

    def build(self) -> Generated:
        spec = self.spec
        target = max(spec.rules - 7, 1)  # the set-wide rules count
        number = 0
        shared_left = min(SHARED, target) if spec.variant == "shared-target" else 0
        broad = 0
        while len(self.rules) < target:
            number += 1
            left = target - len(self.rules)
            if shared_left > 0:
                made = self._service(number, min(2, shared_left), shared=True)
                shared_left -= len(made)
            elif spec.variant == "broad" and broad < len(self.rules) / 4:
                made = self._service(number, min(2, left), broad=True)
                broad += len(made)
            else:
                made = self._service(number, min(self.rng.randint(4, 40), left))
            self.rules += made
        areas = sorted({r.rule_id.split(".")[0] for r in self.rules})
        self.rules += self._set_wide(areas)
        own = {k for k, _ in VOCABULARY_KEYS["data_uses"]} - {k for k, _ in self._declared_uses()}
        known = [p for p in self.tax.purposes if not any(p == k or p.startswith(k + ".") for k in own)]
        self.known_purposes = self.tax.leaves(known)  # a request's purpose: a key the set knows, with none below it
        return Generated(self._files(), self._requests(), self.rules)

    # -- files

    def _files(self) -> dict[str, str]:
        from pdp.lang.formatter import format_policy

        spec = self.spec
        files = {"cx-one-go.pdp": (
            "# Generated by bench/generate.py, modelled on the CX-ONE-GO policy set (policies/).\n"
            f"# {spec.rules} rules, variant {spec.variant}, registers of {spec.registers} entries, seed {spec.seed}.\n\n"
            f'policy "generated-{spec.variant}-{spec.rules}"\n  version "2026-11-24"\n  effective 2026-11-24\n'
            f'  title "CX-ONE-GO grown to {spec.rules} rules ({spec.variant})"\n\n'
            "lookup recipient in data.processors, data.affiliates\n"
            "  if unlisted, request states type, name, country\n"
            '  except type "affiliate"\n')}
        by_area: dict[str, list[Rule]] = {}
        for rule in self.rules:
            by_area.setdefault(rule.rule_id.split(".")[0], []).append(rule)
        for area, rules in sorted(by_area.items()):
            for start in range(0, len(rules), RULES_PER_FILE):
                part = rules[start:start + RULES_PER_FILE]
                path = f"{area}/part-{start // RULES_PER_FILE + 1:03}.pdp"
                files[path] = format_policy("\n".join(r.text() for r in part), path)  # as `pdp fmt` lays it out
        files["vocabulary.yaml"] = self._vocabulary()
        files["data/processors.yaml"] = "# Service providers (§3.2), keyed by recipient id. Generated.\n" + "".join(
            f"{p}: {{dpa: {'true' if self.dpa[p] else 'false'}, country: {('IN', 'US', 'DE', 'SG')[i % 4]}}}\n"
            for i, p in enumerate(self.processors))
        files["data/affiliates.yaml"] = "# Clicentrix affiliates (§8). Generated.\n" + "".join(
            f"{a}: {{type: affiliate, country: SG}}\n" for a in self.affiliates)
        files["data/facilities.yaml"] = "# Countries of Clicentrix facilities (§8).\ncountries: [IN, SG]\n"
        files["tests/generated.yaml"] = self._tests()
        return files

    def _declared_uses(self) -> list[tuple[str, str]]:
        """CX-ONE-GO's own purposes that some rule names (declared but never named, one would be a warning)."""
        named = {p for r in self.rules for p in r.purposes}
        return [(k, n) for k, n in VOCABULARY_KEYS["data_uses"] if any(p == k or p.startswith(k + ".") for p in named)]

    def _vocabulary(self) -> str:
        lines = ["# CX-ONE-GO's vocabulary, and the attributes the generated rules read.",
                 "actions: [access, correct]", "consent_topics: [marketing, cookies, location]",
                 "subject_requests: [access, correct, erase]"]
        declared = self._declared_uses()
        if declared:
            lines.append("data_uses:")
            lines += [f"  - key: {key}\n    name: {name}" for key, name in declared]
        lines.append("attributes:")
        lines += [f"  context.{flag}: bool" for flag in CONTEXT_FLAGS]
        lines += [f"  context.signal_{i:02}: bool" for i in range(1, SIGNALS + 1)]
        lines += [f"  context.block_{i:02}: bool" for i in range(1, SIGNALS + 1)]
        lines += [f"  context.level_{i:02}: number" for i in range(1, LEVELS + 1)]
        return "\n".join(lines) + "\n"

    # -- requests

    def _allowed_request(self, rule: Rule) -> dict:
        """A request the allow `rule` allows: its target, its requirements met, no prohibition stated."""
        rng = self.rng
        action = rng.choice(rule.actions or ACTIONS)
        purposes = [leaf for p in (rule.purposes or self.known_purposes) for leaf in self.known_purposes[p]]
        categories = sorted({leaf for c in (rule.categories or self.tax.categories) for leaf in self.tax.category_leaves[c]})
        request: dict[str, Any] = {"action": action, "purpose": rng.choice(purposes),
                                   "data_categories": sorted(set(rng.sample(categories, min(len(categories),
                                                                                           rng.randint(1, 3)))))}
        for path, value in rule.satisfy:
            holder = request
            for part in path[:-1]:
                holder = holder.setdefault(part, {})
            holder[path[-1]] = value
        request.setdefault("data_subject", {}).update({"id": f"u-{rng.randint(1, 10**6)}", "age": rng.randint(18, 90)})
        return request

    def _requests(self) -> list[dict]:
        allows = [r for r in self.rules if r.effect == "allow" and r.rule_id.count(".") == 2]
        out = []
        for _ in range(self.spec.requests):
            request = self._allowed_request(self.rng.choice(allows))
            roll = self.rng.random()
            if roll < 0.15:
                request["data_subject"]["age"] = self.rng.randint(10, 17)  # children.under_18
            elif roll < 0.3:
                request.setdefault("data_subject", {}).setdefault("consent", {})["marketing"] = False
            elif roll < 0.45:
                request["requester"] = {"id": f"svc-{self.rng.randint(1, 99999):05}"}  # most likely another service
            out.append(request)
        return out

    def _tests(self) -> str:
        allows = [r for r in self.rules if r.effect == "allow" and r.rule_id.count(".") == 2]
        lines = ['suite: "Generated cases (bench/generate.py): an allow\'s requirements met, then the same for a child"',
                 "cases:"]
        for i, rule in enumerate(self.rng.sample(allows, min(len(allows), max(1, self.spec.tests // 2)))):
            request = self._allowed_request(rule)
            lines += [f"  - name: case {2 * i + 1} is allowed by {rule.rule_id}",
                      f"    request: {json.dumps(request, sort_keys=True)}", "    expect: allow"]
            request["data_subject"]["age"] = 15
            lines += [f"  - name: case {2 * i + 2} is the same for a child (§10)",
                      f"    request: {json.dumps(request, sort_keys=True)}", "    expect: deny",
                      "    rules: [children.under_18]"]
        return "\n".join(lines) + "\n"


def generate(spec: Spec) -> Generated:
    """The policy set, requests and tests `spec` describes (pure: writes nothing)."""
    return _Builder(spec).build()


def write(generated: Generated, out: Path) -> None:
    """Write the set into `out` (created; files of an earlier set there are replaced, others left)."""
    for relative, text in generated.files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (out / "requests.json").write_text(json.dumps(generated.requests, indent=None, sort_keys=True) + "\n",
                                       encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1_000, help="rules in the set (50 to 20,000)")
    parser.add_argument("--variant", choices=VARIANTS, default="clustered")
    parser.add_argument("--registers", type=int, default=100, help="entries of data/processors.yaml (10 to 10,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1_000, help="seeded requests written to requests.json")
    parser.add_argument("--tests", type=int, default=20, help="cases written to tests/generated.yaml")
    parser.add_argument("--out", type=Path, required=True, help="the policy directory to write")
    args = parser.parse_args(argv)
    spec = Spec(args.rules, args.variant, args.registers, args.seed, args.requests, args.tests)
    generated = generate(spec)
    write(generated, args.out)
    print(f"{args.out}: {len(generated.rules)} rules in {sum(p.endswith('.pdp') for p in generated.files)} files, "
          f"{len(generated.requests)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())

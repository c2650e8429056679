"""The benchmark's workload: the seeded requests and the extra rules.

Everything here is plain data, shared by every engine adapter, so that all
engines answer exactly the same questions under the same policy:

- ``make_requests(n, seed)`` draws ``n`` pdp decision requests (the JSON
  shape of ``POST /v1/decide``, as dicts) from ``random.Random(seed)``;
- ``BASE_RULES`` is the benchmark policy as abstract rules; each adapter
  renders them in its own language (pdp's text is ``bench/policy/bench.pdp``
  and must say the same, which the agreement check verifies);
- ``make_extra_rules(n)`` lists ``n`` unrelated rules on declared but never
  requested actions and purposes: each could match some request, but none
  can match a request of ``make_requests``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEED = 20261125

# Real fideslang keys, plus the trap: ``essentials.billing`` starts with the
# text "essential" but is not *under* ``essential`` (not equal to it, and it
# does not start with "essential."). pdp declares it in
# bench/policy/vocabulary.yaml under a declared parent ``essentials``.
CATEGORIES = ("user.contact.email", "user.name", "user.device.ip_address")
PURPOSES = (
    "essential",
    "essential.service.payment_processing",
    "essential.service.authentication",
    "marketing.communications.email",
    "marketing.advertising.first_party.targeted",
    "analytics.reporting",
    "personalize.content",
    "essentials.billing",
)
TRAP_PURPOSE = "essentials.billing"
ACTIONS = ("use", "transfer")
COUNTRIES = ("IN", "US", "DE")
AGES = (10, 70)

# The conditions a rule may carry. Every engine renders each kind its own way.
ALWAYS = "always"
CONSENT_MARKETING = "consent_marketing"  # data_subject.consent.marketing == true
UNDER_18 = "under_18"  # data_subject.age < 18
ADULT = "adult"  # data_subject.age >= 18 (extra rules only)
ABROAD_WITHOUT_DPA = "abroad_without_dpa"  # destination != IN and recipient.dpa == false
IN_OR_DPA = "in_or_dpa"  # destination == IN or recipient.dpa == true
CONDITIONS = (ALWAYS, CONSENT_MARKETING, UNDER_18, ABROAD_WITHOUT_DPA, IN_OR_DPA, ADULT)


@dataclass(frozen=True)
class Rule:
    """One rule; ``None`` for action, purpose or category means "any"."""

    rule_id: str
    effect: str  # "allow" | "deny"
    action: str | None
    purpose: str | None
    category: str | None
    condition: str = ALWAYS


# The benchmark policy. Default deny; any deny wins.
BASE_RULES = (
    Rule("purpose.essential_use", "allow", "use", "essential", "user", ALWAYS),
    Rule("marketing.with_consent", "allow", "use", "marketing", "user", CONSENT_MARKETING),
    Rule("children.under_18", "deny", None, None, None, UNDER_18),
    Rule("transfers.abroad_without_dpa", "deny", "transfer", None, None, ABROAD_WITHOUT_DPA),
    Rule("transfers.essential_in_or_dpa", "allow", "transfer", "essential", None, IN_OR_DPA),
)

# Declared but never requested. The fideslang keys are chosen so that none
# is equal to, above or below a requested purpose: a request names
# everything below its key, so a deny ``for essential.fraud_detection``
# would take part in a request ``for essential`` (docs/language.md, "A broad
# key in a request"). The actions and the ``unused.*`` purposes are declared
# in the vocabulary of the pdp extra-rules copy.
UNUSED_ACTIONS = ("archive", "export", "profile", "sell", "train")
UNUSED_TAXONOMY_PURPOSES = (
    "sales",
    "train_ai_system",
    "employment.recruitment",
    "finance",
    "third_party_sharing",
    "functional.service.improve",
    "personalize.profiling",
    "marketing.advertising.profiling",
    "functional.storage",
    "operations",
)
UNUSED_PURPOSE_PARENT = "unused"
UNUSED_PURPOSES = tuple(f"{UNUSED_PURPOSE_PARENT}.p{i:03d}" for i in range(400))
REAL_PURPOSES_FOR_EXTRA = ("essential", "marketing", "analytics", "personalize")
EXTRA_CATEGORIES = ("user", "user.contact", "user.device", None)


def under(key: str, parent: str) -> bool:
    """``key`` is ``parent`` or a key below it (``parent`` + "." + ...)."""
    return key == parent or key.startswith(parent + ".")


def make_requests(n: int = 1000, seed: int = SEED) -> list[dict]:
    """``n`` decision requests in pdp's JSON form, drawn from ``Random(seed)``.

    Every request carries every attribute the policy reads (one data
    category, the subject's age and marketing consent, a destination and
    the recipient's DPA status), so no condition is ever unknown and the
    engines' different treatments of missing attributes do not enter.
    """
    rng = random.Random(seed)
    out = []
    for i in range(n):
        action = rng.choice(ACTIONS)
        purpose = rng.choice(PURPOSES)
        category = rng.choice(CATEGORIES)
        age = rng.randint(*AGES)
        consent = rng.random() < 0.5
        destination = rng.choice(COUNTRIES)
        dpa = rng.random() < 0.5
        out.append(
            {
                "action": action,
                "purpose": purpose,
                "data_categories": [category],
                "data_subject": {
                    "id": f"u-{i:04d}",
                    "type": "customer",
                    "age": age,
                    "country": "IN",
                    "consent": {"marketing": consent},
                },
                "recipient": {"type": "service_provider", "dpa": dpa, "country": destination},
                "destination_country": destination,
                "requester": {"id": "bench"},
            }
        )
    return out


BROAD_CATEGORY = "user"


def broad(request: dict) -> dict:
    """The request asking for all of the person's data (``data_categories: ["user"]``) instead of one kind.

    Under the benchmark policy the decision is the same (its allows are on
    ``user`` or on every category, its denies on every category), so the
    oracle still decides it; what changes is the key the engine is asked
    about, and so what a broad key costs.
    """
    return {**request, "data_categories": [BROAD_CATEGORY]}


def make_extra_rules(n: int = 1000) -> list[Rule]:
    """``n`` distinct rules that never match a request of ``make_requests``.

    A third name a declared but unused action on a real purpose, a third a
    real action (``use``/``transfer``) on an unused purpose, a third both.
    Half allow, half deny; they carry the same kinds of conditions as the
    policy's own rules. Distinct up to about 1,400 rules (Casbin stores
    rules as rows and refuses duplicates).
    """
    rules = []
    unused_purposes = UNUSED_TAXONOMY_PURPOSES + UNUSED_PURPOSES
    conds = CONDITIONS
    for i in range(n):
        effect = "allow" if i % 2 == 0 else "deny"
        kind, j = i % 3, i // 3  # j counts the rules of one kind
        if kind == 0:
            action = UNUSED_ACTIONS[j % len(UNUSED_ACTIONS)]
            purpose = REAL_PURPOSES_FOR_EXTRA[(j // 5) % len(REAL_PURPOSES_FOR_EXTRA)]
            category = EXTRA_CATEGORIES[(j // 20) % len(EXTRA_CATEGORIES)]
            condition = conds[(j // 80) % len(conds)]
        elif kind == 1:
            action = ACTIONS[j % len(ACTIONS)]
            purpose = unused_purposes[j % len(unused_purposes)]
            category = EXTRA_CATEGORIES[j % len(EXTRA_CATEGORIES)]
            condition = conds[j % len(conds)]
        else:
            action = UNUSED_ACTIONS[j % len(UNUSED_ACTIONS)]
            purpose = unused_purposes[(j * 7) % len(unused_purposes)]
            category = EXTRA_CATEGORIES[(j // 3) % len(EXTRA_CATEGORIES)]
            condition = conds[(j // 2) % len(conds)]
        rules.append(Rule(f"extra.r{i:04d}", effect, action, purpose, category, condition))
    return rules


def takes_part(rule: Rule, key: str, requested: str) -> bool:
    """Does a rule on ``key`` take part in deciding a request for ``requested``?

    pdp's reading of a broad key: an allow must cover the requested key
    whole (``requested`` is ``key`` or below it); a deny takes part when
    the keys overlap (either is under the other).
    """
    return under(requested, key) or (rule.effect == "deny" and under(key, requested))


def rule_scope_covers(rule: Rule, request: dict) -> bool:
    """The rule's action, purpose and category take part in the request (conditions aside)."""
    if rule.action is not None and rule.action != request["action"]:
        return False
    if rule.purpose is not None and not takes_part(rule, rule.purpose, request["purpose"]):
        return False
    if rule.category is not None:
        return any(takes_part(rule, rule.category, c) for c in request["data_categories"])
    return True


def assert_extra_rules_never_match(rules: list[Rule], requests: list[dict]) -> None:
    """Fail if an extra rule could apply to a request (the bench would lie)."""
    for rule in rules:
        for req in requests:
            if rule_scope_covers(rule, req):
                raise AssertionError(f"extra rule {rule.rule_id} covers request {req}")

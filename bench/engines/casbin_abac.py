"""Casbin (pycasbin), two ways of writing ABAC.

Requests are ``(sub, obj, act)``: the data subject and the resource are
small attribute objects (casbin's ABAC reads ``r.sub.age``), the action is
a string. "Under" is a custom function registered with ``add_function``.
Policy effect: ``some(where (p.eft == allow)) && !some(where (p.eft == deny))``.

- **one matcher**: every rule is a policy row ``(act, purpose, category,
  condition, eft)``; one matcher evaluates any row against the request,
  with a ``*`` row value meaning "any" and the condition picked by name;
- **row-level eval**: every rule is a row ``(act, rule, eft)`` whose
  ``rule`` is a casbin expression run with ``eval(p.rule)`` (casbin's
  documented row-level ABAC).
"""

from __future__ import annotations

import json
from typing import Sequence

from bench.engines import Adapter, Compiled, single_category
from bench.workload import (
    ABROAD_WITHOUT_DPA,
    ADULT,
    ALWAYS,
    BASE_RULES,
    CONSENT_MARKETING,
    IN_OR_DPA,
    UNDER_18,
    Rule,
)

ANY = "*"


class Subject:
    __slots__ = ("id", "age", "consent_marketing")

    def __init__(self, id, age, consent_marketing):
        self.id = id
        self.age = age
        self.consent_marketing = consent_marketing


class Resource:
    __slots__ = ("purpose", "category", "destination", "dpa")

    def __init__(self, purpose, category, destination, dpa):
        self.purpose = purpose
        self.category = category
        self.destination = destination
        self.dpa = dpa


def under(key: str, parent: str) -> bool:
    return parent == ANY or key == parent or key.startswith(parent + ".")


_MATCHER_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = act, purp, cat, cond, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.act == "*" || r.act == p.act) && under(r.obj.purpose, p.purp) \
&& under(r.obj.category, p.cat) \
&& (p.cond == "always" \
|| (p.cond == "consent_marketing" && r.sub.consent_marketing == True) \
|| (p.cond == "under_18" && r.sub.age < 18) \
|| (p.cond == "adult" && r.sub.age >= 18) \
|| (p.cond == "abroad_without_dpa" && r.obj.destination != "IN" && r.obj.dpa == False) \
|| (p.cond == "in_or_dpa" && (r.obj.destination == "IN" || r.obj.dpa == True)))
"""

_EVAL_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = act, rule, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.act == "*" || r.act == p.act) && eval(p.rule)
"""

_EVAL_CONDITIONS = {
    ALWAYS: None,
    CONSENT_MARKETING: "r.sub.consent_marketing == True",
    UNDER_18: "r.sub.age < 18",
    ADULT: "r.sub.age >= 18",
    ABROAD_WITHOUT_DPA: 'r.obj.destination != "IN" && r.obj.dpa == False',
    IN_OR_DPA: '(r.obj.destination == "IN" || r.obj.dpa == True)',
}


def matcher_row(rule: Rule) -> list[str]:
    return [
        rule.action or ANY,
        rule.purpose or ANY,
        rule.category or ANY,
        rule.condition,
        rule.effect,
    ]


def eval_row(rule: Rule) -> list[str]:
    parts = []
    if rule.purpose is not None:
        parts.append(f"under(r.obj.purpose, {json.dumps(rule.purpose)})")
    if rule.category is not None:
        parts.append(f"under(r.obj.category, {json.dumps(rule.category)})")
    if _EVAL_CONDITIONS[rule.condition]:
        parts.append(_EVAL_CONDITIONS[rule.condition])
    return [rule.action or ANY, " && ".join(parts) or "True", rule.effect]


class _CasbinBase(Adapter):
    packages = ("casbin", "simpleeval")
    model_text = ""

    def to_native(self, request: dict) -> tuple:
        subject = request.get("data_subject", {})
        recipient = request.get("recipient", {})
        sub = Subject(
            subject.get("id"),
            subject.get("age"),
            subject.get("consent", {}).get("marketing"),
        )
        obj = Resource(
            request["purpose"],
            single_category(request),
            request.get("destination_country"),
            recipient.get("dpa"),
        )
        return (sub, obj, request["action"])

    def rows(self, rules: Sequence[Rule]) -> list[list[str]]:
        raise NotImplementedError

    def compile(self, extra_rules: Sequence[Rule] = ()) -> Compiled:
        import casbin

        model = casbin.Enforcer.new_model(text=self.model_text)
        enforcer = casbin.Enforcer(model)
        enforcer.add_function("under", under)
        rows = self.rows(list(BASE_RULES) + list(extra_rules))
        enforcer.add_policies(rows)
        if len(enforcer.get_policy()) != len(rows):  # casbin drops duplicate rows
            raise ValueError(f"casbin kept {len(enforcer.get_policy())} of {len(rows)} rows")
        enforce = enforcer.enforce

        def call(native):
            return enforce(*native)

        def decision(result) -> str:
            return "allow" if result else "deny"

        return Compiled(call, decision)


class CasbinMatcherAdapter(_CasbinBase):
    key = "casbin"
    label = "Casbin (`casbin` {casbin}), one matcher"
    model_text = _MATCHER_MODEL

    def rows(self, rules):
        return [matcher_row(r) for r in rules]


class CasbinEvalAdapter(_CasbinBase):
    key = "casbin-eval"
    label = "Casbin, row-level `eval` ABAC"
    model_text = _EVAL_MODEL

    def rows(self, rules):
        return [eval_row(r) for r in rules]

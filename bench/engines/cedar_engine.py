"""Cedar through ``cedarpy``.

Schema-less: the request's attributes travel in Cedar's ``context``; the
principal is the data subject, the action is the pdp action, the resource
is the data category. The policy set and the (empty) entity set are parsed
once into handles (``PolicySet.from_str``, ``Entities.from_json_str``);
principal, action and resource use the JSON-EUID dict form, the fastest
form cedarpy documents. "Under" is ``== key || like "key.*"``.
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

_CONDITIONS = {
    ALWAYS: None,
    CONSENT_MARKETING: "context.data_subject.consent.marketing == true",
    UNDER_18: "context.data_subject.age < 18",
    ADULT: "context.data_subject.age >= 18",
    ABROAD_WITHOUT_DPA: 'context.destination_country != "IN" && context.recipient.dpa == false',
    IN_OR_DPA: '(context.destination_country == "IN" || context.recipient.dpa == true)',
}


def _under(attr: str, key: str) -> str:
    return f"({attr} == {json.dumps(key)} || {attr} like {json.dumps(key + '.*')})"


def render_rule(rule: Rule) -> str:
    effect = "permit" if rule.effect == "allow" else "forbid"
    action = "action" if rule.action is None else f'action == Action::"{rule.action}"'
    conds = []
    if rule.purpose is not None:
        conds.append(_under("context.purpose", rule.purpose))
    if rule.category is not None:
        conds.append(_under("context.category", rule.category))
    if _CONDITIONS[rule.condition]:
        conds.append(_CONDITIONS[rule.condition])
    when = f"\nwhen {{ {' && '.join(conds)} }}" if conds else ""
    return f'@id("{rule.rule_id}")\n{effect}(principal, {action}, resource){when};\n'


def render_policies(rules: Sequence[Rule]) -> str:
    return "\n".join(render_rule(r) for r in rules)


class CedarAdapter(Adapter):
    key = "cedar"
    label = "Cedar (`cedarpy` {cedarpy})"
    packages = ("cedarpy",)

    def to_native(self, request: dict) -> dict:
        category = single_category(request)
        subject = request.get("data_subject", {})
        context = {
            "purpose": request["purpose"],
            "category": category,
            "data_subject": subject,
            "recipient": request.get("recipient", {}),
            "destination_country": request.get("destination_country", ""),
        }
        return {
            "principal": {"type": "DataSubject", "id": subject.get("id", "anonymous")},
            "action": {"type": "Action", "id": request["action"]},
            "resource": {"type": "DataCategory", "id": category},
            "context": context,
        }

    def source(self, extra_rules: Sequence[Rule] = ()) -> str:
        return render_policies(list(BASE_RULES) + list(extra_rules))

    def compile(self, extra_rules: Sequence[Rule] = ()) -> Compiled:
        import cedarpy

        policies = cedarpy.PolicySet.from_str(self.source(extra_rules))
        entities = cedarpy.Entities.from_json_str("[]")
        is_authorized = cedarpy.is_authorized

        def call(native):
            return is_authorized(native, policies, entities)

        def decision(result) -> str:
            if result.diagnostics.errors:
                raise RuntimeError(f"cedar evaluation errors: {result.diagnostics.errors}")
            return "allow" if result.allowed else "deny"

        return Compiled(call, decision)

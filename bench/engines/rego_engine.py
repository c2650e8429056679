"""Rego through ``regopy`` (rego-cpp).

The input document is the pdp request itself (Rego reads JSON as it is).
The module is compiled once into a bundle with the entrypoint
``bench/decision``; each call sets the input and runs the bundle's
entrypoint (``query_bundle_entrypoint``), the fastest way regopy offers
(``Interpreter.query`` would recompile the module on every call).

Per-category semantics as in pdp: every category needs some allow rule
(``permitted(c)``), and a deny rule applies if it covers any category.
"""

from __future__ import annotations

import json
from typing import Sequence

from bench.engines import Adapter, Compiled
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

HEADER = """package bench

import rego.v1

under(k, p) if k == p

under(k, p) if startswith(k, concat("", [p, "."]))

in_or_dpa if input.destination_country == "IN"

in_or_dpa if input.recipient.dpa == true

default decision := "deny"

decision := "allow" if {
\tcount(input.data_categories) > 0
\tevery c in input.data_categories {
\t\tpermitted(c)
\t}
\tnot denied
}
"""

_CONDITIONS = {
    ALWAYS: [],
    CONSENT_MARKETING: ["input.data_subject.consent.marketing == true"],
    UNDER_18: ["input.data_subject.age < 18"],
    ADULT: ["input.data_subject.age >= 18"],
    ABROAD_WITHOUT_DPA: ['input.destination_country != "IN"', "input.recipient.dpa == false"],
    IN_OR_DPA: ["in_or_dpa"],
}

ENTRYPOINT = "bench/decision"


def render_rule(rule: Rule) -> str:
    body = []
    if rule.action is not None:
        body.append(f"input.action == {json.dumps(rule.action)}")
    if rule.purpose is not None:
        body.append(f"under(input.purpose, {json.dumps(rule.purpose)})")
    if rule.effect == "allow":
        head = "permitted(c) if {"
        if rule.category is not None:
            body.append(f"under(c, {json.dumps(rule.category)})")
    else:
        head = "denied if {"
        if rule.category is not None:
            body.append("some c in input.data_categories")
            body.append(f"under(c, {json.dumps(rule.category)})")
    body += _CONDITIONS[rule.condition]
    if rule.effect == "allow" and rule.category is None:
        # a function argument must be used; any category is covered
        body.append("is_string(c)")
    if not body:
        body.append("true")
    lines = "".join(f"\t{b}\n" for b in body)
    return f"# {rule.rule_id}\n{head}\n{lines}}}\n"


def render_module(rules: Sequence[Rule]) -> str:
    return HEADER + "\n" + "\n".join(render_rule(r) for r in rules)


class RegoAdapter(Adapter):
    key = "rego"
    label = "Rego (`regopy` {regopy})"
    packages = ("regopy",)

    def to_native(self, request: dict) -> dict:
        return json.loads(json.dumps(request))  # a plain JSON-able copy

    def source(self, extra_rules: Sequence[Rule] = ()) -> str:
        return render_module(list(BASE_RULES) + list(extra_rules))

    def compile(self, extra_rules: Sequence[Rule] = ()) -> Compiled:
        import regopy

        builder = regopy.Interpreter()
        builder.add_module("bench.rego", self.source(extra_rules))
        bundle = builder.build("data.bench.decision", [ENTRYPOINT])
        if not bundle.ok():
            raise RuntimeError(f"rego bundle failed to build: {bundle.node()}")
        interp = regopy.Interpreter()
        set_input = interp.set_input
        run = interp.query_bundle_entrypoint

        def call(native):
            set_input(native)
            return run(bundle, ENTRYPOINT)

        def decision(output) -> str:
            if not output.ok():
                raise RuntimeError(f"rego evaluation error: {output}")
            return output[0][0]

        return Compiled(call, decision)

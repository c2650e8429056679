"""Attribute values: read from a request, and written as a policy writes them (lang.printer)."""

from __future__ import annotations

from typing import Any

from pdp.engine.conditions import MISSING, getter
from pdp.lang import printer

show = printer.expression  # a condition as it is written in a policy


def read(env: Any, parts: tuple[str, ...]) -> Any:
    """The attribute at `parts`, or MISSING when it is absent or null: as a condition reads it (conditions.getter)."""
    return getter(parts)(env) if type(env) is dict else MISSING


def fmt(value: Any) -> str:
    """A value as the policy language writes it ("text", 34, true, [a, b]); an attribute the request lacks: absent."""
    return "absent" if value is MISSING else printer.value(value)


def _word(value: bool | None) -> str:
    return "unknown" if value is None else fmt(value)

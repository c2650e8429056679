"""What a request is about (action, purpose, categories), checked as the engine checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdp.engine.policy_set import PolicySet
from pdp.vocab import taxonomy as tx
from pdp.engine.compiler import CompiledRule


@dataclass(frozen=True)
class Target:
    """What a request is about, as the rule index sees it.

    An AuthZEN request names an action only: its purpose is None and it has no categories.
    """

    action: str
    purpose: str | None
    categories: tuple[str, ...]

    @property
    def authzen(self) -> bool:
        return self.purpose is None

    def about(self, rule: CompiledRule) -> bool:
        """Does the rule take part in deciding this request? (as the engine's index sees it)"""
        if self.purpose is None:
            return rule.actions is None or self.action in rule.actions
        return bool(self.covered(rule))

    def covered(self, rule: CompiledRule) -> tuple[str, ...]:
        """The requested categories the rule's target reaches (none for an AuthZEN request).

        As the engine sees it (`CompiledRule.reaches`): a deny reaches the
        categories its own overlap, an allow those it covers whole.
        """
        purpose = self.purpose
        if purpose is None:
            return ()
        return tuple(c for c in self.categories if rule.reaches(self.action, purpose, c))

    def near(self, rule: CompiledRule) -> bool:
        """About this action and one of these categories, whatever the purpose."""
        return (rule.actions is None or self.action in rule.actions) and (
            self.authzen or rule.categories is None
            or any(tx.overlaps(k, c) for c in self.categories for k in rule.categories))


def target_of(request: dict, authzen: bool) -> Target:
    """What a request already checked is about."""
    if authzen:
        return Target(request["action"]["name"], None, ())
    return Target(request["action"], request["purpose"], tuple(request["data_categories"]))


def prepare(policy_set: PolicySet, request: Any) -> tuple[Target, dict]:
    """Check a request as the engine does (raises RequestError) -> its target and what conditions read,
    in the version that decides it (`policy_set.select(request).version`)."""
    selection = policy_set.select(request)
    return target_of(selection.request, not policy_set.model.names_data_use), selection.env

"""pdp: a policy-as-code engine for data-use decisions.

    import pdp
    policies = pdp.load("policies")       # parse, check and compile once
    d = policies.decide({"action": "use", "purpose": "analytics.reporting",
                         "data_categories": ["user.behavior"]})
    d.decision                            # "allow" or "deny"
"""

from typing import Any

from pdp.base.errors import Diagnostic, PolicyError, RequestError
from pdp.engine.build import build
from pdp.engine.decision import Decision
from pdp.engine.policy_set import PolicySet
from pdp.engine.sources import EarlierVersion, Sources
from pdp.io.loader import load
from pdp.io.ledger_reader import LedgerDecider


def with_ledger(policy_set: PolicySet, ledger: Any, **options: Any) -> LedgerDecider:
    """`policy_set` deciding with a consent ledger (a `pdp.ledger.Ledger`, or the path or URL of one, which must
    exist): the attributes the set declares (`ledger fills ...`) are filled from the data subject's recorded
    choices before deciding. `options`: those of `pdp.io.ledger_reader.SubjectStates` (cache, recheck_s, wait_s)."""
    from pdp.io.ledger_reader import SubjectStates
    from pdp.ledger import Ledger, open_ledger

    opened = ledger if isinstance(ledger, Ledger) else open_ledger(ledger, create=False)
    return LedgerDecider(policy_set, SubjectStates(opened, **options))


__all__ = ["load", "build", "with_ledger", "LedgerDecider", "Sources", "EarlierVersion", "PolicySet", "Decision",
           "PolicyError", "RequestError", "Diagnostic"]
__version__ = "0.1.0"

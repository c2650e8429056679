"""pdp: a policy-as-code engine for data-use decisions.

    import pdp
    policies = pdp.load("policies")       # parse, check and compile once
    d = policies.decide({"action": "use", "purpose": "analytics.reporting",
                         "data_categories": ["user.behavior"]})
    d.decision                            # "allow" or "deny"
"""

from pdp.base.errors import Diagnostic, PolicyError, RequestError
from pdp.engine.build import build
from pdp.engine.decision import Decision
from pdp.engine.policy_set import PolicySet
from pdp.engine.sources import EarlierVersion, Sources
from pdp.io.loader import load

__all__ = ["load", "build", "Sources", "EarlierVersion", "PolicySet", "Decision", "PolicyError", "RequestError", "Diagnostic"]
__version__ = "0.1.0"

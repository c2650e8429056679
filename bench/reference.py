"""The oracle: the benchmark policy as hand-written Python ``if`` statements.

Every engine must give the same decision as ``decide`` on every request of
the workload. It is also timed, as the floor ("hand-written Python `if`",
not an engine): no parsing, no rule objects, nothing to configure.

The policy (default deny, any deny wins; "under" = equal to the key or
starting with key + "."):

- allow ``use`` of ``user*`` data for ``essential*`` purposes;
- allow ``use`` of ``user*`` data for ``marketing*`` purposes when the data
  subject consented to marketing;
- deny anything when the data subject is under 18;
- deny a ``transfer`` outside IN without a DPA;
- allow a ``transfer`` for ``essential*`` purposes inside IN or under a DPA.

Every data category of a request must be allowed for the decision to be
``allow``.
"""

from __future__ import annotations


def _under(key: str, parent: str) -> bool:
    return key == parent or key.startswith(parent + ".")


def decide(request: dict) -> str:
    """``"allow"`` or ``"deny"`` for one request in pdp's JSON form."""
    action = request["action"]
    purpose = request["purpose"]
    subject = request.get("data_subject") or {}
    recipient = request.get("recipient") or {}
    destination = request.get("destination_country")
    age = subject.get("age")
    dpa = recipient.get("dpa")

    # Deny rules: any one wins. A missing attribute makes a condition
    # unknown, and an unknown condition does not apply.
    if age is not None and age < 18:
        return "deny"
    if action == "transfer" and destination is not None and dpa is not None:
        if destination != "IN" and dpa is False:
            return "deny"

    # Allow rules: every category must be covered by some allow rule.
    consent = (subject.get("consent") or {}).get("marketing")
    for category in request["data_categories"]:
        allowed = False
        if action == "use" and _under(category, "user"):
            if _under(purpose, "essential"):
                allowed = True
            elif _under(purpose, "marketing") and consent is True:
                allowed = True
        if action == "transfer" and _under(purpose, "essential"):
            if destination == "IN" or dpa is True:
                allowed = True
        if not allowed:
            return "deny"
    return "allow"

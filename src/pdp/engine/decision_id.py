"""Decision ids: unique, and ordered as the decisions were made (UUIDv7, RFC 9562).

Why time-ordered rather than random (UUIDv4): the decision log keys its rows
by id, and ids that grow with time are appended at the end of its index
instead of landing on a random page, so a commit writes a few pages rather
than one per decision. Auditors also get ids that sort as the decisions
happened. The id is 32 lowercase hex digits, as before.
"""

from __future__ import annotations

from uuid_utils import uuid7


def new_decision_id() -> str:
    return uuid7().hex

"""The server's consent ledger: opened from the settings when the service starts, closed when it stops.

`PDP_LEDGER_URL` (`pdp serve --ledger`) names it: a SQLite file or a
PostgreSQL URL; its key comes from `PDP_LEDGER_KEY_FILE` / `PDP_LEDGER_KEY`
(else, for SQLite, `<file>.key` beside it: `pdp.ledger.connect`). The server
never makes a new SQLite ledger: a mistyped path would be served as an
empty ledger, and a decision that found no opt-out there could allow what
a recorded one denies. Make it first with `pdp consent init`.
"""

from __future__ import annotations

from pdp.ledger import Ledger, LedgerConfigError
from pdp.ledger import open_ledger as open_store
from pdp.ledger.connect import display, url_of


def open_ledger(settings) -> Ledger | None:
    """The ledger `settings.ledger_url` names, opened (its schema migrated, its key checked), or None without
    one; LedgerConfigError (a clear message) when it cannot be opened."""
    if not settings.ledger_url:
        return None
    return open_store(settings.ledger_url, create=False)


def describe(settings) -> str:
    """The ledger, as `pdp serve` announces it: where it is (a URL without its password)."""
    if not settings.ledger_url:
        return "off"
    try:
        return display(url_of(settings.ledger_url))
    except LedgerConfigError:
        return "(not a valid URL)"


__all__ = ["describe", "open_ledger"]

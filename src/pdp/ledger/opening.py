"""Open a ledger: the engine for a path or URL, the schema migrated, the key checked against the ledger's."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import migrate, schema
from .connect import WRITE, LedgerConfigError, display, engine_for, ledger_secret, url_of
from .sealing import LedgerKeys
from .store import Ledger, utc_now


def open_ledger(target: str | os.PathLike[str], *, key: bytes | str | None = None,
                key_file: str | os.PathLike[str] | None = None,
                clock: Callable[[], datetime] = utc_now, create: bool = True) -> Ledger:
    """The ledger at `target` (a file path: embedded SQLite; or a sqlite:/// or postgresql:// URL), its schema
    brought up to date; with `create=False` a SQLite file must exist already.

    LedgerConfigError (a clear message, never a traceback) when it cannot be opened as asked, among others when
    the key is not the one the ledger was made with: a wrong key would find no subject's choices, and a decision
    that found none could allow what a recorded opt-out denies."""
    url = url_of(target)
    if not create and url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise LedgerConfigError(f"no ledger at `{url.database}`")
    try:
        keys = LedgerKeys.from_secret(ledger_secret(url, key, key_file))
    except ValueError as error:
        raise LedgerConfigError(str(error)) from None
    engine = engine_for(url)
    try:
        migrate.upgrade(engine)
        _check_key(engine, keys)
    except SQLAlchemyError as error:
        engine.dispose()
        cause = getattr(error, "orig", None)
        reason = str(cause) if cause is not None else str(error)
        raise LedgerConfigError(f"cannot open the ledger at `{display(url)}`: {reason.strip().splitlines()[0]}") from None
    except LedgerConfigError:
        engine.dispose()
        raise
    return Ledger(engine, keys, clock=clock)


def _check_key(engine: Engine, keys: LedgerKeys) -> None:
    check = "sha256:" + hmac.digest(keys.pseudonym_key, b"pdp-ledger key check", "sha256").hex()
    with engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            kept = connection.execute(select(schema.sequence.c.key_check).where(schema.sequence.c.id == 1)
                                      .with_for_update()).scalar_one()
            if kept is None:
                connection.execute(update(schema.sequence).where(schema.sequence.c.id == 1).values(key_check=check))
            elif not hmac.compare_digest(kept, check):
                raise LedgerConfigError("the ledger key is not the key this ledger was made with "
                                        "(check PDP_LEDGER_KEY_FILE / PDP_LEDGER_KEY)")


__all__ = ["open_ledger"]

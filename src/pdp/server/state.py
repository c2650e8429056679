"""The policy set being served, swapped atomically when a new one loads.

A new set is loaded off to the side; only when it parsed, checked and
compiled cleanly, from a snapshot no file changed under (see snapshot) or
from a bundle that verified (see bundles), does it replace the one in
service. A failed load of any kind (policy errors, an
unreadable file, a bug) keeps the last good set serving and is remembered
for `/v1/policies`.

Loading takes no lock: a load that hangs (a file that blocks reading) must
not stop later reloads. Only the swap is serialised, and a load that started
before the set in service was loaded never replaces it.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import threading
from dataclasses import dataclass
from pathlib import Path

from pdp.base.errors import Diagnostic, PolicyError
from pdp.engine.policy_set import PolicySet
from pdp.base.source import Span
from pdp.io.bundle import BundleError
from .snapshot import Fingerprint, ReloadFault, Snapshot, load_snapshot


@dataclass(frozen=True)
class LoadFailure:
    at: str
    errors: list[dict]


@dataclass(frozen=True)
class ActiveBundle:
    """The bundle the set in service came from (`/v1/policies`, `pdp_bundle_info`); activated at `loaded_at`."""

    revision: str
    digest: str  # the bundle's content address
    url: str
    signed_by: str | None  # the key id; None when unsigned bundles were allowed


@dataclass(frozen=True)
class BundleFailure:
    at: str
    reason: str  # one of pdp.io.bundle.errors.REASONS
    message: str


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def fault_errors(directory: Path | str, error: BaseException) -> list[dict]:
    """A fault that is not a policy error (an unreadable file, too many open files, a bug), as one error entry."""
    if isinstance(error, OSError):
        where = error.filename or directory
        message = f"cannot read `{where}`: {error.strerror or error.__class__.__name__}"
        hint = "check the file's type and permissions; the last good set keeps serving"
    elif isinstance(error, (ReloadFault, BundleError)):
        message, hint = error.message, error.hint
    else:
        message = f"internal error while loading ({error.__class__.__name__})"
        hint = "the last good set keeps serving; please report this with the policy files"
    return [Diagnostic("reload-failed", message[:500], Span(str(directory), 0, 0), hint).to_dict()]


def settle_collector() -> None:
    """After a set is swapped in: the set replaced freed, and the one in service kept out of the collector's walks.

    A loaded set is millions of objects that live until the next swap; left to the collector, its next full
    collection walks them all inside some decision (a 20,000-rule set: seconds, issue 10). Frozen
    (`gc.freeze`), they are skipped by every collection. The set replaced must be unfrozen first, or its cycles
    (a set is in its own `history`) are never collected; the one collection then walks both sets, once a
    swap, holding the interpreter (and so every decision) for as long (docs/service.md, Hot reload)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class PolicyHolder:
    """The set in service and where it comes from: a directory (`directory`) or a bundle URL (`bundle_url`)."""

    def __init__(self, directory: Path | None, bundle_url: str | None = None, remember_requests: bool = True):
        self.directory = Path(directory) if directory is not None else None
        self.remember_requests = remember_requests  # off: every set served without its request memo (PDP_REQUEST_MEMO)
        self.bundle_url = bundle_url
        self.current: PolicySet | None = None
        self.loaded_at: str | None = None
        self.last_failure: LoadFailure | None = None
        self.bundle: ActiveBundle | None = None
        self.bundle_failure: BundleFailure | None = None  # the last bundle refused, until one activates
        self._tickets = itertools.count(1)
        self._served_ticket = 0
        self._swap_lock = threading.Lock()
        # set by the server while it runs (it owns the process's collector): each swap ends with `settle_collector`
        self.freezing = False
        self.served = None  # how /v1/decide decides with the set in service (`deciding.served`), made on first use

    @property
    def origin(self) -> str:
        return self.bundle_url if self.bundle_url is not None else str(self.directory)

    def waiting_for(self) -> str | None:
        """Why no set is in service, when the reason is worth saying (a bundle never loaded), else None."""
        if self.current is not None or self.bundle_url is None:
            return None
        reason = f"no good policy bundle has been loaded from {self.bundle_url} yet; nothing is decided until one is"
        failure = self.bundle_failure
        return reason if failure is None else f"{reason} (last attempt, {failure.at}: {failure.reason}: {failure.message})"

    def ticket(self) -> int:
        """Taken when a load starts; a load only replaces a set loaded from an earlier start."""
        return next(self._tickets)

    def attempt(self) -> PolicySet:
        """Load a consistent snapshot of the directory; raises whatever went wrong (the caller records it)."""
        assert self.directory is not None, "a bundle is not loaded from a directory"
        return load_snapshot(self.directory)

    def adopt(self, snapshot: Snapshot) -> Fingerprint:
        """Serve a set loaded before the server started (`pdp serve` loads it to check it: once, not twice).

        Returns the fingerprint of the state it was read from: the caller reloads if the directory has
        moved on since (a change before the watcher started would otherwise go unseen)."""
        self.activate(self.ticket(), snapshot.policy_set)
        return snapshot.fingerprint

    def activate(self, ticket: int, policy_set: PolicySet, bundle: ActiveBundle | None = None) -> bool:
        """Swap `policy_set` in (with the bundle it came from, in the same step); False if a later load won."""
        if not self.remember_requests:
            policy_set.forget_requests()
        with self._swap_lock:
            if ticket < self._served_ticket:
                return False
            self.current, self.loaded_at = policy_set, _now()
            self._served_ticket = ticket
            self.last_failure = None
            if bundle is not None:
                self.bundle, self.bundle_failure = bundle, None
        if self.freezing:
            settle_collector()
        return True

    def fail(self, error: BaseException) -> LoadFailure:
        if isinstance(error, PolicyError):
            errors = [d.to_dict() for d in error.diagnostics if d.severity == "error"]
        elif isinstance(error, BundleError) and error.errors:  # a bundle's policy errors, named inside it
            errors = error.errors
        else:
            errors = fault_errors(self.origin, error)
        failure = LoadFailure(_now(), errors)
        with self._swap_lock:
            self.last_failure = failure
            if isinstance(error, BundleError):
                self.bundle_failure = BundleFailure(failure.at, error.reason, error.message)
        return failure

    def reload(self) -> bool:
        """Load the directory now, in this thread; swap it in if it is good. True when swapped.

        For startup and tests; the server reloads through `reload.Reloader`,
        which bounds the time a load may take.
        """
        ticket = self.ticket()
        try:
            fresh = self.attempt()
        except Exception as error:  # noqa: BLE001 - every failure keeps the last good set
            self.fail(error)
            return False
        return self.activate(ticket, fresh)

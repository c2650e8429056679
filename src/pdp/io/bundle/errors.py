"""Why a bundle is refused: one reason from a short, fixed list (a metric label), a message and a hint."""

from __future__ import annotations

# Every reason a bundle can be refused for; pdp_bundle_failures_total{reason} counts by these.
REASONS = ("network", "http_status", "too_large", "bad_archive", "bad_manifest", "unsigned", "bad_signature",
           "bad_digest", "policy_errors", "internal")


class BundleError(Exception):
    """A bundle that is refused: nothing of it is used."""

    def __init__(self, reason: str, message: str, hint: str, errors: list[dict] | None = None):
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason, self.message, self.hint = reason, message, hint
        self.errors = errors or []  # a bundle with policy errors: each one (file:line:col, code, message, hint)


class KeyProblem(ValueError):
    """A key file that cannot be used (missing, not PEM, not an ed25519 key)."""

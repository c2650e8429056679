"""Server settings, from `PDP_*` environment variables (pydantic-settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pdp.io.combined_log import is_url
from .ledger_auth import READ, WRITE, read_tokens_file, token_problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PDP_", extra="ignore")

    policy_dir: Path = Field(default=Path("policies"), description="the policy set directory to serve")
    host: str = "127.0.0.1"
    port: int = Field(default=8181, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=1_000_000, ge=1_024, description="largest request body accepted")
    max_batch: int = Field(default=1_000, ge=1, description="most requests in one batch call")
    search_max_candidates: int = Field(default=10_000, ge=1, description="most candidates one AuthZEN search "
                                       "request decides; a longer list is answered a page at a time")
    search_timeout_s: float = Field(default=10.0, gt=0, description="an AuthZEN search still deciding after this "
                                    "long is answered 503, never with a list it has not finished")
    admin_token: SecretStr | None = Field(default=None, description="bearer token for the admin endpoints")
    studio_token: SecretStr | None = Field(default=None, description="bearer token of the studio (docs/studio.md): "
                                           "with it set, the studio is served at /studio and can read and save the "
                                           "policy files; unset, /studio does not exist")
    reload: bool = Field(default=True, description="watch the policy directory and reload on change")
    reload_debounce_ms: int = Field(default=200, ge=10)
    reload_settle_ms: int = Field(default=1000, ge=50, description="a reload waits until the policy directory has "
                                  "not changed for this long, so that a file being written is not read half-way")
    reload_timeout_s: float = Field(default=30.0, gt=0, description="a reload whose reading takes longer is "
                                    "abandoned and recorded as failed; the last good set keeps serving")
    keep_alive_timeout_s: float = Field(default=5.0, gt=0, description="an idle kept-alive connection is closed "
                                        "after this long")
    header_timeout_s: float = Field(default=10.0, gt=0, description="a request's line and headers must arrive "
                                    "within this long of the connection opening (or of the request's first byte)")
    body_timeout_s: float = Field(default=30.0, gt=0, description="a request's body must arrive within this long "
                                  "of its headers")
    max_connections: int = Field(default=1000, ge=1, description="open connections per worker process; more are "
                                 "closed at once")
    max_header_bytes: int = Field(default=65_536, ge=1_024, description="largest request line and headers accepted")
    http: Literal["auto", "httptools", "h11"] = Field(default="auto", description="uvicorn's HTTP/1.1 implementation; "
                                                      "auto: httptools when installed, else h11")
    public_url: AnyHttpUrl | None = Field(default=None, description="the URL clients reach the service at, for "
                                          "the AuthZEN metadata; default: the address the server is bound to")
    log_path: Path | None = Field(default=None, description="the decision log (SQLite); none: decisions are not logged")
    log_key: SecretStr | None = Field(default=None, description="key for pseudonymising subject ids in the log; "
                                      "default: a random key kept in <log_path>.key")
    log_mask: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                     description="attribute paths masked in the log, e.g. data_subject.age")
    log_attributes: Annotated[list[str], NoDecode] = Field(default_factory=list, description="attribute paths stored "
                                                           "in the log as sent (by default only the fields that decide, "
                                                           "pseudonymised ids and what the rules read)")
    log_retention_days: int = Field(default=365, ge=1)
    log_max_bytes: int = Field(default=1_000_000_000, ge=1_000_000, description="the log's size limit: past it, "
                               "the oldest rows are deleted")
    log_max_row_bytes: int = Field(default=16_384, ge=256, description="largest request stored in one row")
    log_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    log_writer: Literal["process", "thread"] = Field(default="process", description="who treats and commits the "
                                                     "decision log's rows: a process of its own (off the event loop's "
                                                     "interpreter lock), or a thread of the server (the plain path)")
    log_url: SecretStr | None = Field(default=None, description="the combined decision log (postgresql://...): every "
                                      "replica's log shipped to one table, read by the admin API and `pdp diff "
                                      "--replay`; needs PDP_LOG_PATH (the outbox) and PDP_LOG_KEY (the same on every "
                                      "replica)")
    log_replica: str | None = Field(default=None, min_length=1, max_length=200, description="the name this replica's "
                                    "rows carry in the combined log; default: the host's name")
    otel: bool = Field(default=False, description="FastAPI's native OpenTelemetry tracing, metrics and logs")
    direct: bool = Field(default=True, description="with httptools and the hot path on, answer POST /v1/decide from "
                         "uvicorn's HTTP protocol itself, without an ASGI task (same answers, less time)")
    request_memo: bool = Field(default=True, description="remember each decision's outcome by the values its rules read "
                               "(pdp.engine.request_memo: exact, bounded); off, every request is evaluated anew")
    hot_path: bool = Field(default=True, description="dispatch the decision endpoints ahead of FastAPI's middleware "
                           "and router (same answers, less time); off, or with otel on, every request takes the full stack")

    ledger_url: str | None = Field(default=None, description="the consent ledger (docs/consent.md): a SQLite file "
                                   "or a postgresql:// URL; none: no ledger. Its key: PDP_LEDGER_KEY_FILE or "
                                   "PDP_LEDGER_KEY, else (SQLite) <file>.key beside it. Decisions fill the attributes "
                                   "the served set declares (`ledger fills ...`) from it")
    ledger_write_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list, description="bearer "
                                                                      "tokens that may record ledger events "
                                                                      "(comma-separated, or a JSON list)")
    ledger_read_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list, description="bearer "
                                                                     "tokens that may read the ledger "
                                                                     "(comma-separated, or a JSON list)")
    ledger_tokens_file: Path | None = Field(default=None, description="a file of ledger tokens, one a line: "
                                            "`read TOKEN`, `write TOKEN` or `read,write TOKEN`")
    ledger_open: bool = Field(default=False, description="the ledger's read and write endpoints take no token "
                              "(local development only: anyone who reaches the port can record and read consents)")
    ledger_wait_ms: int = Field(default=200, ge=0, le=10_000, description="how long a decision carrying a "
                                "read-your-writes token (`ledger_seq`) waits for the ledger to have seen it; then "
                                "it is denied, saying so")
    ledger_recheck_ms: int = Field(default=5, ge=0, le=60_000, description="without a working listener (SQLite, "
                                   "or PostgreSQL while its notifications are down), how long an answer to \"did "
                                   "the ledger change?\" is trusted: a change recorded by another process is applied "
                                   "within this long (at once with a token, and with the listener within its "
                                   "notification's delay); 0: asked before every decision")
    ledger_listen: bool = Field(default=True, description="on PostgreSQL, hear other replicas' writes through "
                                "LISTEN/NOTIFY (one connection per process) instead of asking every "
                                "PDP_LEDGER_RECHECK_MS")
    ledger_memo: bool = Field(default=True, description="remember each ledger decision with the person's kept state "
                              "(pdp.engine.ledger_memo: exact, bounded, let go of with the state); off, each is "
                              "filled, decided and cited anew")

    bundle_url: AnyHttpUrl | None = Field(default=None, description="serve the policy bundle at this URL (polled) "
                                          "instead of a policy directory")
    bundle_public_key: Path | None = Field(default=None, description="the ed25519 public key (PEM) every bundle "
                                           "must be signed with")
    bundle_poll_s: float = Field(default=30.0, ge=0.1, description="how often the bundle URL is asked for a new "
                                 "bundle (with If-None-Match: an unchanged bundle costs a 304)")
    bundle_timeout_s: float = Field(default=30.0, gt=0, description="a bundle download that takes longer is "
                                    "abandoned and counted as failed; the last good set keeps serving")
    bundle_insecure_unsigned: bool = Field(default=False, description="without a public key, take unsigned bundles "
                                           "(anyone who can answer for the URL then decides the policy)")

    @model_validator(mode="after")
    def _signed_bundles(self):
        # Fail closed: a bundle whose signature nobody checks lets whoever controls the URL or the network
        # decide every request.
        if self.bundle_url is not None and self.bundle_public_key is None and not self.bundle_insecure_unsigned:
            raise ValueError("a bundle URL (--bundle, PDP_BUNDLE_URL) needs the public key its bundles are signed "
                             "with (--public-key, PDP_BUNDLE_PUBLIC_KEY); to take unsigned bundles instead, say so "
                             "(--bundle-insecure-unsigned, PDP_BUNDLE_INSECURE_UNSIGNED=true)")
        return self

    @model_validator(mode="after")
    def _studio(self):
        if self.studio_token is None:
            return self
        problem = token_problem(self.studio_token.get_secret_value())
        if problem:
            raise ValueError(f"PDP_STUDIO_TOKEN: {problem}")
        # Fail closed: the studio edits and saves a policy directory; a bundle has none to save into.
        if self.bundle_url is not None:
            raise ValueError("PDP_STUDIO_TOKEN: the studio edits a policy directory, and this service serves a "
                             "bundle (PDP_BUNDLE_URL); serve the directory the bundle is built from instead")
        if self.admin_token is not None and self.admin_token.get_secret_value() == self.studio_token.get_secret_value():
            raise ValueError("PDP_STUDIO_TOKEN is the admin token: give the studio a token of its own")
        return self

    @model_validator(mode="after")
    def _combined_log(self):
        # Fail closed: replicas each with a random key of their own would each find only their own rows of a person,
        # and an erasure would miss the others'.
        if self.log_url is not None:
            if self.log_path is None:
                raise ValueError("PDP_LOG_URL (the combined decision log) needs PDP_LOG_PATH: each replica's own log "
                                 "is the outbox it ships from")
            if self.log_key is None:
                raise ValueError("PDP_LOG_URL (the combined decision log) needs PDP_LOG_KEY, the same on every "
                                 "replica, so that one person's rows are found and erased together")
            if not is_url(self.log_url.get_secret_value()):
                raise ValueError("PDP_LOG_URL must be a postgresql:// URL")
        return self

    @model_validator(mode="after")
    def _ledger_tokens(self):
        if self.ledger_tokens_file is not None:
            try:
                found = read_tokens_file(self.ledger_tokens_file)
            except ValueError as error:
                raise ValueError(f"PDP_LEDGER_TOKENS_FILE: {error}") from None
            self.ledger_read_tokens = [*self.ledger_read_tokens, *map(SecretStr, found[READ])]
            self.ledger_write_tokens = [*self.ledger_write_tokens, *map(SecretStr, found[WRITE])]
        tokens = [t.get_secret_value() for t in (*self.ledger_read_tokens, *self.ledger_write_tokens)]
        for token in tokens:
            problem = token_problem(token)
            if problem:
                raise ValueError(f"PDP_LEDGER_READ_TOKENS / PDP_LEDGER_WRITE_TOKENS / PDP_LEDGER_TOKENS_FILE: {problem}")
        if self.admin_token is not None and self.admin_token.get_secret_value() in tokens:
            raise ValueError("a ledger token is the admin token: give the services that record or read consents "
                             "tokens of their own (PDP_LEDGER_*_TOKENS), distinct from PDP_ADMIN_TOKEN")
        if self.ledger_open and tokens:
            # Fail closed: tokens next to an open ledger would look like protection that is not there.
            raise ValueError("PDP_LEDGER_OPEN (--ledger-open) takes no tokens, and ledger tokens are configured: "
                             "drop one or the other")
        return self

    @field_validator("ledger_write_tokens", "ledger_read_tokens", mode="before")
    @classmethod
    def _token_list(cls, value):
        # From the environment it is text: a JSON list, or tokens separated by commas.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError("must be tokens separated by commas, or a JSON list of them") from None
            else:
                value = [token.strip() for token in text.split(",") if token.strip()]
        return value

    @field_validator("log_mask", "log_attributes", mode="before")
    @classmethod
    def _json_list(cls, value):
        # From the environment it is text; a plain path would otherwise stop `pdp serve` with a traceback.
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('must be a JSON list of attribute paths, e.g. ["data_subject.age"]') from None
        return value

    @field_validator("log_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value().encode()) < 16:
            raise ValueError("must be at least 16 characters (32 random ones recommended, e.g. `openssl rand -hex 32`)")
        return key


def describe_errors(error: ValidationError) -> str:
    """Bad settings in one line each, named as the environment variable that set them (no traceback)."""
    lines = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        # a problem of one setting is named by its variable; one of several together names them itself
        lines.append(f"PDP_{str(problem['loc'][0]).upper()}: {message}" if problem["loc"] else message)
    return "; ".join(lines)

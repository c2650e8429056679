"""The vocabulary a policy set speaks: actions, purposes, data categories,
data subject types, consent topics, recipient types and countries.

Purposes (data uses), data categories and data subjects come from
fideslang's default taxonomy (Ethyca, CC BY 4.0); a policy set extends them
in `vocabulary.yaml`. Keys are hierarchical: a key covers every key below it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Collection

from pdp.base.errors import suggest

BUILTIN_ACTIONS = ("collect", "use", "share", "transfer", "erase")
RECIPIENT_TYPES = (
    "service_provider",
    "advertising_partner",
    "public_authority",
    "affiliate",
    "acquirer",
    "other_user",
    "third_party",
)

# The kinds of vocabulary a string value can be drawn from; the checker and
# the request validator use these names to find the known values.
ACTION, PURPOSE, CATEGORY, SUBJECT_TYPE, RECIPIENT_TYPE, COUNTRY, CONSENT_TOPIC = (
    "action",
    "purpose",
    "data category",
    "data subject type",
    "recipient type",
    "country",
    "consent topic",
)
HIERARCHICAL = frozenset({PURPOSE, CATEGORY})
# The field of a Vocabulary that holds each kind's keys (countries are the same for every policy set).
VOCABULARY_FIELDS = {
    ACTION: "actions",
    PURPOSE: "purposes",
    CATEGORY: "categories",
    SUBJECT_TYPE: "subject_types",
    RECIPIENT_TYPE: "recipient_types",
    CONSENT_TOPIC: "consent_topics",
}


FIDESLANG_SNAPSHOT = "fideslang_keys.json"  # beside this module: fideslang's keys, as the installed version has them
FideslangKeys = tuple[frozenset[str], frozenset[str], frozenset[str]]  # data uses, data categories, data subjects


@lru_cache(maxsize=2)
def fideslang_keys(snapshot: bool = True) -> FideslangKeys:
    """fideslang's default data uses, data categories and data subjects.

    Importing fideslang's taxonomy builds its pydantic models, which costs
    more than loading a whole policy set (about 80 ms of CPU in every
    process). So its keys are shipped beside this module, and read from
    there when they were taken from the installed fideslang version; with
    another version (or `snapshot=False`) they are read from fideslang
    itself. A test holds the snapshot equal to fideslang's.
    """
    if snapshot:
        shipped = shipped_keys()
        if shipped is not None:
            return shipped
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return (
        frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_use),
        frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category),
        frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_subject),
    )


def _snapshot_path() -> Path:
    return Path(str(resources.files(__package__) / FIDESLANG_SNAPSHOT))


def installed_fideslang_version() -> str | None:
    """The installed fideslang's version (from its metadata, without importing it)."""
    try:
        return metadata.version("fideslang")
    except metadata.PackageNotFoundError:
        return None


def shipped_keys() -> FideslangKeys | None:
    """The shipped keys, if they were taken from the installed fideslang version; else None."""
    try:
        shipped = json.loads(_snapshot_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(shipped, dict) or shipped.get("fideslang") != installed_fideslang_version():
        return None
    return (frozenset(shipped["data_uses"]), frozenset(shipped["data_categories"]), frozenset(shipped["data_subjects"]))


def write_fideslang_snapshot() -> Path:
    """Take the keys from the installed fideslang and ship them (run after upgrading fideslang)."""
    uses, categories, subjects = fideslang_keys(snapshot=False)
    snapshot = {"fideslang": installed_fideslang_version(), "data_uses": sorted(uses), "data_categories": sorted(categories),
                "data_subjects": sorted(subjects)}
    path = _snapshot_path()
    path.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    return path


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (pycountry's; imported on first use, so a set without countries never pays it)."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


# Codes in common use that are not ISO 3166-1 alpha-2, and the ISO code they
# mean. Used for hints only: `UK` is never accepted as a country (a rule on
# `GB` must not be escaped by writing `UK`), but the error suggests `GB`,
# which spelling distance alone never would (it offers `VU`, `UZ`, `UY`).
COUNTRY_ALIASES = {
    "UK": "GB",  # the United Kingdom (ISO: GB)
    "EL": "GR",  # Greece, as the EU's institutions write it (ISO: GR)
}


# What the GDPR (and common speech) calls the recipient types the contract names: hints only, as above.
RECIPIENT_ALIASES = {
    "processor": "service_provider",  # GDPR art. 28: a processor acts on the controller's behalf
    "subprocessor": "service_provider",
    "sub_processor": "service_provider",
    "vendor": "service_provider",
    "advertiser": "advertising_partner",
    "authority": "public_authority",
    "regulator": "public_authority",
    "government": "public_authority",
}
ALIASES = {COUNTRY: COUNTRY_ALIASES, RECIPIENT_TYPE: RECIPIENT_ALIASES}


def closest_keys(kind: str, value: object, known: Collection[str], **options: Any) -> list[str]:
    """The known keys closest to an unknown value, for a hint: what a common other name means first (a
    country's ISO code for `UK`: `GB`; `service_provider` for a `processor`), else by spelling
    (pdp.base.errors.suggest, with its `options`)."""
    written = str(value)
    aliases = ALIASES.get(kind, {})
    meant = aliases.get(written.upper() if kind == COUNTRY else written.lower())
    if meant is not None and meant in known:
        return [meant]
    return suggest(value, known, **options)


@dataclass(frozen=True)
class Vocabulary:
    actions: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[str]
    subject_types: frozenset[str]
    consent_topics: frozenset[str] = frozenset()
    recipient_types: frozenset[str] = frozenset(RECIPIENT_TYPES)
    # actions that are the data subject's own requests (§4 access, erasure, ...):
    # decided by the current version whatever the collection date (see versions.py)
    subject_requests: frozenset[str] = frozenset()
    # keys the policy set declared itself (for "declared but never used")
    declared: frozenset[tuple[str, str]] = field(default=frozenset(), compare=False)
    # the set's `compatible_purposes` (vocab.compatibility: each purpose of collection with the purposes compatible
    # with it); None: it declares none
    compatible_purposes: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    @classmethod
    def default(cls) -> "Vocabulary":
        purposes, categories, subjects = fideslang_keys()
        return cls(frozenset(BUILTIN_ACTIONS), purposes, categories, subjects)

    @cached_property
    def by_kind(self) -> dict[str, frozenset[str]]:
        """Each kind's keys (taxonomy.ACTION, ...), for checking requests: one dictionary look-up on the hot path
        (the countries too, so the first request pays for pycountry, as it did; `known` does not)."""
        return {kind: getattr(self, name) for kind, name in VOCABULARY_FIELDS.items()} | {COUNTRY: country_codes()}

    def known(self, kind: str) -> frozenset[str]:
        return country_codes() if kind == COUNTRY else getattr(self, VOCABULARY_FIELDS[kind])

    def is_known(self, kind: str, value: str) -> bool:
        return value in self.known(kind)


def covers(general: str, specific: str) -> bool:
    """True when `specific` is `general` or a key below it (`marketing` covers `marketing.communications`)."""
    return specific == general or specific.startswith(general + ".")


def overlaps(a: str, b: str) -> bool:
    """True when the keys share some key: one is the other or lies below it.

    A request that names `user` names everything below it, so it overlaps a
    rule about `user.health_and_medical`, as a request for
    `user.health_and_medical.symptoms` does.
    """
    return covers(a, b) or covers(b, a)


def reaches(effect: str, rule_key: str, requested: str) -> bool:
    """Does a rule on `rule_key` take part in deciding a request for `requested`?

    The one place where the meaning of a broad request is decided (see
    docs/language.md, "A broad key in a request"): a deny takes part when
    its key overlaps the requested one (any of what is asked is forbidden);
    an allow only when its key covers the whole requested key (an allow on
    `user.contact` says nothing about the rest of `user`). Fail closed.
    """
    return overlaps(rule_key, requested) if effect == "deny" else covers(rule_key, requested)


def ancestors(key: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `a.b`, `a`]: the key and every key that covers it."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

"""The country groups pdp ships, and a set's own: the policy data `data.countries`.

Every set reads the shipped groups (country_groups.yaml beside this module:
the EU, the EEA, the EU's adequacy decisions, each with the day it was last
checked) as `data.countries.<group>`, so no set keeps its own copy of the
EU's member states. A set's `data/countries.yaml` adds groups of its own
(`name: [codes]`); it may not redefine a shipped one: a set that wrote its
own `eu` would silently stop following the maintained list, and one that
shadowed `adequacy` with a wider list would allow what the law does not.

Pure: the shipped file is part of the package, read once like the
fideslang snapshot; a set's file comes in already read.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import yaml

from pdp.base.errors import Diagnostic, suggestion_hint
from pdp.base.yamlpos import Located
from pdp.vocab import taxonomy as tx

STEM = "countries"  # the data file (`data/countries.yaml`) and the name rules read: `data.countries.eu`
SHIPPED_FILE = "country_groups.yaml"


class CountryGroup(NamedTuple):
    name: str  # what the group is, in words
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2
    checked: dt.date  # the day the list was last compared with its source
    source: str  # where to check it


@lru_cache(maxsize=1)
def shipped_groups() -> dict[str, CountryGroup]:
    """The groups every set reads, by the name a rule gives them (`eu`, `eea`, `adequacy`, ...)."""
    text = resources.files(__package__).joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    return {key: CountryGroup(entry["name"], tuple(entry["countries"]), entry["checked"], entry["source"])
            for key, entry in yaml.safe_load(text).items()}


def country_data(own: Located | None, path: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """`data.countries`: the shipped groups and the set's own (from `path`), and every problem of the set's own.

    A problem is reported and the set's value kept as written, so the build
    fails on it without a rule that reads the group failing a second time.
    """
    groups: dict[str, Any] = {key: list(group.countries) for key, group in shipped_groups().items()}
    if own is None or own.value is None:
        return groups, []
    if not isinstance(own.value, dict):
        return groups, [Diagnostic("country-group", f"{path} adds country groups, but holds no groups",
                                   own.span(), "write one group per line: `nordics: [DK, FI, IS, NO, SE]`")]
    diagnostics = []
    for key, codes in own.value.items():
        if key in groups:
            diagnostics.append(Diagnostic(
                "country-group", f"`{key}` is a country group pdp ships: data.countries.{key} is not the set's to "
                f"redefine", own.span(key, "<key>"),
                f"give yours another name (e.g. `{key}_and_ours`), or read the shipped one; a copy would stop "
                "following the maintained list"))
            continue
        groups[key] = codes
        diagnostics += _codes_problems(key, codes, own, path)
    return groups, diagnostics


def _codes_problems(key: Any, codes: Any, own: Located, path: str) -> list[Diagnostic]:
    if not isinstance(codes, list):
        return [Diagnostic("country-group", f"the country group `{key}` in {path} is not a list of country codes",
                           own.span(key), f"write `{key}: [DE, FR]`")]
    known = tx.country_codes()
    out = []
    for i, code in enumerate(codes):
        if isinstance(code, str) and code in known:
            continue
        if code is False:  # YAML 1.1 reads a bare NO (Norway) as false
            out.append(Diagnostic("country-group", f"a code in the country group `{key}` is read as false, not as a "
                                  "country code", own.span(key, i), 'Norway is `"NO"` in quotes: YAML reads a bare '
                                  "NO as false"))
            continue
        hint = suggestion_hint(tx.closest_keys(tx.COUNTRY, code, known, limit=3) if isinstance(code, str) else [])
        out.append(Diagnostic("country-group", f"`{code}` in the country group `{key}` is not an ISO 3166-1 "
                              "country code", own.span(key, i), hint or "write two capital letters, e.g. `DE`"))
    return out

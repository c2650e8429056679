"""The AuthZEN Search API's candidates and pages, without I/O.

A search is answered by deciding candidates one by one with the engine, so
that a search can never disagree with an evaluation: `candidates` lists what
the policy set knows of the part searched for (its declared actions, or the
ids of the register its `lookup` of that part reads), in one fixed order;
`evaluation` is the Access Evaluation a candidate is decided as; `cut` turns
the decisions of a run of candidates into one page.

A page token is opaque to the caller: where the next page starts, and a
fingerprint of the search and of the policy set it was cut from. A token
that does not match the request it comes with is refused (the spec asks a
PDP to refuse a search changed mid-way), and so is one from another version
of the policy set: a list is never stitched together from two versions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, NamedTuple

import orjson

from pdp.base.errors import FieldError, RequestError
from pdp.engine.policy_set import PolicySet

KINDS = ("subject", "resource", "action")
_TOKEN_FIELD = "page.token"
_MAX_TOKEN_CHARS = 200  # a token this server issues is about 60 characters


def candidates(policy_set: PolicySet, kind: str, searched: dict[str, Any]) -> list[str]:
    """What a search for `kind` considers, in a fixed order: the declared actions, or the ids of the register
    `lookup <part>` reads whose entry does not name another `type` than the one searched for. Raises RequestError
    when the policy set knows no such list (an empty answer would claim that nobody may)."""
    if kind == "action":
        return sorted(policy_set.vocabulary.actions)
    root = policy_set.model.search_roots.get(kind)
    register = next((lookup.register for lookup in policy_set.lookups if lookup.root == root), None) \
        if root is not None else None
    if register is None:
        raise RequestError([FieldError(kind, f"this policy set cannot list {kind}s: it looks up no register of "
                                             f"them (in {policy_set.model.title}, write `lookup {kind} in data.NAME`)"
                                       if root is not None else
                                       f"{policy_set.model.title} lists no {kind}s; search them in a set with "
                                       f"`model authzen` and `lookup {kind} in data.NAME`")])
    wanted = searched.get("type")
    return sorted(ident for ident, entry in register.items()
                  if isinstance(ident, str) and (not isinstance(entry, dict) or entry.get("type", wanted) == wanted))


def evaluation(kind: str, search: dict[str, Any], candidate: str) -> dict[str, Any]:
    """The Access Evaluation `candidate` is decided as: the search's parts, the searched one naming the candidate."""
    out: dict[str, Any] = {part: search[part] for part in ("subject", "action", "resource", "context") if part in search}
    if kind == "action":
        # the action's properties, if the search sends any (a data-use set reads the purpose there), its name the candidate's
        given = search.get("action")
        out["action"] = {**(given if isinstance(given, dict) else {}), "name": candidate}
    else:
        out[kind] = {**search[kind], "id": candidate}
    return out


def found(kind: str, search: dict[str, Any], candidate: str) -> dict[str, Any]:
    """A candidate as a result lists it: an action by its name, a subject or resource by the type searched and its id."""
    return {"name": candidate} if kind == "action" else {"type": search[kind]["type"], "id": candidate}


def fingerprint(kind: str, search: dict[str, Any], policy_digest: str) -> str:
    """What a page token is bound to: the search (all but its token, and the searched id that is ignored) and the
    policy set's version."""
    asked = {k: v for k, v in search.items() if k != "page"}
    if kind != "action" and isinstance(asked.get(kind), dict):
        asked[kind] = {k: v for k, v in asked[kind].items() if k != "id"}
    page = search.get("page") or {}
    asked["page"] = {k: v for k, v in page.items() if k != "token"}
    canonical = orjson.dumps([kind, asked, policy_digest], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:24]


def token(position: int, bound_to: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"at": position, "of": bound_to})).decode().rstrip("=")


def start_of(given: str | None, bound_to: str, count: int) -> int:
    """Where the page a token asks for starts (0 without one). Raises RequestError naming `page.token` for a token
    this server did not issue, one issued for another search or policy version, or one past the end."""
    if given is None:
        return 0
    try:
        if len(given) > _MAX_TOKEN_CHARS:
            raise ValueError
        read = orjson.loads(base64.urlsafe_b64decode(given + "=" * (-len(given) % 4)))
        position, of = read["at"], read["of"]
        if type(position) is not int or not isinstance(of, str):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise RequestError([FieldError(_TOKEN_FIELD, "is not a page token this server issued: send the "
                                                     "`next_token` of the previous answer as it was")]) from None
    if of != bound_to:
        raise RequestError([FieldError(_TOKEN_FIELD, "was issued for another search or another version of the "
                                                     "policy set: send the same search as before, or start again "
                                                     "without a token")])
    if not 0 <= position <= count:
        raise RequestError([FieldError(_TOKEN_FIELD, "points past the end of the list: start again without a token")])
    return position


class Page(NamedTuple):
    chosen: list[int]  # offsets (from the page's start) of the candidates the page lists
    next_start: int | None  # where the next page starts; None: this is the last


def cut(allowed: list[bool], start: int, limit: int, remaining: int) -> Page:
    """The page of at most `limit` results in the decisions `allowed` of the candidates from `start` (of which
    `remaining` were left). The candidates were decided until `limit + 1` allowed, the last if fewer: the one
    past the page, if any, is where the next starts; a run cut short by the bound on candidates continues where
    it stopped."""
    hits = [i for i, yes in enumerate(allowed) if yes]
    if len(hits) > limit:
        return Page(hits[:limit], start + hits[limit])
    if len(allowed) < remaining:
        return Page(hits, start + len(allowed))
    return Page(hits, None)

"""A selection's plan (`log_view._plan`) compiled into Python functions: the logged view without walking the plan.

Why: the decision log's writer process views every row, and `log_view._apply`
interprets the plan for each key of the request (a lookup in the plan, the
entry's rank tested, its treatment chosen): about a quarter of the writer's
CPU a row. Compiled, each level of the plan is one function that asks the
request for each name the plan keeps, in a fixed order, with its treatment
written in line (the fast cases of `_apply`, `FAST_PATHS`; anything else
goes to the same `_Treat` walks).

The view holds the same keys and values as `_apply`'s, in the plan's order
rather than the request's: the log stores it as JSON with sorted keys, so
the rows are the same bytes (a property test compares both views, and the
rows the writer stores with and without it). Names are written into the
source with `repr`, so a path part is always a string literal.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

from pdp.base.pseudonym import PSEUDONYM_LENGTH, PSEUDONYM_PREFIX, is_pseudonym, pseudonym

Viewer = Callable  # (request, treat, ids) -> the view (a new dict)

def compiled(plan: dict, ranks: tuple[int, int, int], helpers: dict) -> Viewer:
    """The function that views a request as `_apply(plan, ...)` does (see the module). `ranks`: (SCRUBBED,
    BOUNDED, IDENTIFIER); `helpers`: what the treatments call (`_flat`, `_texts`, `_SCALARS`, `MAX_TEXT`,
    `MAX_ITEMS`)."""
    lines: list[str] = []
    numbers = count()

    def function(node: dict) -> str:
        name = f"_level_{next(numbers)}"
        body = [f"def {name}(source, treat, ids, out):", "    if out is None:", "        out = {}"]
        for part, (rank, below) in node.items():
            inner = function(below) if below else None
            # (`in`, then the item: cheaper than a `get` for the names a request lacks, most of the plan's)
            body += [f"    if {part!r} in source:", f"        value = source[{part!r}]"]
            body += ["        " + line for line in _treatment(rank, ranks, repr(part), inner)]
        body.append("    return out")
        lines.extend(body)
        return name

    top = function(plan)
    lines += ["def view(request, treat, ids):", f"    return {top}(request, treat, ids, None)"]
    names = {"pseudonym": pseudonym, "is_pseudonym": is_pseudonym,
             "PSEUDONYM_LENGTH": PSEUDONYM_LENGTH, "PSEUDONYM_PREFIX": PSEUDONYM_PREFIX, **helpers}
    exec(compile("\n".join(lines), "<pdp log view>", "exec"), names)  # noqa: S102 - our own source, from the plan
    return names["view"]


def _treatment(rank: int | None, ranks: tuple[int, int, int], part: str, inner: str | None) -> list[str]:
    """The lines that treat `value`, found at `part`, as `_apply` does with `treat.fast` (see there)."""
    scrubbed, bounded, identifier = ranks
    if rank is None:  # a level of the plan: what is kept below it, if it is a map
        return ["if isinstance(value, dict):",
                f"    treated = out.get({part})",
                f"    kept = {inner}(value, treat, ids, treated if isinstance(treated, dict) else None)",
                "    if kept:",
                f"        out[{part}] = kept"]
    if rank == identifier:
        return ["if value is not None:",
                "    if type(value) is str and len(value) <= MAX_TEXT:",
                "        kept = value if len(value) == PSEUDONYM_LENGTH and value.startswith(PSEUDONYM_PREFIX) "
                "else pseudonym(treat.key, value)",
                "    else:",
                "        kept = value if is_pseudonym(value) else pseudonym(treat.key, value)",
                "    ids.append(kept)",
                f"    out[{part}] = kept"]
    kind = ["kind = type(value)"]
    if rank == bounded:  # `_apply`'s order of tests, but JSON's own types first (what a parsed request holds)
        kind += ["if kind is str:",
                 "    kept = value if len(value) <= MAX_TEXT else pseudonym(treat.key, value)",
                 "elif kind is int or kind is bool or value is None or kind is float:",
                 "    kept = value",
                 "elif kind is list and len(value) <= MAX_ITEMS and _flat(value):",
                 "    kept = value[:]",
                 "elif kind is dict and len(value) <= MAX_ITEMS and _texts(value) and _flat(value.values()):",
                 "    kept = dict(value)",
                 "elif isinstance(value, str):",
                 "    kept = value if len(value) <= MAX_TEXT else pseudonym(treat.key, value)",
                 "elif isinstance(value, _SCALARS):",
                 "    kept = value",
                 "else:",
                 "    kept = treat.bounded(value)"]
    else:
        assert rank == scrubbed
        kind += ["if kind is str:",
                 "    kept = value if value in treat.words or is_pseudonym(value) else pseudonym(treat.key, value)",
                 "elif kind is not dict and kind is not list and isinstance(value, _SCALARS):",
                 "    kept = value",
                 "else:",
                 "    kept = treat.scrubbed(value)"]
    if inner is not None:  # what ranks higher below (an identifier), over the treated value
        kind += ["if isinstance(value, dict) and isinstance(kept, dict):",
                 f"    {inner}(value, treat, ids, kept)"]
    return kind + [f"out[{part}] = kept"]

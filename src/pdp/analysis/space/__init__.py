"""The decision space of a policy set: every kind of request, finitely many.

A decision depends on a request only through the tests the rules make:
the rule targets (`to`, `for`, `of`: does a key cover the request's key?)
and the atomic tests of the conditions (`age < 18`, `type == "affiliate"`,
`country in data.facilities.countries`, `consent.cookies is absent`). Two
requests that every test answers alike get the same decision. So the space
is finite, and it is enumerated here, not solved:

- **cells**: action x purpose class x category class. The classes are the
  equivalence classes of the vocabulary under the keys the rules name: a
  named key stands for itself and the keys below it that no rule names
  more precisely; the keys no rule covers form one class more. A request
  for a key names everything below it (a deny on a key below it takes part,
  an allow must cover it whole: `taxonomy.reaches`), so a broad key with
  named keys below it (`user` above `user.health_and_medical`) is a class
  of its own, and the space holds requests for broad keys too. Requests
  have one data category: a multi-category request is allowed exactly when
  each of its categories alone would be (same attributes), so a question
  about categories, and a change of decision, shows on single-category
  requests, unless a condition tests `data_categories` itself (`"a" in
  data_categories and "b" in data_categories`): `Space.notes` then says
  the space tried one-category requests only.
- **attributes**: each attribute a condition reads gets representative
  values, one per class of values the tests cannot tell apart: absent;
  numbers below, at, between and above every boundary compared; each text
  or key compared, plus one value compared with none (countries, recipient
  types and other vocabulary are partitioned exactly); true and false. A
  looked-up part (`lookup recipient in data.processors`) is one joint
  attribute: no id, an id the register does not know, and one registered id
  per kind of record (the register's values override the request's). Each
  version reads it with its own `lookup`: a value a version's `except`
  refuses for an unlisted id is refused under that version only. The
  attributes an `except` names (and the part's id) are attributes of the
  space even when no rule reads them: the engine refuses such a request
  whatever the rules say, so the space must tell it apart.

Cost, and how it is kept down. A cell's requests are the product of the
representative values of the attributes read by the rules that cover it.
For CX-ONE-GO a share request alone has ~10^6 such combinations, so three
reductions make it seconds:

1. cells covered by the same rules (and alike for conditions on `purpose`
   and `action`) form one *group*, decided once;
2. within a group the attributes split into independent *components*: two
   attributes are in one component when some rule reads both. Rules of
   different components cannot interact, so each component is enumerated
   alone (the sum, not the product, of their sizes), and its assignments
   are grouped into *classes* by which rules apply;
3. each rule's conditions are evaluated once per combination of its own
   attributes (a table), with the engine's compiled closures and lookups.

A full request is one class per component; its decision is `combine`d (the
engine's one function) from the rules that apply, and the requests a tool
reports are re-decided with `PolicySet.outcome` as a check. A space spans
the versions it is given (diff: OLD and NEW; a query on a set that keeps
earlier versions under `versions/`, §11: its whole history), and a
request's decision is that of the version it selects (selection.py: the
version choice is one more dimension). `Stats` counts
cells, groups, the requests the space stands for (sum over cells of the
product) and the partial requests actually enumerated.

Exactness. The enumeration is exhaustive for conditions that compare an
attribute with constants (all the language's usual forms), and for
attributes compared with each other (each gets one value per attribute it
is compared with in every class, so any two can be equal or apart, in
either order). Requests are well-typed: an attribute takes the kinds of
value its type or the constants it is compared with have (a word where a
number is compared is the checker's business; the engine would fail
closed). An attribute whose type does not fix its kind (`any`, or none
declared) and that a test needs of one kind (`under`, `<`, a bare truth
test) takes every kind: a request may hold a value that test fails on, the
engine then denies (fails closed), and so does the space, with the same
reason, so a query never answers "never" for that deny. A list-valued attribute searched with `in` takes every set of its
values' classes (whether a value is in it depends on nothing else), up to
`LIST_CLASSES`; beyond, or searched for another attribute's value, it is
sampled (the empty list and one value of each class), and so is a path
also read as a prefix: `Space.notes` says so. A list a register gives is
read whole (each id's record is a class of its own where its lists differ). The tests
check, request by request, that the class a request falls in gets the
engine's decision (`Space.predict`).
"""

# The package, one job a module: reading (the conditions), keys (vocabulary key classes),
# domains (attribute values), cells (the data types), space (the `Space` class), selection (versions, §11).

from __future__ import annotations

from .cells import Cell, Component, Group, Klass, Node, State, Stats
from .domains import AttrDomain, ValueClass
from .keys import KeyClass, key_classes, key_labels
from .reading import CELL_PATHS, atoms, read_paths, rule_conditions
from .selection import NONE_IN_FORCE, Selections, VersionChoice
from .space import (AUTO, DEFAULT_LIMIT, ENUMERATION, ENUMERATION_BUDGET, NOT_ACCEPTED, REFUSED, SOLVER,
                    Space, SpaceTooLarge)

__all__ = [
    "AUTO",
    "AttrDomain",
    "ENUMERATION",
    "ENUMERATION_BUDGET",
    "NOT_ACCEPTED",
    "SOLVER",
    "CELL_PATHS",
    "Cell",
    "Component",
    "DEFAULT_LIMIT",
    "Group",
    "KeyClass",
    "NONE_IN_FORCE",
    "Klass",
    "Node",
    "REFUSED",
    "Space",
    "Selections",
    "SpaceTooLarge",
    "State",
    "Stats",
    "ValueClass",
    "VersionChoice",
    "atoms",
    "key_classes",
    "key_labels",
    "read_paths",
    "rule_conditions",
]

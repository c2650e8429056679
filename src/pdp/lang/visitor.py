"""One way to walk the expression tree: a visitor that dispatches on the node's class.

    class Printer(Visitor[str]):
        def visit_Path(self, expr): return expr.dotted
        ...

`visit(node, *args)` calls `visit_<Class>(node, *args)` (as Python's
`ast.NodeVisitor` and Jinja's `NodeVisitor` do); a class without a method
goes to `generic_visit`, which refuses it, or, in a `Transformer`, rebuilds
the node from its visited sub-expressions. Every walk over conditions (the
evaluator, the checker, the printer, the contradiction checks) is one of
these, so a new kind of node is a new method in each, found by its name.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from . import ast

T = TypeVar("T")


class Visitor(Generic[T]):
    def visit(self, expr: ast.Expr, *args: Any) -> T:
        method = getattr(self, "visit_" + type(expr).__name__, None)
        if method is None:
            return self.generic_visit(expr, *args)
        return method(expr, *args)

    def generic_visit(self, expr: ast.Expr, *args: Any) -> T:
        raise TypeError(f"{type(self).__name__} does not take {expr!r}")


class Transformer(Visitor[ast.Expr]):
    """A visitor that returns a tree: a node it has no method for is rebuilt from its visited parts."""

    def generic_visit(self, expr: ast.Expr, *args: Any) -> ast.Expr:
        return ast.with_children(expr, lambda sub: self.visit(sub, *args))

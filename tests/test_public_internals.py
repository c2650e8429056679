"""What one module reads of another is public: no `x._name` on another object, no `from m import _name`
in the engine or the analysis, and every `policy_set` parameter says it is a PolicySet (issue 9)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pdp"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own(node: ast.expr) -> bool:
    """`self`, `cls` or `super()`: the object itself (`super()._name` runs the parent's version of an override)."""
    return (isinstance(node, ast.Name) and node.id in ("self", "cls")) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super")


def private_attributes(tree: ast.AST) -> list[str]:
    """`x._name` where x is not `self`, `cls` or `super()`: a private name read off some other object."""
    return [f"{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and _private(node.attr) and not _own(node.value)]


def private_imports(tree: ast.AST) -> list[str]:
    return [f"{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}"
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            for alias in node.names if _private(alias.name)]


def unannotated_policy_sets(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                if arg.arg == "policy_set" and (arg.annotation is None or "PolicySet" not in ast.unparse(arg.annotation)):
                    found.append(f"{node.lineno}: {node.name}({arg.arg})")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reads_another_objects_private_names(path):
    assert private_attributes(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", [p for p in MODULES if p.relative_to(PACKAGE).parts[0] in ("engine", "analysis")],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_engine_and_the_analysis_import_no_private_names(path):
    assert private_imports(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_policy_set_parameter_is_annotated(path):
    assert unannotated_policy_sets(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_checks_can_fail():
    """Each check finds what it looks for (a check that never fires proves nothing)."""
    tree = ast.parse("from .x import _hidden\ndef f(policy_set, other):\n    return other._lookups, self._fine, super()._too\n")
    assert private_attributes(tree) == ["3: other._lookups"]
    assert private_imports(tree) == ["1: from .x import _hidden"]
    assert unannotated_policy_sets(tree) == ["2: f(policy_set)"]

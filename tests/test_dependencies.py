"""Every third-party module pdp imports is installed by `pip install pdp` alone (no test extras)."""

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "pdp"
# Loaded only by pytest itself (the pytest11 entry point), so pytest is there.
ONLY_UNDER_PYTEST = {"pytest_plugin.py"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def _installed_by(requirements: list[str]) -> set[str]:
    """The distributions those requirements pull in, following each one's own requirements and chosen extras."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = _name(requirement)
        bracket = re.search(r"\[([^\]]*)\]", requirement.split(";")[0])
        extras = set(re.findall(r"[A-Za-z0-9_-]+", bracket.group(1))) if bracket else set()
        key = (name, frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            nested = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for line in nested:
            marker = line.split(";", 1)[1] if ";" in line else ""
            wanted = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if wanted and not set(wanted) & extras:
                continue
            todo.append(line.split(";", 1)[0].strip())
    return {name for name, _ in seen}


def _third_party_imports() -> dict[str, str]:
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name in ONLY_UNDER_PYTEST:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "pdp" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_runtime_dependencies_cover_every_import():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = _installed_by(declared)
    providers = md.packages_distributions()
    missing = {module: where for module, where in _third_party_imports().items()
               if not {_name(d) for d in providers.get(module, [module])} & installed}
    assert not missing, f"imported but not installed by pdp's dependencies: {missing}"

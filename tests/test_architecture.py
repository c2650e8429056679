"""The layout is the architecture (ARCHITECTURE.md): each stage imports only the stages below it."""

import ast
import contextlib
import importlib
import logging
import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports as _lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pdp"
STAGES = ("base", "vocab", "ledger", "lang", "engine", "io", "explain", "analysis", "testing", "editing", "server", "lsp",
          "cli", "client")


@contextlib.contextmanager
def _loggers_kept():
    """import-linter configures logging with dictConfig, which disables every logger that exists ("pdp" too):
    later tests that read pdp's log records would see none. Put them back as they were."""
    loggers = [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    disabled = {lg: lg.disabled for lg in loggers}
    try:
        yield
    finally:
        for lg, was in disabled.items():
            lg.disabled = was


def lint_imports(**options) -> int:
    with _loggers_kept():
        return _lint_imports(**options)


def test_every_import_between_stages_follows_the_layers(capsys):
    """import-linter reads its contracts from pyproject.toml; a broken one names the import that broke it."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)
    assert status == 0, capsys.readouterr().out


def test_a_stage_that_imports_one_above_it_is_caught(tmp_path, monkeypatch, capsys):
    """The contract can fail: a copy of the package where the engine imports the analysis breaks it."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "pdp", ignore=shutil.ignore_patterns("__pycache__"))
    engine = copy / "pdp" / "engine" / "build.py"
    engine.write_text("import pdp.analysis.warnings\n" + engine.read_text())
    monkeypatch.syspath_prepend(str(copy))
    for name in [m for m in list(__import__("sys").modules) if m == "pdp" or m.startswith("pdp.")]:
        monkeypatch.delitem(__import__("sys").modules, name)
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == 1
    assert "pdp.engine.build -> pdp.analysis.warnings" in capsys.readouterr().out


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_says_in_one_line_what_it_is_for(stage):
    docstring = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
    assert docstring and docstring.splitlines()[0].strip(), f"pdp.{stage} has no one-line purpose"


def test_the_stages_are_every_package():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(STAGES), "a new package: add it to ARCHITECTURE.md, the layers in pyproject.toml and here"
    assert {p.stem for p in PACKAGE.glob("*.py")} == {"__init__"}, "modules belong in a stage"
    importlib.import_module("pdp")

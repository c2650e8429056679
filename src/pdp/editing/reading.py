"""The edge of the editing core: a workspace read from disk, through `pdp.io.loader` (its bounds and refusals)."""

from __future__ import annotations

from pathlib import Path

from pdp.base.errors import PolicyError
from pdp.io.loader import read_file, read_sources
from .workspace import CLAUSES_FILE, PRIVACY_POLICY_FILE, TESTS_DIR, YAML_SUFFIXES, Workspace


def read_workspace(directory: str | Path) -> Workspace:
    """Every file of the policy set in `directory`: what the loader reads (policy files, vocabulary.yaml, data/),
    its tests (tests/*.yaml), clauses.yaml and privacy-policy.txt. Raises PolicyError as the loader does; a test
    file, clauses.yaml or the privacy policy that cannot be read is left out (its own commands report it)."""
    sources = read_sources(directory)
    texts = dict(sources.texts())
    root = Path(directory)
    extra = [root / CLAUSES_FILE, root / PRIVACY_POLICY_FILE]
    tests = root / TESTS_DIR
    if tests.is_dir():
        extra += sorted(p for p in tests.iterdir() if p.suffix in YAML_SUFFIXES)
    for path in extra:
        if not (path.exists() or path.is_symlink()):
            continue
        try:
            texts[_named(sources.root, path, root)] = read_file(path, root)
        except PolicyError:
            continue
    return Workspace(sources.root, texts)


def _named(root_name: str, path: Path, root: Path) -> str:
    """`path` named as the loader names the set's files: below the root as the loader names it."""
    below = path.relative_to(root).as_posix()
    return below if root_name in ("", ".") else f"{root_name}/{below}"

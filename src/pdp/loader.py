"""Policy set directories on disk -> Sources. The only file I/O of the core."""

from __future__ import annotations

from pathlib import Path

from .errors import Diagnostic, PolicyError
from .policyset import PolicySet, Sources, build, no_policy_files
from .source import Span

VOCABULARY_FILE = "vocabulary.yaml"
DATA_DIR = "data"
TESTS_DIR = "tests"


def read_sources(directory: str | Path) -> Sources:
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([Diagnostic("no-policies", f"`{directory}` is not a directory", Span(str(directory), 0, 0),
                                      "point pdp at a policy set directory, e.g. `policies`")])
    policies = {}
    for path in sorted(root.rglob("*.pdp")):
        policies[_rel(path, root)] = _read(path)
    if not policies:
        raise no_policy_files(str(directory))
    vocabulary = None
    vocab_path = root / VOCABULARY_FILE
    if vocab_path.is_file():
        vocabulary = (_rel(vocab_path, root), _read(vocab_path))
    data = {}
    data_dir = root / DATA_DIR
    if data_dir.is_dir():
        for path in sorted([*data_dir.glob("*.yaml"), *data_dir.glob("*.yml")]):
            data[_rel(path, root)] = _read(path)
    return Sources(policies, vocabulary, data)


def load(directory: str | Path = "policies", index: bool = True) -> PolicySet:
    """Read, parse, check and compile a policy set directory."""
    return build(read_sources(directory), index=index, directory=Path(directory))


def _rel(path: Path, root: Path) -> str:
    # Diagnostics name files as the user would type them: relative to where pdp runs.
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError([Diagnostic("encoding", f"the file is not UTF-8 text ({error.reason})", Span(str(path), 1, 1),
                                      "save it as UTF-8")]) from None

"""Policy set directories on disk -> Sources. The only file I/O of the core."""

from __future__ import annotations

from pathlib import Path

from .errors import Diagnostic, PolicyError
from .policyset import PolicySet, Sources, build, no_policy_files
from .source import Span

VOCABULARY_FILE = "vocabulary.yaml"
DATA_DIR = "data"
TESTS_DIR = "tests"
VERSIONS_DIR = "versions"  # earlier versions of the set, one directory each (§11)


def read_sources(directory: str | Path) -> Sources:
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([Diagnostic("no-policies", f"`{directory}` is not a directory", Span(str(directory), 0, 0),
                                      "point pdp at a policy set directory, e.g. `policies`")])
    policies = {}
    for path in sorted(root.rglob("*.pdp")):
        if VERSIONS_DIR in path.relative_to(root).parts[:1]:
            continue  # earlier versions are policy sets of their own
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
    return Sources(policies, vocabulary, data, root=_rel(root, root))


def load(directory: str | Path = "policies", index: bool = True) -> PolicySet:
    """Read, parse, check and compile a policy set directory, with its earlier versions."""
    current = build(read_sources(directory), index=index, directory=Path(directory))
    versions_dir = Path(directory) / VERSIONS_DIR
    if not versions_dir.is_dir():
        return current
    older = [build(read_sources(d), index=index, directory=d) for d in sorted(versions_dir.iterdir()) if d.is_dir()]
    problems = [Diagnostic("bad-version", message, Span(str(v.directory), 1, 1), hint)
                for v in older + [current] for message, hint in _version_problems(v, current)]
    seen = {}
    for v in older + [current]:
        if v.version in seen:
            problems.append(Diagnostic("bad-version", f"version `{v.version}` appears twice", Span(str(v.directory), 1, 1),
                                       f"also in {seen[v.version]}"))
        seen[v.version] = v.directory
    if problems:
        raise PolicyError(problems)
    current.history = tuple(sorted(older + [current], key=lambda v: v.effective))
    if current.history[-1] is not current:
        raise PolicyError([Diagnostic("bad-version", "an earlier version takes effect after the current one",
                                      Span(str(current.history[-1].directory), 1, 1),
                                      "the policy set at the top of the directory must be the newest")])
    return current


def _version_problems(version: PolicySet, current: PolicySet) -> list[tuple[str, str]]:
    out = []
    if not version.effective:
        out.append((f"version `{version.version}` has no effective date", "add `effective YYYY-MM-DD` to its header"))
    if version.name != current.name:
        out.append((f"`{version.name}` is not a version of `{current.name}`", "every version keeps the set's name"))
    return out


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

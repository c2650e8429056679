"""The set as last committed: its files read with `git` from `HEAD` (an edge: it runs git, bounded in time).

For "what this change does" against the committed set: the files of the
set's directory in `HEAD` that make the set (`*.pdp`, outside `versions/`;
`vocabulary.yaml`; `data/*.yaml`), named as the workspace names them, and
read within the loader's limits. A directory outside a git repository, or a
repository without a commit, is refused (400, naming `against`); git that
does not answer within `GIT_TIMEOUT_S` is refused too (503), never waited on.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

from pdp.base.limits import MAX_FILE_BYTES, MAX_FILES, MAX_SET_BYTES
from pdp.engine.sources import Sources
from .errors import StudioError, bad_field
from .workspace import Place

GIT_TIMEOUT_S = 10.0


def _git(args: list[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    git = shutil.which("git")
    if git is None:
        raise bad_field("against", "`committed` needs git, which is not installed here; compare against `served`")
    try:
        return subprocess.run([git, *args], cwd=cwd, input=stdin, capture_output=True, timeout=GIT_TIMEOUT_S,
                              check=False, env={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        raise StudioError(503, "git_timeout", [{"field": "against", "message": f"git did not answer within "
                          f"{GIT_TIMEOUT_S:g} s; try again, or compare against `served`"}]) from None
    except OSError as error:
        raise bad_field("against", f"git cannot be run ({error.strerror or error})") from None


def _set_file(relative: str) -> bool:
    """A file the loader reads as part of the set (as `pdp.io.loader.read_sources` finds them)."""
    parts = PurePosixPath(relative).parts
    if relative.endswith(".pdp"):
        return parts[0] != "versions"
    return relative == "vocabulary.yaml" or (len(parts) == 2 and parts[0] == "data"
                                             and parts[1].endswith((".yaml", ".yml")))


def committed_sources(place: Place) -> Sources:
    """The set's files in `HEAD` as Sources (no earlier versions). Raises StudioError."""
    directory = place.directory.resolve()
    top = _git(["rev-parse", "--show-toplevel"], directory)
    if top.returncode != 0:
        raise bad_field("against", f"`{place.directory.name}` is not in a git repository: there is no committed set "
                                   "to compare with; compare against `served`")
    root = Path(top.stdout.decode("utf-8", "replace").strip())
    prefix = directory.relative_to(root.resolve()).as_posix() if directory != root.resolve() else ""
    listed = _git(["ls-tree", "-r", "-z", "--name-only", "HEAD", "--", prefix or "."], root)
    if listed.returncode != 0:
        raise bad_field("against", "the repository has no commit yet: there is no committed set to compare with")
    names = [n for n in listed.stdout.decode("utf-8", "replace").split("\0") if n]
    below = {name: PurePosixPath(name).relative_to(prefix).as_posix() if prefix else name for name in names}
    wanted = sorted(name for name, relative in below.items() if _set_file(relative))[:MAX_FILES]
    texts = _read_blobs(root, wanted)
    policies, data, vocabulary = {}, {}, None
    for name in wanted:
        relative, text = below[name], texts[name]
        path = place.in_workspace(relative)
        if relative.endswith(".pdp"):
            policies[path] = text
        elif relative == "vocabulary.yaml":
            vocabulary = (path, text)
        else:
            data[path] = text
    if not policies:
        raise bad_field("against", "the last commit has no policy files in this directory")
    return Sources(policies, vocabulary, data, root=place.root)


def _read_blobs(root: Path, names: list[str]) -> dict[str, str]:
    """The texts of `names` in HEAD, in one `git cat-file --batch`, each within the loader's limits."""
    asked = b"".join(f"HEAD:{name}\n".encode() for name in names)
    done = _git(["cat-file", "--batch"], root, stdin=asked)
    if done.returncode != 0:
        raise bad_field("against", "the committed files cannot be read with git")
    out, at, total = {}, 0, 0
    raw = done.stdout
    for name in names:
        end = raw.index(b"\n", at)
        header = raw[at:end].split()
        if len(header) != 3 or header[1] != b"blob":
            raise bad_field("against", f"`{name}` is not a file in the last commit")
        size = int(header[2])
        if size > MAX_FILE_BYTES:
            raise bad_field("against", f"`{name}` in the last commit is larger than {MAX_FILE_BYTES // 1024} KB")
        total += size
        if total > MAX_SET_BYTES:
            raise bad_field("against", f"the committed set is larger than {MAX_SET_BYTES // (1024 * 1024)} MB")
        body = raw[end + 1:end + 1 + size]
        at = end + 1 + size + 1  # the blob, then a newline
        try:
            out[name] = body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_field("against", f"`{name}` in the last commit is not UTF-8 text") from None
    return out

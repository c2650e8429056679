"""What the language server knows between messages: the policy sets of the open documents, and the
diagnostics it has published, so that a file that becomes clean is told so.

Checking a set is debounced (a pause in typing, DEBOUNCE_SECONDS) and runs off the event loop, so the server
keeps answering while it checks. Errors are published as soon as they are known, for every file of the set
(its YAML files too); the whole-set warnings, slower, follow in a second publication. A check that a newer
edit has overtaken publishes nothing.
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from pdp.base.errors import Diagnostic
from pdp.editing import Workspace, check, diagnostics
from . import convert
from .documents import PolicySet, absolute, read_set, set_directory
from .positions import ENCODINGS, UTF16, Positions

DEBOUNCE_SECONDS = 0.15  # a pause in typing this long starts a check

T = TypeVar("T")


@dataclass
class _SetState:
    """One set's checking: the disk texts last read, which check is the newest, what is on the client's screen."""

    disk: PolicySet | None = None
    generation: int = 0
    pending: asyncio.Task[None] | None = None
    published: set[str] = field(default_factory=set)  # uris that have diagnostics on the client


def uri_of(found: PolicySet, path: str) -> str:
    """The uri of a file of the set, by its workspace path."""
    return from_fs_path(str(found.file_of(path))) or path


@dataclass(frozen=True)
class Opened:
    """A document of a policy set, as a request sees it: the set (open documents over the disk), its path in
    the set's workspace, and the position encoding agreed with the client."""

    policy_set: PolicySet
    path: str
    encoding: str

    @property
    def workspace(self) -> Workspace:
        return self.policy_set.workspace

    @property
    def kind(self) -> str | None:
        return self.workspace.kind(self.path)

    @cached_property
    def positions(self) -> Positions:
        return self.positions_of(self.path)

    def positions_of(self, path: str) -> Positions:
        """The positions of a file of the set (a definition, a fix, may be in another file)."""
        return Positions(self.workspace.texts.get(path, ""), self.encoding)

    def uri_of(self, path: str) -> str:
        return uri_of(self.policy_set, path)

    def at(self, position: types.Position) -> tuple[int, int]:
        """The client's position in this document as pdp's (line, column)."""
        return self.positions.from_lsp(position.line, position.character)


class Session:
    """The open documents' sets, their checks, and the diagnostics published for them."""

    def __init__(self, server: LanguageServer, debounce: float = DEBOUNCE_SECONDS):
        self.server = server
        self.debounce = debounce
        self.sets: dict[Path, _SetState] = {}

    # ------------------------------------------------------------------ where a document belongs

    @property
    def encoding(self) -> str:
        """The position encoding agreed at `initialize` (`utf-16` unless the client offered another)."""
        try:
            agreed = self.server.workspace.position_encoding
        except RuntimeError:  # before `initialize`
            return UTF16
        # an enum member when pygls chose its default (whose str() is its name, not `utf-16`), else the client's text
        text = getattr(agreed, "value", agreed)
        return text if text in ENCODINGS else UTF16

    def open_texts(self) -> dict[Path, str]:
        """The text of every open document that is a file, by its absolute path."""
        texts = {}
        # a copy first: requests are answered in threads while the event loop opens and closes documents
        for uri, document in list(self.server.workspace.text_documents.items()):
            path = to_fs_path(uri)
            if path is not None:
                texts[absolute(path)] = document.source
        return texts

    def directory_of(self, uri: str) -> Path | None:
        """The directory of the set the document `uri` belongs to (a lone new policy file: its own folder)."""
        path = to_fs_path(uri)
        if path is None:
            return None
        file = absolute(path)
        found = set_directory(file)
        if found is None and file.suffix == ".pdp":
            found = file.parent
        return found

    def view(self, uri: str) -> Opened | None:
        """The document as a request sees it, in its set as the editor holds it; None for a document that is no
        file of a policy set (or neither on disk nor open)."""
        directory = self.directory_of(uri)
        path = to_fs_path(uri)
        if directory is None or path is None:
            return None
        state = self.sets.setdefault(directory, _SetState())
        if state.disk is None:
            state.disk = read_set(directory)
        file = absolute(path)
        if not state.disk.contains(file):
            return None
        found = state.disk.overlaid(self.open_texts())
        path_in_set = found.path_of(file)
        if path_in_set not in found.workspace.texts:
            return None
        return Opened(found, path_in_set, self.encoding)

    # ------------------------------------------------------------------ checking and publishing

    def changed(self, uri: str) -> None:
        """A document of a set changed (opened, edited, saved, closed): check its set after a pause."""
        directory = self.directory_of(uri)
        if directory is None:
            return
        state = self.sets.setdefault(directory, _SetState())
        state.generation += 1
        if state.pending is not None:
            state.pending.cancel()
        state.pending = asyncio.get_running_loop().create_task(self._check_later(directory, uri, state.generation))

    def changed_on_disk(self, uris: Iterable[str]) -> None:
        """Files changed outside the editor (a `git checkout`, a generated register): check again each set they
        belong to that has open documents."""
        for uri in dict.fromkeys(uris):
            directory = self.directory_of(uri)
            if directory is not None and directory in self.sets:
                self.changed(uri)

    async def _check_later(self, directory: Path, uri: str, generation: int) -> None:
        try:
            await asyncio.sleep(self.debounce)
            await self._check(directory, uri, generation)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a check must not take the server down: say so, and go on
            self.log_failure("checking the policy set", error)

    async def _check(self, directory: Path, uri: str, generation: int) -> None:
        loop = asyncio.get_running_loop()
        state = self.sets[directory]
        # the disk is read again at each check: a file changed outside the editor (a `git pull`) is seen
        state.disk = await loop.run_in_executor(None, read_set, directory)
        found = state.disk.overlaid(self.open_texts())
        if not found.workspace.texts and not found.read_errors:
            return
        checked = await loop.run_in_executor(None, check, found.workspace)
        if state.generation != generation:
            return
        errors = [*found.read_errors, *checked.errors]
        self.publish(found, state, errors, uri)
        # then what `pdp check` reports: the errors and the warnings (the whole set's, and the checker's)
        everything = await loop.run_in_executor(None, diagnostics, found.workspace)
        if state.generation != generation:
            return
        self.publish(found, state, [*found.read_errors, *everything], uri)

    def publish(self, found: PolicySet, state: _SetState, diagnostics: Iterable[Diagnostic], fallback: str) -> None:
        """Publish these diagnostics for every file they are about, and none for a file that had some before or
        is open (the editor learns that it was checked)."""
        by_uri = self.group(found, diagnostics, fallback)
        clean = state.published | {from_fs_path(str(file)) or "" for file in self.open_texts() if found.contains(file)}
        for uri in sorted(clean - by_uri.keys() - {""}):
            self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        for uri, items in sorted(by_uri.items()):
            self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items))
        state.published = set(by_uri)

    def group(self, found: PolicySet, diagnostics: Iterable[Diagnostic],
              fallback: str) -> dict[str, list[types.Diagnostic]]:
        """The diagnostics in the client's terms, by the uri of the file each is about; one about no file of the
        set (the set's directory, a file it could not read) goes to the document that started the check."""
        by_uri: dict[str, list[types.Diagnostic]] = {}
        for item in sorted(diagnostics, key=Diagnostic.sort_key):
            path = item.span.file
            if path in found.workspace.texts:
                uri, positions = uri_of(found, path), Positions(found.workspace.texts[path], self.encoding)
            else:
                file = found.file_of(path)
                uri = from_fs_path(str(file)) if file.is_file() else fallback
                positions = Positions("", self.encoding)
            by_uri.setdefault(uri or fallback, []).append(convert.diagnostic(positions, item))
        return by_uri

    # ------------------------------------------------------------------ failures

    def log_failure(self, doing: str, error: BaseException) -> None:
        """Tell the client's log what failed (the server goes on)."""
        detail = "".join(traceback.format_exception(error)).strip()
        try:
            self.server.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"pdp lsp: {doing} failed: {error!r}\n{detail}"))
        except Exception:  # noqa: BLE001 - the client is gone: nothing more to tell
            pass

    def guarded(self, doing: str, empty: Callable[[], T], answer: Callable[[], T]) -> T:
        """`answer()`, or `empty()` when it fails (logged): no input may crash a feature."""
        try:
            return answer()
        except Exception as error:  # noqa: BLE001 - any input may meet a bug: answered empty, never a crash
            self.log_failure(doing, error)
            return empty()

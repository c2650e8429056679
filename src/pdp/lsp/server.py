"""The language server: pygls's LanguageServer with pdp's features, each an adapter over `pdp.editing`.

Documents are synchronised whole (full sync). Every request is answered off the event loop, and a request
that fails is logged to the client (window/logMessage) and answered empty: no input crashes the server.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from pdp.base.errors import PolicyError
from pdp.editing import complete, definition, diagnostics, format_file, hover, symbols
from . import convert
from .session import DEBOUNCE_SECONDS, Opened, Session

NAME = "pdp"
POLICY = "policy"  # a workspace file's kind (pdp.editing): only policy files are formatted and outlined
T = TypeVar("T")

DOCUMENT_CHANGES = (types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_SAVE,
                    types.TEXT_DOCUMENT_DID_CLOSE)
DocumentParams = (types.DidOpenTextDocumentParams | types.DidChangeTextDocumentParams
                  | types.DidSaveTextDocumentParams | types.DidCloseTextDocumentParams)

# completion opens by itself after a dot (`user.contact.`) and a quote (`cite "`); a word being typed opens it in
# every editor anyway, so not a space (it would open after every word of a rule's message)
TRIGGER_CHARACTERS = [".", '"']


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pdp")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class Protocol(LanguageServerProtocol):
    """pygls's protocol, but a request whose params do not have the protocol's shape is answered (pygls logs it
    and answers nothing, and the editor would wait for an answer that never comes)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], error=types.ResponseError(code=error.code, message=(
                    f"`{data['method']}`: the params do not have the shape the protocol gives them")))
            raise


def create_server(debounce: float = DEBOUNCE_SECONDS) -> LanguageServer:
    """A language server with pdp's features; `start_io()` or `start_tcp(host, port)` runs it."""
    server = LanguageServer(NAME, version(), text_document_sync_kind=types.TextDocumentSyncKind.Full,
                            protocol_cls=Protocol)
    session = Session(server, debounce)

    async def answer(doing: str, empty: Callable[[], T], uri: str, work: Callable[[Opened], T]) -> T:
        """`work(the document)` in a thread (the event loop keeps reading messages); `empty()` for a document
        that is no file of a policy set, or when the work fails (logged)."""
        def answered() -> T:
            opened = session.view(uri)
            return empty() if opened is None else work(opened)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, session.guarded, doing, empty, answered)

    # ------------------------------------------------------------------ documents

    async def document_changed(params: DocumentParams) -> None:
        """A document was opened, edited, saved or closed (the text on disk takes its place): check its set."""
        session.guarded("following a document", lambda: None, lambda: session.changed(params.text_document.uri))

    for method in DOCUMENT_CHANGES:
        server.feature(method)(document_changed)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def files_changed(params: types.DidChangeWatchedFilesParams) -> None:
        session.guarded("following files changed on disk", lambda: None,
                        lambda: session.changed_on_disk(change.uri for change in params.changes))

    # ------------------------------------------------------------------ requests

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGER_CHARACTERS))
    async def completion(params: types.CompletionParams) -> types.CompletionList:
        def work(opened: Opened) -> types.CompletionList:
            items = complete(opened.workspace, opened.path, *opened.at(params.position))
            return types.CompletionList(is_incomplete=False,
                                        items=[convert.completion_item(opened.positions, item) for item in items])

        return await answer("completing", lambda: types.CompletionList(is_incomplete=False, items=[]),
                            params.text_document.uri, work)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(params: types.HoverParams) -> types.Hover | None:
        def work(opened: Opened) -> types.Hover | None:
            shown = hover(opened.workspace, opened.path, *opened.at(params.position))
            return convert.hover(opened.positions, shown) if shown is not None else None

        return await answer("hovering", lambda: None, params.text_document.uri, work)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(params: types.DefinitionParams) -> types.Location | None:
        def work(opened: Opened) -> types.Location | None:
            span = definition(opened.workspace, opened.path, *opened.at(params.position))
            if span is None:
                return None
            return convert.location(opened.uri_of(span.file), opened.positions_of(span.file), span)

        return await answer("finding a definition", lambda: None, params.text_document.uri, work)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    async def formatting(params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        def work(opened: Opened) -> list[types.TextEdit]:
            if opened.kind != POLICY:
                return []
            try:
                formatted = format_file(opened.workspace, opened.path)
            except PolicyError:  # a text that does not parse is left as it is (its errors are published)
                return []
            return convert.whole_text_edit(opened.positions, formatted)

        return await answer("formatting", list, params.text_document.uri, work)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        def work(opened: Opened) -> list[types.CodeAction]:
            actions = []
            for item in diagnostics(opened.workspace):  # kept by the core: the check the editor was shown
                if item.span.file != opened.path or not item.fixes:
                    continue
                shown = convert.diagnostic(opened.positions, item)
                if _overlaps(shown.range, params.range):
                    actions += [convert.code_action(fix, shown, opened.uri_of, opened.positions_of)
                                for fix in item.fixes]
            return actions

        return await answer("finding quick fixes", list, params.text_document.uri, work)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        def work(opened: Opened) -> list[types.DocumentSymbol]:
            if opened.kind != POLICY:
                return []
            return [convert.document_symbol(opened.positions, symbol)
                    for symbol in symbols(opened.workspace, opened.path)]

        return await answer("listing symbols", list, params.text_document.uri, work)

    return server


def _overlaps(shown: types.Range, asked: types.Range) -> bool:
    """True when two ranges share a position (touching counts: a cursor at a word's end asks about it)."""
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(shown.start) <= key(asked.end) and key(asked.start) <= key(shown.end)

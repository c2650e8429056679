"""The language server: pygls's LanguageServer with pdp's features, each an adapter over `pdp.editing`.

Documents are synchronised whole (full sync). Every request is answered off the event loop, and a request
that fails is logged to the client (window/logMessage) and answered empty: no input crashes the server.
"""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from pdp.base.errors import PolicyError
from pdp.editing import complete, definition, diagnostics, format_file, hover, symbols
from . import convert
from .session import DEBOUNCE_SECONDS, Session

NAME = "pdp"
T = TypeVar("T")

# completion opens by itself after a dot (`user.contact.`), a quote (`cite "§`) and a space (`of `)
TRIGGER_CHARACTERS = [".", '"', " "]


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pdp")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def create_server(debounce: float = DEBOUNCE_SECONDS) -> LanguageServer:
    """A language server with pdp's features; `start_io()` or `start_tcp(host, port)` runs it."""
    server = LanguageServer(NAME, version(), text_document_sync_kind=types.TextDocumentSyncKind.Full)
    session = Session(server, debounce)

    async def answer(doing: str, empty: Callable[[], T], work: Callable[[], T]) -> T:
        """`work()` in a thread (the event loop keeps reading messages), or `empty()` if it fails (logged)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, session.guarded, doing, empty, work)

    # ------------------------------------------------------------------ documents

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(params: types.DidOpenTextDocumentParams) -> None:
        session.guarded("opening a document", lambda: None, lambda: session.changed(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(params: types.DidChangeTextDocumentParams) -> None:
        session.guarded("reading an edit", lambda: None, lambda: session.changed(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(params: types.DidSaveTextDocumentParams) -> None:
        session.guarded("reading a save", lambda: None, lambda: session.changed(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(params: types.DidCloseTextDocumentParams) -> None:
        # the text on disk takes the closed document's place
        session.guarded("closing a document", lambda: None, lambda: session.changed(params.text_document.uri))

    # ------------------------------------------------------------------ requests

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGER_CHARACTERS))
    async def completion(params: types.CompletionParams) -> types.CompletionList:
        def work() -> types.CompletionList:
            found = session.view(params.text_document.uri)
            if found is None:
                return types.CompletionList(is_incomplete=False, items=[])
            policy_set, path = found
            positions = session.positions(policy_set, path)
            line, col = positions.from_lsp(params.position.line, params.position.character)
            items = complete(policy_set.workspace, path, line, col)
            return types.CompletionList(is_incomplete=False,
                                        items=[convert.completion_item(positions, item) for item in items])

        return await answer("completing", lambda: types.CompletionList(is_incomplete=False, items=[]), work)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(params: types.HoverParams) -> types.Hover | None:
        def work() -> types.Hover | None:
            found = session.view(params.text_document.uri)
            if found is None:
                return None
            policy_set, path = found
            positions = session.positions(policy_set, path)
            shown = hover(policy_set.workspace, path, *positions.from_lsp(params.position.line,
                                                                         params.position.character))
            return convert.hover(positions, shown) if shown is not None else None

        return await answer("hovering", lambda: None, work)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(params: types.DefinitionParams) -> types.Location | None:
        def work() -> types.Location | None:
            found = session.view(params.text_document.uri)
            if found is None:
                return None
            policy_set, path = found
            positions = session.positions(policy_set, path)
            span = definition(policy_set.workspace, path, *positions.from_lsp(params.position.line,
                                                                             params.position.character))
            if span is None:
                return None
            return convert.location(session.uri_of(policy_set, span.file), session.positions(policy_set, span.file),
                                    span)

        return await answer("finding a definition", lambda: None, work)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    async def formatting(params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        def work() -> list[types.TextEdit]:
            found = session.view(params.text_document.uri)
            if found is None:
                return []
            policy_set, path = found
            if policy_set.workspace.kind(path) != "policy":
                return []
            try:
                formatted = format_file(policy_set.workspace, path)
            except PolicyError:  # a text that does not parse is left as it is (its errors are published)
                return []
            return convert.whole_text_edit(session.positions(policy_set, path), formatted)

        return await answer("formatting", list, work)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        def work() -> list[types.CodeAction]:
            found = session.view(params.text_document.uri)
            if found is None:
                return []
            policy_set, path = found
            positions = session.positions(policy_set, path)
            actions = []
            for item in diagnostics(policy_set.workspace):
                if item.span.file != path or not item.fixes:
                    continue
                shown = convert.diagnostic(positions, item)
                if not _overlaps(shown.range, params.range):
                    continue
                actions += [convert.code_action(fix, shown, lambda p: session.uri_of(policy_set, p),
                                                lambda p: session.positions(policy_set, p)) for fix in item.fixes]
            return actions

        return await answer("finding quick fixes", list, work)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        def work() -> list[types.DocumentSymbol]:
            found = session.view(params.text_document.uri)
            if found is None:
                return []
            policy_set, path = found
            if policy_set.workspace.kind(path) != "policy":
                return []
            positions = session.positions(policy_set, path)
            return [convert.document_symbol(positions, symbol) for symbol in symbols(policy_set.workspace, path)]

        return await answer("listing symbols", list, work)

    return server


def _overlaps(shown: types.Range, asked: types.Range) -> bool:
    """True when two ranges share a position (touching counts: a cursor at a word's end asks about it)."""
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(shown.start) <= key(asked.end) and key(asked.start) <= key(shown.end)

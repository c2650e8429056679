"""pdp's editing values in LSP's terms (pure): diagnostics, fixes, completions, hovers, symbols, locations.

Every function takes the `Positions` of the text a span points into, so that a span's 1-based code-point
columns become the client's 0-based code units.
"""

from __future__ import annotations

import re
from typing import Callable

from lsprotocol import types

from pdp.base.errors import Diagnostic
from pdp.base.source import Span
from pdp.editing import Completion, Fix, Hover, Symbol
from .positions import Positions

SOURCE = "pdp"

# a diagnostic whose span has no end marks the word it starts (a key, a rule id, a keyword)
_WORD = re.compile(r"[A-Za-z0-9_§.\-]+")

SEVERITIES = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}

COMPLETION_KINDS = {
    "category": types.CompletionItemKind.EnumMember,
    "purpose": types.CompletionItemKind.EnumMember,
    "action": types.CompletionItemKind.Event,
    "attribute": types.CompletionItemKind.Field,
    "topic": types.CompletionItemKind.Value,
    "register": types.CompletionItemKind.Module,
    "rule": types.CompletionItemKind.Reference,
    "condition": types.CompletionItemKind.Function,
    "keyword": types.CompletionItemKind.Keyword,
    "country": types.CompletionItemKind.Constant,
    "value": types.CompletionItemKind.Value,
}

SYMBOL_KINDS = {
    "rule": types.SymbolKind.Function,
    "condition": types.SymbolKind.Boolean,
    "lookup": types.SymbolKind.Interface,
    "header": types.SymbolKind.Namespace,
    "ledger": types.SymbolKind.Property,
}


def position(positions: Positions, line: int, col: int) -> types.Position:
    lsp_line, character = positions.to_lsp(line, col)
    return types.Position(line=lsp_line, character=character)


def span_range(positions: Positions, span: Span) -> types.Range:
    """The client's range of a span; a span without an end covers the word it starts (at least one character
    when there is one to cover), a span of a whole file (line 0) its start."""
    start = positions.offset(span.line, span.col)
    if span.end_line > 0:
        end = max(positions.offset(span.end_line, span.end_col), start)
    elif span.line < 1:
        end = start
    else:
        word = _WORD.match(positions.text, start)
        end = word.end() if word else start + (start < len(positions.text) and positions.text[start] != "\n")
    return types.Range(start=_at(positions, start), end=_at(positions, end))


def _at(positions: Positions, offset: int) -> types.Position:
    lsp_line, character = positions.lsp_at(offset)
    return types.Position(line=lsp_line, character=character)


def diagnostic(positions: Positions, found: Diagnostic) -> types.Diagnostic:
    """A pdp diagnostic as the client shows it: its hint (or the reason it is accepted) below the message."""
    message = found.message
    severity = SEVERITIES.get(found.severity, types.DiagnosticSeverity.Error)
    if found.accepted is not None:
        message += f"\naccepted because: {found.accepted}"
        severity = types.DiagnosticSeverity.Information
    elif found.hint:
        message += f"\nhint: {found.hint}"
    return types.Diagnostic(range=span_range(positions, found.span), message=message, severity=severity,
                            code=found.code, source=SOURCE)


def code_action(fix: Fix, about: types.Diagnostic, uri_of: Callable[[str], str],
                positions_of: Callable[[str], Positions]) -> types.CodeAction:
    """A quick fix as a workspace edit (its edits may touch more than one file)."""
    changes: dict[str, list[types.TextEdit]] = {}
    for edit in fix.edits:
        changes.setdefault(uri_of(edit.span.file), []).append(
            types.TextEdit(range=span_range(positions_of(edit.span.file), edit.span), new_text=edit.new_text))
    return types.CodeAction(title=fix.title, kind=types.CodeActionKind.QuickFix, diagnostics=[about],
                            edit=types.WorkspaceEdit(changes=changes), is_preferred=len(fix.edits) > 0)


def completion_item(positions: Positions, item: Completion) -> types.CompletionItem:
    text = item.insert_text if item.insert_text is not None else item.label
    edit = None
    if item.replace is not None:
        edit = types.TextEdit(range=span_range(positions, item.replace), new_text=text)
    documentation = (types.MarkupContent(kind=types.MarkupKind.Markdown, value=item.documentation)
                     if item.documentation else None)
    return types.CompletionItem(label=item.label, kind=COMPLETION_KINDS.get(item.kind), detail=item.detail or None,
                                documentation=documentation, text_edit=edit,
                                insert_text=None if edit is not None else text)


def hover(positions: Positions, found: Hover) -> types.Hover:
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found.markdown),
                       range=span_range(positions, found.span))


def location(uri: str, positions: Positions, span: Span) -> types.Location:
    return types.Location(uri=uri, range=span_range(positions, span))


def document_symbol(positions: Positions, symbol: Symbol) -> types.DocumentSymbol:
    whole = span_range(positions, symbol.span)
    return types.DocumentSymbol(name=symbol.name, kind=SYMBOL_KINDS.get(symbol.kind, types.SymbolKind.Object),
                                range=whole, selection_range=types.Range(start=whole.start, end=whole.start),
                                detail=symbol.detail or None)


def whole_text_edit(positions: Positions, new_text: str) -> list[types.TextEdit]:
    """The edit that makes the document `new_text` (none when it already is)."""
    if new_text == positions.text:
        return []
    end = _at(positions, len(positions.text))
    return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=new_text)]

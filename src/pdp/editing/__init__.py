"""The language features an editor needs (diagnostics, completion, hover, definition, formatting, quick fixes),
one implementation shared by the language server (`pdp.lsp`) and the studio (`pdp.server.studio`).

Pure functions over a `Workspace` (the set's texts by path); only `read_workspace` reads the disk. Positions
are 1-based lines and columns counted in Unicode code points, as `pdp.base.source.Span` counts them; the
adapters convert (LSP: 0-based, UTF-16; CodeMirror: offsets).
"""

from pdp.base.errors import Fix, TextEdit
from .checking import Checked, check, diagnostics, warnings_for
from .edits import applied
from .clauses import clause_text
from .completion import Completion, complete
from .definition import definition
from .hovering import Hover, hover
from .outline import Symbol, format_file, symbols
from .reading import read_workspace
from .workspace import Workspace

__all__ = ["Checked", "applied", "Completion", "Fix", "Hover", "Symbol", "TextEdit", "Workspace", "check", "clause_text",
           "complete", "definition", "diagnostics", "format_file", "hover", "read_workspace", "symbols",
           "warnings_for"]

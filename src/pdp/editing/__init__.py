"""The language features an editor needs (diagnostics, completion, hover, definition, formatting, quick fixes),
one implementation shared by the language server (`pdp.lsp`) and the studio (`pdp.server.studio`)."""

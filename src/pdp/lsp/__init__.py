"""`pdp lsp`: the language server (LSP over stdio, on pygls), an edge over `pdp.editing`."""

"""The policy language: text -> checked syntax tree (grammar, parser, syntax tree, checker, formatter)."""

"""The ground floor every stage stands on: source positions, errors and diagnostics, limits, dotted paths,
YAML with positions, pseudonyms."""

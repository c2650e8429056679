"""How much a policy set may ask of pdp: the bounds every input is read within.

A policy directory is input like a request: a hostile or broken file must
cost seconds and megabytes, and end in a `file:line:col` error, never in a
traceback or a runaway. The numbers are far above any real policy set
(CX-ONE-GO: 9 files, the largest 12 KB, conditions nested 4 deep) and
documented in docs/language.md ("Limits").
"""

MAX_FILE_BYTES = 512 * 1024  # one policy, vocabulary or data file
MAX_SET_BYTES = 16 * 1024 * 1024  # every file of a policy set together
MAX_FILES = 2_000  # files a policy set may have (.pdp and data files)
MAX_TEXT_CHARS = 10_000  # one quoted text in a policy file (a rule's message is a sentence or two)
MAX_NUMBER_CHARS = 30  # one number in a policy file, sign and decimals included
MAX_NESTING = 64  # levels of `not` and parentheses in one condition
# a condition, or a rule's conditions, with every named condition used written out (lang/named.py): a chain of
# names each using the next twice doubles at each step, so the size is bounded, not only the text
MAX_INLINED_NODES = 10_000
MAX_INLINED_DEPTH = 2 * MAX_NESTING
MAX_SYNTAX_ERRORS = 20  # syntax errors reported for one file before pdp stops reading it
MAX_YAML_DEPTH = 32  # nesting of lists and mappings in a YAML file
MAX_YAML_NODES = 70_000  # values in one YAML file, keys counted: a register of 10,000 entries of two attributes (6 each)
MAX_BUNDLE_BYTES = MAX_SET_BYTES + MAX_FILES * 1024 + 1024 * 1024  # a policy bundle, packed or unpacked (tar headers too)
MAX_MANIFEST_BYTES = 1024 * 1024  # a bundle's manifest (a line per file)
MAX_MATCHED_PATH_CHARS = 8_192  # a request's path that `matches` reads (a URL's path: servers cap theirs near this)

"""The `pdp` command: thin wrappers over the library with stable exit codes (see `common`)."""

from .app import main

__all__ = ["main"]

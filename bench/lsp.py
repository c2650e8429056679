"""How soon an editor shows the checker's diagnostics after a keystroke pause (issue 13: within 300 ms for
CX-ONE-GO).

    python -m bench.lsp [--edits 20] [--policies policies] [--out docs/benchmarks.md]

Starts `pdp lsp` as an editor does (pygls's own language client, over standard input and output), opens
`marketing.pdp` of a copy of the set, and then, --edits times, sends the whole text changed (a typo put in or
taken out of a data category, and a rule's message numbered, so that no check and no warning is answered from
the core's cache: every edit is a text, and tokens, never seen before) and waits for the diagnostics. Two
figures, wall time from the change sent:

- errors: the first publication that shows the change (the typo's error there, or gone): what a person sees
  as they stop typing. The server's pause (`DEBOUNCE_SECONDS`, waited for a pause in typing) is in it;
- everything: the second publication, with the whole-set warnings, what `pdp check` says.

Nothing here is a test; with --out the table goes to the `lsp` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `bench` importable

from bench.sections import publish  # noqa: E402
from pdp.lsp.session import DEBOUNCE_SECONDS  # noqa: E402

FILE = "marketing.pdp"
GOOD, TYPO = "of user.contact.email,", "of user.contact.emial,"
MESSAGE = "We may email you about the Service"  # a rule's message, numbered at each edit: a text never seen before
WAIT = 120.0  # seconds: a bound on each wait, never reached on a working server


class Watcher:
    """The diagnostics published for one document, each with the moment it arrived."""

    def __init__(self, client: LanguageClient, uri: str):
        self.uri = uri
        self.arrived: list[tuple[float, list[types.Diagnostic]]] = []
        self.news = asyncio.Event()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            if params.uri == self.uri:
                self.arrived.append((time.perf_counter(), params.diagnostics))
                self.news.set()

    async def next(self, after: int) -> tuple[float, list[types.Diagnostic]]:
        """The first publication after the first `after` ones."""
        while len(self.arrived) <= after:
            self.news.clear()
            await asyncio.wait_for(self.news.wait(), WAIT)
        return self.arrived[after]


def has_typo(diagnostics: list[types.Diagnostic]) -> bool:
    return any("emial" in d.message for d in diagnostics)


async def measure(policies: Path, edits: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "policies"
        shutil.copytree(policies, copy)
        path = copy / FILE
        text = path.read_text(encoding="utf-8")
        uri = path.as_uri()
        client = LanguageClient("pdp-bench", "1")
        watcher = Watcher(client, uri)
        await client.start_io(sys.executable, "-m", "pdp.cli", "lsp", cwd=scratch)
        try:
            await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(),
                                                                 root_uri=copy.as_uri()))
            client.initialized(types.InitializedParams())
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="pdp", version=1, text=text)))
            await watcher.next(1)  # the set checked once, warnings and all: the process is warm
            errors, everything = [], []
            for edit in range(edits):
                typo = edit % 2 == 0
                changed = (text.replace(GOOD, TYPO, 1) if typo else text).replace(MESSAGE, f"{MESSAGE} ({edit})", 1)
                seen = len(watcher.arrived)
                sent = time.perf_counter()
                client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=edit + 2),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=changed)]))
                while True:  # the first publication that shows this edit
                    at, found = await watcher.next(seen)
                    seen += 1
                    if has_typo(found) == typo:
                        break
                errors.append(at - sent)
                at, found = await watcher.next(seen)  # then the one with the warnings
                everything.append(at - sent)
            return errors, everything
        finally:
            await client.shutdown_async(None)
            client.exit(None)
            await client.stop()


def table(errors: list[float], everything: list[float]) -> list[str]:
    def row(name: str, seconds: list[float]) -> str:
        ordered = sorted(seconds)
        p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
        return (f"| {name} | {statistics.median(ordered) * 1000:,.0f} | {p90 * 1000:,.0f} | "
                f"{ordered[-1] * 1000:,.0f} |")

    return [
        "## Diagnostics in the editor (`pdp lsp`)",
        "",
        f"Milliseconds from an edit of CX-ONE-GO's `{FILE}` sent to `pdp lsp` until the editor is shown its "
        f"diagnostics, over {len(errors)} edits, each a text the server had not checked before (issue 13: "
        f"within 300 ms). The server waits {DEBOUNCE_SECONDS * 1000:.0f} ms for a pause in typing first; that "
        "pause is in every figure. Every other edit puts a typo in (then the set does not build, and the second "
        "publication adds only the checker's warnings); the others take it out (the whole set's warnings, "
        f"computed afresh). Load average at the end of the run: {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} cores).",
        "",
        "| publication | median ms | p90 ms | max ms |",
        "|---|---:|---:|---:|",
        row("errors (the typo shown, or gone)", errors),
        row("everything (with the whole-set warnings)", everything),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20, help="edits measured (default 20)")
    parser.add_argument("--policies", type=Path, default=ROOT / "policies", help="the policy set (default: policies)")
    parser.add_argument("--out", type=Path, help="write the table to this file's `lsp` section")
    args = parser.parse_args(argv)
    errors, everything = asyncio.run(measure(args.policies.resolve(), args.edits))
    publish(table(errors, everything), "python -m bench.lsp --out docs/benchmarks.md", args.out, "lsp")
    return 0


if __name__ == "__main__":
    sys.exit(main())

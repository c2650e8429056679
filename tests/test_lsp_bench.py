"""bench/lsp.py runs (pygls's own client driving `pdp lsp`: a second client the server must satisfy) and writes
its section. Nothing here is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import lsp as bench_lsp  # noqa: E402


@pytest.mark.slow
def test_the_benchmark_sees_each_edit_and_writes_its_section(tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n", encoding="utf-8")
    assert bench_lsp.main(["--edits", "2", "--out", str(out)]) == 0
    written = out.read_text(encoding="utf-8")
    assert "<!-- section:lsp:start -->" in written and "over 2 edits" in written
    assert "| errors (the typo shown, or gone) |" in written and "| everything" in written

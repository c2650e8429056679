"""The studio front end's own unit tests (frontend/studio/test, node's built-in test runner): the conversion
between pdp's positions (1-based, code points) and CodeMirror's offsets (UTF-16), which every diagnostic, quick
fix, completion and hover goes through. They import no package, so they run without `npm ci`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FRONTEND_TESTS = Path(__file__).parents[1] / "frontend" / "studio" / "test"


def test_the_front_end_unit_tests_pass():
    node = shutil.which("node")
    assert node, "the studio's front-end tests need Node.js: `apt-get install nodejs`"
    result = subprocess.run([node, "--test", *sorted(str(p) for p in FRONTEND_TESTS.glob("*.test.js"))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout

"""`pdp decide` pays only for deciding (issue 9): the process imports no whole-set analysis, no formatter,
no HTTP stack, and neither fideslang's pydantic models (its keys are shipped) nor rapidfuzz (hints only).
What loading costs in time is measured by bench/load.py (docs/benchmarks.md), never asserted by a test."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUEST = ROOT / "examples" / "requests" / "promotional-email.json"

NOT_FOR_DECIDING = ("pdp.analysis", "pdp.explain", "pdp.lang.formatter", "pdp.server", "pdp.testing", "fastapi",
                    "starlette", "uvicorn", "httpx", "fideslang", "rapidfuzz")

_DECIDE = """
import contextlib, io, json, sys
from pdp.cli.app import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["decide", sys.argv[1], "--request", sys.argv[2]])
print(json.dumps({"code": code, "decision": json.loads(out.getvalue())["decision"], "modules": sorted(sys.modules)}))
"""


@pytest.mark.slow
def test_pdp_decide_imports_only_what_deciding_needs():
    run = subprocess.run([sys.executable, "-c", _DECIDE, str(ROOT / "policies"), str(REQUEST)],
                         capture_output=True, text=True, check=True)
    result = json.loads(run.stdout)
    assert result["code"] == 0 and result["decision"] in ("allow", "deny")
    imported = [m for m in result["modules"] if m.startswith(NOT_FOR_DECIDING)]
    assert imported == []

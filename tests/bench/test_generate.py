"""The benchmark's policy-set generator (bench/generate.py) makes sets pdp accepts, the same ones from the same seed.

Nothing here is timed: the sets are small, and what is checked is that each variant loads without an
error or a checker warning, keeps its shape (shared targets, broad rules, wide conditions), that its
requests are valid and its tests pass, and that a seed gives the same files byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import pdp
from pdp.cli import main as pdp_main

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import SHARED_TARGET, VARIANTS, Spec, generate, write  # noqa: E402


def _written(tmp_path: Path, spec: Spec) -> Path:
    out = tmp_path / spec.variant
    write(generate(spec), out)
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_loads_without_errors_and_its_tests_pass(tmp_path, variant, capsys):
    spec = Spec(rules=120, variant=variant, registers=10, seed=3, requests=300, tests=8)
    out = _written(tmp_path, spec)
    policy_set = pdp.load(out)  # raises PolicyError on any error
    assert len(policy_set.rules) == spec.rules
    assert policy_set.checker_warnings == ()  # every rule cites a clause, every accept and override is sound
    assert pdp_main(["test", str(out)]) == 0, capsys.readouterr().out
    requests = json.loads((out / "requests.json").read_text())
    assert len(requests) == spec.requests
    decisions = {policy_set.decide(request).decision for request in requests}  # a bad request would raise
    assert decisions == {"allow", "deny"}
    assert pdp_main(["fmt", "--check", str(out)]) == 0  # laid out as `pdp fmt` would


def test_a_seed_gives_the_same_set_and_another_seed_another(tmp_path):
    spec = Spec(rules=80, variant="random", registers=20, seed=7, requests=10)
    first, again = generate(spec), generate(spec)
    assert first.files == again.files and first.requests == again.requests
    other = generate(Spec(rules=80, variant="random", registers=20, seed=8, requests=10))
    assert other.files != first.files


def test_the_variants_have_their_shape():
    shared = generate(Spec(rules=300, variant="shared-target", registers=10, requests=1)).rules
    on_target = [r for r in shared if (r.actions, r.purposes, r.categories) == tuple((k,) for k in SHARED_TARGET)]
    assert len(on_target) == 300 - 7  # all but the set-wide rules, below 1,000 rules
    broad = generate(Spec(rules=300, variant="broad", registers=10, requests=1)).rules
    assert sum(1 for r in broad if not (r.actions or r.purposes or r.categories)) >= 300 // 5  # a quarter
    wide = generate(Spec(rules=300, variant="wide", registers=10, requests=1)).rules
    reads = [len(r.when) + len(r.unless) for r in wide if r.effect == "allow" and r.rule_id.count(".") == 2]
    assert min(reads) >= 6 and max(reads) <= 12


def test_a_register_of_10000_entries_loads(tmp_path):
    out = _written(tmp_path, Spec(rules=50, variant="clustered", registers=10_000, requests=5, tests=2))
    policy_set = pdp.load(out)
    assert len(policy_set.data["processors"]) == 10_000

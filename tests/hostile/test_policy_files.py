"""Hostile policy directories (issue 8, finding 14): each ends in a clear `file:line:col` error, in bounded
memory, and never in a traceback or a hang.

Every case is loaded twice: through `pdp.load` under tracemalloc (the diagnostic's code and place, and the
peak of memory allocated), and through `pdp check` (exit 1, `file:line:col: code:` on standard error, no
traceback). A few run `pdp check` as a real process too. Work is bounded by sizes and counts (pdp.base.limits),
never by the clock; the one timeout below is a guard against a hang (a FIFO used to block forever), not a
measurement.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdp
from pdp.base import limits
from pdp.cli import main
from pdp.analysis.warnings import warnings_of
from tests.support.generate import fewer

HEADER = 'policy "hostile" version "1" effective 2026-01-01\n'
MEMORY_CAP = 150 * 1024 * 1024  # bytes Python may allocate while refusing one hostile set (the 50 MB file is never read)
HANG_GUARD = 120  # seconds: only so that a regression fails instead of hanging the suite


def policy_set(root: Path, rules: str = 'allow a cite "§1"\n', **files: str | bytes) -> Path:
    """A policy directory: the header and `rules` in a.pdp, plus `files` (relative path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.pdp").write_text(HEADER + rules, encoding="utf-8")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def refused(directory: Path) -> tuple[list[pdp.Diagnostic], int]:
    """The errors `pdp.load` raises, and the peak memory it allocated; fails on a hang or a success."""
    result: dict = {}

    def run():
        tracemalloc.start()
        try:
            pdp.load(directory)
        except pdp.PolicyError as error:
            result["errors"] = [d for d in error.diagnostics if d.severity == "error"]
            str(error)  # renders
        except BaseException as error:  # noqa: BLE001 - reported below as the test's failure
            result["crash"] = error
        finally:
            result["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), "loading the policy set hung"
    assert "crash" not in result, f"a traceback instead of an error: {result['crash']!r}"
    assert "errors" in result, "the hostile policy set was accepted"
    assert result["peak"] < MEMORY_CAP, f"{result['peak']:,} bytes allocated"
    return result["errors"], result["peak"]


def one_error(directory: Path, code: str, file: str, line: int | None = None, says: str = "") -> pdp.Diagnostic:
    errors, _ = refused(directory)
    found = [d for d in errors if d.code == code and d.span.file.endswith(file) and (line is None or d.line == line)]
    assert found, [f"{d.span}: {d.code}: {d.message}" for d in errors]
    assert says in found[0].message, found[0].message
    assert found[0].line >= 1 and found[0].col >= 1
    return found[0]


def check_cli(directory: Path, capsys, code: str, file: str) -> str:
    """`pdp check`: exit 1, the error as `file:line:col: code:`, no traceback."""
    assert main(["check", str(directory)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(rf"^\S*{re.escape(file)}:\d+:\d+: {code}: ", err, re.M), err[:2000]
    return err


# ---------------------------------------------------------------- policy text


def test_five_thousand_nested_nots(tmp_path, capsys):
    root = policy_set(tmp_path / "p", 'deny a cite "§1" when ' + "not " * 5000 + "data_subject.age < 18\n")
    one_error(root, "too-deep", "a.pdp", 2, says=f"more than {limits.MAX_NESTING} levels")
    check_cli(root, capsys, "too-deep", "a.pdp")


def test_deep_parentheses_alone_are_read_and_negated_ones_refused(tmp_path):
    # parentheses alone add no level to the tree: 3,000 of them are read (and formatted away)
    rules = 'deny a cite "§1" when ' + "(" * 3000 + "data_subject.age < 18" + ")" * 3000 + "\n"
    assert pdp.load(policy_set(tmp_path / "p", rules)).rules[0].id == "a"
    rules = 'deny a cite "§1" when ' + "not (" * 3000 + "data_subject.age < 18" + ")" * 3000 + "\n"
    one_error(policy_set(tmp_path / "q", rules), "too-deep", "a.pdp", 2)


def test_a_five_thousand_digit_number(tmp_path, capsys):
    root = policy_set(tmp_path / "p", 'deny a cite "§1" when data_subject.age < ' + "9" * 5000 + "\n")
    one_error(root, "too-large", "a.pdp", 2, says="a number of more than")
    check_cli(root, capsys, "too-large", "a.pdp")


def test_a_fifty_megabyte_string_literal(tmp_path, capsys):
    root = policy_set(tmp_path / "p")
    with open(root / "big.pdp", "w", encoding="utf-8") as f:
        f.write('deny big "')
        chunk = "x" * (1024 * 1024)
        for _ in range(50):
            f.write(chunk)
        f.write('" cite "§1"\n')
    one_error(root, "too-large", "big.pdp", 1, says="larger than")
    check_cli(root, capsys, "too-large", "big.pdp")


def test_a_long_text_within_the_file_limit(tmp_path):
    root = policy_set(tmp_path / "p", 'deny a "' + "x" * (limits.MAX_TEXT_CHARS + 1) + '" cite "§1"\n')
    one_error(root, "too-large", "a.pdp", 2, says="longer than")


def test_a_lone_surrogate_in_a_message(tmp_path, capsys):
    root = policy_set(tmp_path / "p", 'deny a "bad \\ud800 text" cite "§1"\n')
    one_error(root, "syntax", "a.pdp", 2, says="half of a UTF-16 pair")
    check_cli(root, capsys, "syntax", "a.pdp")


def test_a_pair_of_surrogates_is_a_character(tmp_path):
    root = policy_set(tmp_path / "p", 'allow a "smile \\ud83d\\ude00" cite "§1"\n')
    assert pdp.load(root).rules[0].message == "smile \U0001f600"


@pytest.mark.slow
def test_thousands_of_syntax_errors_stop_at_a_limit(tmp_path):
    rules = "".join(f"deny r{i} cite when = =\n" for i in range(5000))
    errors, _ = refused(policy_set(tmp_path / "p", rules))
    assert len(errors) <= limits.MAX_SYNTAX_ERRORS + 1
    assert any("the rest of the file is not read" in d.message for d in errors)


def test_good_statements_around_errors_keep_their_lines(tmp_path):
    rules = 'allow ok1 cite "§1"\n\ndeny bad cite when = =\n\nallow ok2 cite "§1" when data_subject.agee > 1\n'
    errors, _ = refused(policy_set(tmp_path / "p", rules))
    # the statement after the syntax error is still checked, at its own line
    assert [(d.code, d.line) for d in errors] == [("syntax", 4), ("unknown-attribute", 6)]


# ---------------------------------------------------------------- YAML: data/ and vocabulary.yaml

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize("where, code", [("data/laughs.yaml", "data"), ("vocabulary.yaml", "vocabulary")])
def test_billion_laughs(tmp_path, capsys, where, code):
    root = policy_set(tmp_path / "p", **{where: LAUGHS})
    one_error(root, code, where, 2, says="alias")
    check_cli(root, capsys, code, where)


@pytest.mark.slow
@pytest.mark.parametrize("where, code", [("data/deep.yaml", "data"), ("vocabulary.yaml", "vocabulary")])
def test_fifty_thousand_deep_yaml(tmp_path, capsys, where, code):
    root = policy_set(tmp_path / "p", **{where: "[" * 50_000 + "]" * 50_000 + "\n"})
    one_error(root, code, where, 1, says="nested more than")
    check_cli(root, capsys, code, where)


def test_deep_block_yaml(tmp_path):
    text = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"
    one_error(policy_set(tmp_path / "p", **{"data/deep.yaml": text}), "data", "deep.yaml", says="nested more than")


@pytest.mark.slow
def test_too_many_yaml_values(tmp_path):
    text = "[" + ",".join("0" for _ in range(limits.MAX_YAML_NODES + 10)) + "]\n"
    one_error(policy_set(tmp_path / "p", **{"data/many.yaml": text}), "data", "many.yaml", says="values in one file")


def test_a_five_thousand_digit_number_in_yaml(tmp_path):
    one_error(policy_set(tmp_path / "p", **{"data/n.yaml": "n: " + "7" * 5000 + "\n"}), "data", "n.yaml", 1,
              says="a number of more than 4,300 digits")


# ---------------------------------------------------------------- what is on disk


def test_a_broken_symlink(tmp_path, capsys):
    root = policy_set(tmp_path / "p")
    (root / "gone.pdp").symlink_to(tmp_path / "p" / "nowhere.pdp")
    one_error(root, "unreadable", "gone.pdp", 1, says="points to nothing")
    check_cli(root, capsys, "unreadable", "gone.pdp")


def test_a_directory_named_like_a_policy_file(tmp_path, capsys):
    root = policy_set(tmp_path / "p")
    (root / "dir.pdp").mkdir()
    one_error(root, "unreadable", "dir.pdp", 1, says="a directory")
    check_cli(root, capsys, "unreadable", "dir.pdp")


def test_an_unreadable_file(tmp_path, capsys, monkeypatch):
    # the suite runs as root, which reads any file: refuse the open itself, as the kernel would
    root = policy_set(tmp_path / "p", **{"secret.pdp": 'allow s cite "§1"\n'})
    real_open = os.open

    def deny(path, *args, **kw):
        if str(path).endswith("secret.pdp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", deny)
    one_error(root, "unreadable", "secret.pdp", 1, says="Permission denied")
    check_cli(root, capsys, "unreadable", "secret.pdp")


def test_a_symlink_to_dev_zero(tmp_path, capsys):
    root = policy_set(tmp_path / "p")
    (root / "zero.pdp").symlink_to("/dev/zero")
    one_error(root, "unreadable", "zero.pdp", 1, says="leads out of the policy directory")
    check_cli(root, capsys, "unreadable", "zero.pdp")


def test_a_fifo(tmp_path, capsys):
    root = policy_set(tmp_path / "p")
    os.mkfifo(root / "z.pdp")
    one_error(root, "unreadable", "z.pdp", 1, says="a FIFO")
    check_cli(root, capsys, "unreadable", "z.pdp")


def test_a_fifo_for_a_data_file_and_the_vocabulary(tmp_path):
    root = policy_set(tmp_path / "p")
    (root / "data").mkdir()
    os.mkfifo(root / "data" / "d.yaml")
    os.mkfifo(root / "vocabulary.yaml")
    errors, _ = refused(root)
    assert {Path(d.span.file).name for d in errors if "FIFO" in d.message} == {"d.yaml", "vocabulary.yaml"}


SECRET = "TOP-SECRET-CONTENT-42"


@pytest.mark.parametrize("name", ["leak.pdp", "vocabulary.yaml", "data/leak.yaml"])
def test_a_symlink_out_of_the_directory_is_refused_and_never_quoted(tmp_path, capsys, name):
    outside = tmp_path / "outside.txt"
    outside.write_text(f"deny {SECRET} when = =\n{SECRET}: [\n", encoding="utf-8")
    root = policy_set(tmp_path / "p")
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).symlink_to(outside)
    one_error(root, "unreadable", Path(name).name, 1, says="leads out of the policy directory")
    err = check_cli(root, capsys, "unreadable", Path(name).name)
    assert SECRET not in err and "outside.txt" not in err


def test_a_data_directory_linked_from_outside(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "users.yaml").write_text(f"{SECRET}: {{}}\n", encoding="utf-8")
    root = policy_set(tmp_path / "p")
    (root / "data").symlink_to(outside)
    one_error(root, "unreadable", "users.yaml", says="leads out of the policy directory")


def test_a_version_linked_from_outside(tmp_path):
    outside = policy_set(tmp_path / "elsewhere")
    root = policy_set(tmp_path / "p")
    (root / "versions").mkdir()
    (root / "versions" / "old").symlink_to(outside)
    one_error(root, "unreadable", "old", says="leads out of the policy set")


def test_a_symlink_inside_the_directory_is_read(tmp_path):
    root = policy_set(tmp_path / "p", **{"shared/real.rules": 'allow b cite "§1"\n'})
    (root / "alias.pdp").symlink_to(root / "shared" / "real.rules")
    assert {r.id for r in pdp.load(root).rules} >= {"a", "b"}


def test_the_policy_directory_may_itself_be_a_link(tmp_path):
    release = policy_set(tmp_path / "releases" / "v2")
    (tmp_path / "current").symlink_to(release)  # the atomic deploy docs/service.md describes
    assert pdp.load(tmp_path / "current").name == "hostile"


def test_a_file_just_over_the_size_limit(tmp_path):
    root = policy_set(tmp_path / "p", **{"b.pdp": "#" * (limits.MAX_FILE_BYTES + 1)})
    one_error(root, "too-large", "b.pdp", 1)


# ---------------------------------------------------------------- a real process


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nots", "fifo", "laughs"])
def test_pdp_check_as_a_process(tmp_path, kind):
    root = policy_set(tmp_path / "p", 'deny a cite "§1" when ' + "not " * 5000 + "data_subject.age < 18\n"
                      if kind == "nots" else 'allow a cite "§1"\n', **({"data/l.yaml": LAUGHS} if kind == "laughs" else {}))
    if kind == "fifo":
        os.mkfifo(root / "z.pdp")
    done = subprocess.run([sys.executable, "-m", "pdp.cli", "check", str(root)], capture_output=True, text=True,
                          timeout=HANG_GUARD)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert re.search(r":\d+:\d+: (too-deep|unreadable|data): ", done.stderr), done.stderr[:2000]


# ---------------------------------------------------------------- generated


@settings(fewer(5), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opens=st.lists(st.sampled_from(["not ", "(", "not ("]), min_size=0, max_size=400))
def test_generated_nesting_is_read_or_refused_at_the_limit(tmp_path_factory, opens):
    condition = "data_subject.age < 18"
    for piece in reversed(opens):
        condition = piece + condition + ")" * piece.count("(")
    root = policy_set(tmp_path_factory.mktemp("n"), f'deny a cite "§1" when {condition}\n')
    depth = sum(piece.count("not") for piece in opens)  # parentheses alone add no level
    try:
        pdp.load(root)
    except pdp.PolicyError as error:
        codes = {d.code for d in error.diagnostics if d.severity == "error"}
        assert codes == {"too-deep"} and depth > limits.MAX_NESTING, (depth, codes)
    else:
        assert depth <= limits.MAX_NESTING


YAML_PIECES = st.sampled_from(["[", "{a: ", "- ", "&x ", "*x", "!!str ", "1" * 600, "]", "}", ", ", "\n", "'", '"',
                               "? ", "k: ", "\t"])


@settings(fewer(2), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(YAML_PIECES, max_size=80), repeat=st.integers(1, 400))
def test_generated_yaml_is_read_or_refused_with_a_place(pieces, repeat):
    text = "".join(pieces) * repeat
    for where in ("data/d.yaml", "vocabulary.yaml"):
        files = {where: text}
        sources = pdp.Sources({"a.pdp": HEADER + 'allow a cite "§1"\n'},
                              (where, text) if where == "vocabulary.yaml" else None,
                              files if where != "vocabulary.yaml" else {})
        try:
            pdp.build(sources)
        except pdp.PolicyError as error:
            for d in error.diagnostics:
                assert d.line >= 1 and d.message, d
            str(error)


@pytest.mark.slow
def test_thousands_of_rules_that_apply_together(tmp_path, capsys, monkeypatch):
    # valid, but comparing every rule with every other one that applies with it took 9 GB for 8,866 rules
    # (1,200 here: 17 s and 0.2 GB before the limit):
    # the analysis is skipped with a warning, and the set is served
    rules = "".join(f'allow r{i} cite "§1" to use when data_subject.age < {i}\n' for i in range(1200))
    root = policy_set(tmp_path / "p", rules)
    tracemalloc.start()
    try:
        policy = pdp.load(root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_CAP, f"{peak:,} bytes allocated"
    assert len(policy.rules) == 1200
    # (issue 10) no longer skipped for size: the solver asks about each rule; the pairs of rules looked at, and
    # the questions about them the boxes do not settle, are bounded, and the rules it could not settle within
    # them are named, never reported as findings (within the defaults these 1,200 rules are all settled: 1.4
    # million pairs, a minute and a half of CPU; the bounds are lowered here to see them hold)
    from pdp.analysis import solved

    monkeypatch.setattr(solved, "PAIR_QUESTIONS", 2_000)
    monkeypatch.setattr(solved, "NEIGHBOURS", 20_000)
    found = warnings_of(policy)
    assert found[-1].code == "analysis-skipped" and "could not be decided within the solver's budget" in found[-1].message
    assert {w.code for w in found[:-1]} <= {"shadowed-rule"}


@pytest.mark.slow
def test_thousands_of_data_files(tmp_path):
    root = policy_set(tmp_path / "p")
    (root / "data").mkdir()
    for i in range(limits.MAX_FILES + 5):
        (root / "data" / f"d{i}.yaml").write_text("a: 1\n", encoding="utf-8")
    one_error(root, "too-large", ".yaml", 1, says=f"more than {limits.MAX_FILES:,} files")


def test_pdp_fmt_reads_as_pdp_check_does(tmp_path, capsys):
    outside = tmp_path / "outside.pdp"
    outside.write_text(f"deny   {SECRET}   cite \"§1\"\n", encoding="utf-8")
    root = policy_set(tmp_path / "p")
    (root / "leak.pdp").symlink_to(outside)
    (root / "zero.pdp").symlink_to("/dev/zero")
    assert main(["fmt", str(root)]) == 1
    err = capsys.readouterr().err
    assert "leads out of the policy directory" in err and SECRET not in err
    assert outside.read_text(encoding="utf-8") == f"deny   {SECRET}   cite \"§1\"\n"  # never rewritten

"""`pdp test` reads its test files as the loader reads policy files: inside the set, plain files, bounded in size."""

import os
from pathlib import Path

import pytest

from pdp.cli import main
from pdp.base.limits import MAX_FILE_BYTES
from pdp.testing import read_test_files

POLICY = 'policy "t" version "1" effective 2026-01-01\nallow ops "Operate" cite "§1" to use for essential of user\n'
CASE = "cases:\n  - name: {name}\n    request: {{action: use, purpose: essential.service, data_categories: [user]}}\n" \
       "    expect: allow\n"


@pytest.fixture
def policy_dir(tmp_path):
    root = tmp_path / "policies"
    (root / "tests").mkdir(parents=True)
    (root / "main.pdp").write_text(POLICY)
    (root / "tests" / "good.yaml").write_text(CASE.format(name="operate"))
    return root


def refused(policy_dir) -> list:
    files, errors = read_test_files(policy_dir)
    assert [case.name for f in files for case in f.cases] == ["operate"]  # the good file still runs
    return [d for error in errors for d in error.diagnostics]


def test_a_test_file_linked_from_outside_the_set_is_refused_unread(policy_dir, tmp_path, capsys):
    outside = tmp_path / "secret.yaml"
    outside.write_text(CASE.format(name="SECRET-CONTENT") + "oops: [\n")
    (policy_dir / "tests" / "linked.yaml").symlink_to(outside)
    (problem,) = refused(policy_dir)
    assert problem.code == "unreadable" and problem.message == "this link leads out of the policy directory"
    assert Path(problem.span.file).name == "linked.yaml"
    assert main(["test", str(policy_dir)]) == 1
    out, err = capsys.readouterr()
    assert "SECRET" not in out + err and "leads out of the policy directory" in out + err


def test_an_oversized_test_file_is_refused(policy_dir):
    (policy_dir / "tests" / "huge.yaml").write_text("# " + "x" * MAX_FILE_BYTES + "\n" + CASE.format(name="huge"))
    (problem,) = refused(policy_dir)
    assert problem.code == "too-large" and Path(problem.span.file).name == "huge.yaml"


def test_a_fifo_or_a_device_named_like_a_test_file_is_refused_not_skipped(policy_dir):
    os.mkfifo(policy_dir / "tests" / "pipe.yaml")
    (policy_dir / "tests" / "zero.yaml").symlink_to("/dev/zero")  # out of the set, too: never opened
    problems = refused(policy_dir)
    assert sorted((Path(p.span.file).name, p.code) for p in problems) == [("pipe.yaml", "unreadable"),
                                                                         ("zero.yaml", "unreadable")]
    assert "a FIFO, not a plain file" in " ".join(p.message for p in problems)


def test_the_pytest_plugin_reads_a_test_file_the_same_way(policy_dir, tmp_path):
    from pdp.testing import TestFileError, load_test_file

    outside = tmp_path / "secret.yaml"
    outside.write_text(CASE.format(name="SECRET-CONTENT"))
    (policy_dir / "tests" / "linked.yaml").symlink_to(outside)
    with pytest.raises(TestFileError) as info:
        load_test_file(policy_dir / "tests" / "linked.yaml")  # the policy set is the folder above tests/
    assert "SECRET" not in str(info.value) and "leads out of the policy directory" in str(info.value)

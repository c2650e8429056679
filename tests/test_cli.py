"""The `pdp` command as a user runs it: exit codes and output."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pdp.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


@pytest.fixture
def policy_dir(tmp_path):
    (tmp_path / "main.pdp").write_text(textwrap.dedent('''
        policy "demo" version "7" effective 2026-11-24
        allow ops "Operate the service" cite "§2.1" to use for essential of user
        deny minors "Not for children" cite "§10" when data_subject.age < 18
    '''))
    return tmp_path


def run(capsys, monkeypatch, argv, stdin=""):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_ok(capsys, monkeypatch, policy_dir):
    code, out, _ = run(capsys, monkeypatch, ["check", str(policy_dir)])
    assert code == 0 and out.startswith("ok: demo 7: 2 rules")


def test_check_reports_errors_with_positions(capsys, monkeypatch, policy_dir):
    (policy_dir / "bad.pdp").write_text('allow x cite "§1" to usee\nallow y when a = 1\n')
    code, _, err = run(capsys, monkeypatch, ["check", str(policy_dir)])
    assert code == 1
    assert "bad.pdp:1:22: unknown-action: unknown action `usee`" in err
    assert "bad.pdp:2:16: syntax: unexpected character `=`" in err
    assert "2 errors in the policy set" in err


def test_decide_allow_and_deny_both_exit_zero(capsys, monkeypatch, policy_dir):
    req = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
    code, out, _ = run(capsys, monkeypatch, ["decide", str(policy_dir)], json.dumps(req))
    assert code == 0 and json.loads(out)["decision"] == "allow"
    req["data_subject"] = {"age": 12}
    code, out, _ = run(capsys, monkeypatch, ["decide", str(policy_dir)], json.dumps(req))
    body = json.loads(out)
    assert code == 0 and body["decision"] == "deny" and body["reasons"][0]["cite"] == "§10"
    assert body["policy"]["name"] == "demo" and body["policy"]["digest"].startswith("sha256:")


def test_decide_bad_request_names_the_field(capsys, monkeypatch, policy_dir):
    code, _, err = run(capsys, monkeypatch, ["decide", str(policy_dir)],
                       '{"action": "use", "purpose": "essentail", "data_categories": ["user"]}')
    assert code == 2
    detail = json.loads(err)["detail"]
    assert detail[0]["field"] == "purpose" and "essential" in detail[0]["suggestions"]
    code, _, err = run(capsys, monkeypatch, ["decide", str(policy_dir)], "{not json")
    assert code == 2 and "not valid JSON" in err


def test_missing_directory_is_a_clear_error(capsys, monkeypatch, tmp_path):
    code, _, err = run(capsys, monkeypatch, ["check", str(tmp_path / "nope")])
    assert code == 1 and "is not a directory" in err and "Traceback" not in err
    code, _, err = run(capsys, monkeypatch, ["check", str(tmp_path)])
    assert code == 1 and "no policy files" in err


@pytest.mark.slow
def test_the_installed_wheel_carries_the_grammar(tmp_path):
    """An installed pdp works outside the repository: the grammar ships in the wheel."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "w")],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "w").glob("pdp-*.whl")
    import zipfile

    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    script = ("import pdp.lang.grammar, pdp; print(pdp.lang.grammar.grammar_path()); print(pdp.load(%r).name)"
              % str(ROOT / "tests" / "data" / "minimal"))
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    grammar_file, name = out.stdout.split()
    assert grammar_file.startswith(str(tmp_path / "site")) and name == "minimal"


def test_serve_takes_the_policy_directory_from_pdp_policy_dir(tmp_path, monkeypatch, capsys):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.update(kw))
    monkeypatch.chdir(tmp_path)  # no ./policies here
    monkeypatch.setenv("PDP_POLICY_DIR", str(POLICIES))
    monkeypatch.setenv("PDP_LOG_PATH", str(tmp_path / "log.db"))
    assert main(["serve", "--port", "18999"]) == 0
    assert started["port"] == 18999 and os.environ["PDP_POLICY_DIR"] == str(POLICIES.resolve())
    assert "serving cx-one-go" in capsys.readouterr().err


@pytest.mark.parametrize("env, named", [
    ({"PDP_LOG_KEY": "short"}, "PDP_LOG_KEY: must be at least 16 characters"),
    ({"PDP_MAX_BODY_BYTES": "200"}, "PDP_MAX_BODY_BYTES: Input should be greater than or equal to 1024"),
    ({"PDP_PORT": "eighty"}, "PDP_PORT: Input should be a valid integer"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, capsys, env, named):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", str(POLICIES)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


@pytest.mark.slow
def test_pdp_runs_from_a_directory_that_was_deleted(tmp_path, monkeypatch, capsys):
    # Path.cwd() fails there (FileNotFoundError): files are named as given instead of a traceback
    policies = Path(__file__).resolve().parents[1] / "policies"
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert main(["check", "--strict", str(policies)]) == 0
    assert f"{policies}/children.pdp:" in capsys.readouterr().err  # the warnings name the path as given
    assert main(["test", str(policies)]) == 0

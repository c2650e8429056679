"""The workbench for AuthZEN sets (issue 12): `pdp check` warnings, `pdp query`, `pdp diff` and `pdp explain` work
in the model's own terms (actions, subjects, resources; no purposes or categories), and the analysis agrees
with the engine on generated AuthZEN sets."""

import json
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pdp import Sources, build
from pdp.analysis.query import Question, ask
from pdp.analysis.space import ENUMERATION, SOLVER, Space
from pdp.analysis.warnings import analyse
from pdp.cli import main
from pdp.io.loader import load
from tests.support.generate import fewer
from tests.test_models import ACTIONS, AUTHZEN_HEADER, AUTHZEN_VOCAB, authzen_rules, authzen_set, evaluations

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TODO = EXAMPLES / "authzen-todo"
RICK = "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"  # admin, evil_genius
MORTY = "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"  # editor
BETH = "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"  # viewer


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def edited_todo(tmp_path: Path, extra: str, name: str = "todo") -> Path:
    target = tmp_path / name
    shutil.copytree(TODO, target)
    with (target / "todo.pdp").open("a") as f:
        f.write(extra)
    return target


DUPLICATE_AND_BLANKET_DENY = '''
allow todo.read_todos_again "The same rule again"
  cite "interop: can_read_todos"
  to can_read_todos

deny todo.freeze "Nobody deletes anything"
  cite "freeze"
  to can_delete_todo
'''


# ---------------------------------------------------------------- pdp check


def test_the_example_authzen_sets_have_no_warnings(capsys):
    for example in ("authzen-todo", "authzen-gateway", "authzen-search"):
        for method in ("enumeration", "solver"):
            code, out, _ = run(capsys, ["check", str(EXAMPLES / example), "--method", method])
            assert code == 0 and "0 warnings" in out, (example, method, out)


def test_a_duplicate_rule_and_a_blanket_deny_in_an_authzen_set_are_warned_about(tmp_path, capsys):
    policies = edited_todo(tmp_path, DUPLICATE_AND_BLANKET_DENY)
    file = policies / "todo.pdp"
    lines = file.read_text().splitlines()

    def at(rule: str) -> str:  # the rule's id as `pdp check` points at it: file:line:col
        line = next(i for i, text in enumerate(lines, 1) if text.split()[:2] in (["allow", rule], ["deny", rule]))
        return f"{file}:{line}:{lines[line - 1].index(rule) + 1}"

    for method in ("enumeration", "solver"):
        code, ok, out = run(capsys, ["check", str(policies), "--method", method])  # (warnings on stderr)
        assert code == 0 and "5 warnings" in ok
        assert f"{at('todo.read_todos')}: shadowed-rule: warning: the rule `todo.read_todos` is shadowed by " \
               "`todo.read_todos_again`" in out
        assert f"{at('todo.read_todos_again')}: shadowed-rule: warning: the rule `todo.read_todos_again` is shadowed " \
               "by `todo.read_todos`" in out
        assert f"{at('todo.delete_any')}: always-overridden: warning: the allow rule `todo.delete_any` never allows " \
               "anything" in out
        assert f"{at('todo.delete_own')}: always-overridden: warning: the allow rule `todo.delete_own` never allows " \
               "anything" in out
        assert f"{at('todo.freeze')}: unmarked-overlap: warning: the deny rule `todo.freeze` overrides 2 allow " \
               "rules" in out
        assert "purpose" not in out and "categor" not in out
        code, _, _ = run(capsys, ["check", "--strict", str(policies), "--method", method])
        assert code != 0


# ---------------------------------------------------------------- pdp query


def test_query_answers_about_an_authzen_set_with_an_authzen_request(capsys):
    code, out, _ = run(capsys, ["query", str(TODO), "--allowed", "--action", "can_delete_todo",
                                "--where", '"editor" in subject.roles', "--format", "json"])
    answer = json.loads(out)
    assert (code, answer["answer"], answer["decision"]) == (1, "yes", "allow")
    example = answer["request"]
    assert set(example) <= {"subject", "action", "resource", "context"}
    assert example["action"] == {"name": "can_delete_todo"}
    assert example["subject"]["id"] in (MORTY, "CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs")
    assert load(TODO).decide(example).decision == "allow"  # the engine's own answer
    assert [r["rule"] for r in answer["reasons"]] == ["todo.delete_own"]


def test_a_looked_up_attribute_is_the_registers_not_the_callers(capsys):
    # an id the directory does not list has no roles: nothing it says makes it an admin
    code, out, _ = run(capsys, ["query", str(TODO), "--allowed", "--action", "can_delete_todo",
                                "--where", 'subject.id == "nobody"'])
    assert code == 0 and out.startswith("no: a request to can_delete_todo where subject.id == \"nobody\" is never "
                                        "allowed"), out
    code, out, _ = run(capsys, ["query", str(TODO), "--allowed", "--action", "can_read_todos", "--where",
                                'subject.id == "nobody"'])
    assert code == 1, out


def test_query_in_an_authzen_sets_terms_by_both_methods(capsys):
    for method in (ENUMERATION, SOLVER):
        code, out, _ = run(capsys, ["query", str(TODO), "--method", method, "--allowed", "--action", "can_update_todo",
                                    "--where", "resource.properties.ownerID == subject.email",
                                    "--where", 'not ("evil_genius" in subject.roles)'])
        assert code == 1 and "decided by: allow todo.update_own" in out, out
        assert "any data" not in out and "purpose" not in out
        code, out, _ = run(capsys, ["query", str(TODO), "--method", method, "--denied", "--action", "can_read_user"])
        assert code == 0 and "is never denied" in out, out


def test_data_use_options_are_an_error_for_an_authzen_set(capsys):
    for option in ("--purpose-under", "--category-under"):
        code, _, err = run(capsys, ["query", str(TODO), option, "marketing"])
        assert code == 2
        assert "`authzen-todo` is an AuthZEN policy set: its requests name an action (`action.name`), a subject and " \
               "a resource, no purpose or data category" in err


def test_an_authzen_attribute_in_a_data_use_set_is_an_error(capsys):
    policies = Path(__file__).parent / "data" / "minimal"
    code, _, err = run(capsys, ["query", str(policies), "--where", '"admin" in subject.roles'])
    assert code == 2 and "--where" in err and "subject" in err, err


# ---------------------------------------------------------------- pdp diff


def test_diff_of_two_authzen_sets_names_actions_and_authzen_requests(tmp_path, capsys):
    new = edited_todo(tmp_path, '''
deny todo.no_delete_archived "Archived todos are never deleted"
  cite "archive"
  to can_delete_todo
  when resource.properties.archived == true
''')
    for method in (ENUMERATION, SOLVER):
        code, out, _ = run(capsys, ["diff", str(TODO), str(new), "--method", method, "--format", "json"])
        report = json.loads(out)
        assert code == 1, out
        old_set, new_set = load(TODO), load(new)
        assert {c["rules_after"][0] for c in report["changes"]} == {"todo.no_delete_archived"}
        for change in report["changes"]:
            example = change["example"]
            assert example["action"] == {"name": "can_delete_todo"}
            assert example["resource"]["properties"]["archived"] is True
            assert (old_set.decide(example).decision, new_set.decide(example).decision) == ("allow", "deny")
            assert all(case["purposes"] == [] and case["categories"] == [] for case in change["cases"])
        code, out, _ = run(capsys, ["diff", str(TODO), str(new), "--method", method])
        assert "- can_delete_todo when " in out and "categor" not in out


def test_diff_refuses_sets_of_two_models(capsys):
    code, _, err = run(capsys, ["diff", str(TODO), str(Path(__file__).parent / "data" / "minimal")])
    assert code == 2
    assert "two sets of one model are compared" in err and "an AuthZEN policy set" in err


# ---------------------------------------------------------------- pdp explain


def test_explain_advises_in_the_authzen_models_terms(tmp_path, capsys):
    request = {"subject": {"type": "user", "id": BETH}, "action": {"name": "can_delete_todo"},
               "resource": {"type": "todo", "id": "1", "properties": {"ownerID": "beth@the-smiths.com"}}}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    code, out, _ = run(capsys, ["explain", str(TODO), "--request", str(path)])
    advice = out[out.index("Smallest changes that would allow it:"):]
    assert f'would be allowed if subject.id were "{RICK}"' in advice
    assert 'would be allowed if action.name were "can_read_todos"' in advice
    assert "purpose" not in out and "categor" not in out
    todo = load(TODO)
    assert todo.decide({**request, "subject": {"type": "user", "id": RICK}}).decision == "allow"


# ---------------------------------------------------------------- the analysis agrees with the engine


@fewer(4)  # a set built and analysed, by both methods, per example
@given(authzen_rules(), st.lists(evaluations, min_size=1, max_size=8))
def test_the_analysis_of_an_authzen_set_agrees_with_the_engine(rules, requests):
    policy_set = authzen_set(rules)
    space = Space([policy_set])
    for request in requests:  # each request's class in the space gets the engine's decision
        predicted = space.predict(0, request)
        if predicted is not None:
            assert predicted.decision == policy_set.outcome(request).decision, request
    analysis_agrees(policy_set, requests)


def analysis_agrees(policy_set, requests) -> None:
    """By both methods: each of query's examples is decided as asked, its "never" holds for every request, and
    a rule said to apply to no request never applies."""
    for method in (ENUMERATION, SOLVER):
        for action in ACTIONS:
            for decision in ("allow", "deny"):
                answer = ask(policy_set, Question(decision, (action,)), method=method)
                if answer.yes:  # its example is decided so by the engine
                    assert answer.request["action"] == {"name": action}
                    assert policy_set.outcome(answer.request).decision == decision
                else:  # "never": no request gets it
                    for request in requests:
                        if request["action"]["name"] == action:
                            assert policy_set.outcome(request).decision != decision, (method, request)
        never = {d.message.split("`")[1] for d in analyse(policy_set, method=method)
                 if d.code == "shadowed-rule" and "applies to no request" in d.message}
        for request in (r for r in requests if r["action"]["name"] in ACTIONS):  # (an unknown action is denied)
            env = policy_set.select(request).env
            for rule in policy_set.rules:
                if rule.id in never and (rule.actions is None or request["action"]["name"] in rule.actions):
                    try:
                        applies = rule.applies(env)
                    except Exception:  # noqa: BLE001 - a rule that fails does not apply
                        applies = False
                    assert applies is not True, (method, rule.id, request)


# ---------------------------------------------------------------- with a directory the subject is looked up in

LOOKED_UP_CONDITIONS = [
    '"admin" in subject.roles', '"editor" in subject.roles', 'resource.properties.owner == subject.email',
    'subject.level > 2', 'resource.type == "doc"', '"admin" in subject.properties.roles',
    '"editor" in subject.properties.roles', 'subject.id in resource.properties.editors',
]
ROLES = ["admin", "editor", "viewer"]
users = st.dictionaries(
    st.sampled_from(["u1", "u2", "u3"]),
    st.fixed_dictionaries({}, optional={"roles": st.lists(st.sampled_from(ROLES), max_size=3),
                                        "email": st.sampled_from(["a@x", "b@x"]), "level": st.integers(0, 4)}),
    max_size=3)


@st.composite
def looked_up_rules(draw):
    out = []
    for i in range(draw(st.integers(1, 6))):
        parts = [f'{draw(st.sampled_from(["allow", "deny"]))} r{i} cite "§{i}"']
        actions = draw(st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True))
        if actions:
            parts.append(f"to {', '.join(actions)}")
        when = draw(st.lists(st.sampled_from(LOOKED_UP_CONDITIONS), min_size=1, max_size=2, unique=True))
        parts.append("when " + " and ".join(when))
        out.append("\n  ".join(parts))
    return "\n".join(out) + "\n"


looked_up_evaluations = st.fixed_dictionaries({
    "subject": st.fixed_dictionaries({"type": st.just("user"), "id": st.sampled_from(["u1", "u2", "u3", "u4"])},
                                     optional={"roles": st.just(["admin"]),
                                               "properties": st.fixed_dictionaries({"roles": st.lists(
                                                   st.sampled_from(ROLES), max_size=3)})}),
    "action": st.fixed_dictionaries({"name": st.sampled_from(ACTIONS)}),
    "resource": st.fixed_dictionaries({"type": st.sampled_from(["doc", "todo"]), "id": st.just("r1")}, optional={
        "properties": st.fixed_dictionaries({"owner": st.sampled_from(["a@x", "b@x", "c@x"])}, optional={
            "editors": st.lists(st.sampled_from(["u1", "u2", "u4"]), max_size=2)})}),
})


def directory_set(rules: str, register: dict):
    return build(Sources({"z.pdp": AUTHZEN_HEADER + "lookup subject in data.users\n" + rules},
                         ("vocabulary.yaml", AUTHZEN_VOCAB),
                         {"users.yaml": json.dumps({"u0": {"roles": [], "email": "z@x", "level": 0}, **register})}))


@fewer(4)  # a set built and analysed, by both methods, per example
@given(looked_up_rules(), users, st.lists(looked_up_evaluations, min_size=1, max_size=8))
def test_the_analysis_of_an_authzen_set_with_a_directory_agrees_with_the_engine(rules, register, requests):
    """What `lookup subject` fills is the register's: every entry's lists and values are tried, never the
    caller's, and the answers hold for the engine."""
    policy_set = directory_set(rules, register)
    analysis_agrees(policy_set, requests)


def test_a_list_the_request_gives_is_tried_with_every_set_of_its_values():
    """`"admin" in roles and "editor" in roles` holds only for a list of two: never "applies to no request"."""
    both = authzen_set('allow r0 cite "1" to read\n'
                       '  when "admin" in subject.properties.roles and "editor" in subject.properties.roles\n'
                       'allow r1 cite "2" to write when subject.id in resource.properties.editors\n')
    assert [d for d in analyse(both) if d.code == "shadowed-rule"] == []
    for method in (ENUMERATION, SOLVER):
        answer = ask(both, Question("allow", ("read",)), method=method)
        assert answer.yes and {"admin", "editor"} <= set(answer.request["subject"]["properties"]["roles"])
        # every set of the values the conditions name was tried: the roles are not sampled (a list searched for
        # another attribute's value is, and says so)
        assert answer.notes == ("`resource.properties.editors` is searched as a list: the space tries lists of a few "
                                "values only",)
        answer = ask(both, Question("allow", ("write",)), method=method)
        assert answer.yes and answer.request["subject"]["id"] in answer.request["resource"]["properties"]["editors"]

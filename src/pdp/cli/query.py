"""`pdp query [DIR] --allowed|--denied [--action A] [--purpose-under P] [--category-under C] [--where COND]`.

Asks whether any request with the given action, purpose and data category
(each option may be repeated: any of them) and meeting every `--where`
condition gets the decision. Answers exactly, from the decision space
(pdp.analysis.query, pdp.analysis.space), with a request that proves a "yes". A set that keeps
earlier versions under `versions/` (§11) is asked under every version a
request can select; the example then carries the `collected_at` that
selects the version that answered.

    pdp query policies --allowed --action use --purpose-under marketing \\
        --category-under user.health_and_medical
    pdp query policies --allowed --action transfer --category-under user.contact \\
        --where 'destination_country != IN' --where 'recipient.dpa is absent or recipient.dpa == false'
    pdp query policies --allowed --where 'data_subject.age == 17'

An AuthZEN set (`model authzen`) is asked in its own terms: `--action` is
`action.name`, `--where` reads `subject.*`, `resource.*`, `action.*` and
`context.*` (what `lookup subject` fills comes from the register, not the
caller), and the example is an AuthZEN request; `--purpose-under` and
`--category-under` are data-use options, an error for such a set.

    pdp query examples/authzen-todo --allowed --action can_delete_todo \
        --where '"editor" in subject.roles'

Exit status, so that CI can assert invariants: 0 no such request, 1 yes
(there is one; it is printed), 2 a bad question (or a policy set with
errors), 3 the solver could not decide the question within its budget
(never reported as "no").
"""

from __future__ import annotations

import sys

from .common import DEFAULT_POLICY_DIR, EXIT_USAGE, add_method, print_report
from pdp.base.errors import PolicyError

EXIT_NO, EXIT_YES, EXIT_UNDECIDED = 0, 1, 3


def register(subparsers) -> None:
    query = subparsers.add_parser(
        "query", help="can any request get a decision? answered exactly, with an example (exit 1: yes, 0: no)",
        description="Ask whether any request gets a decision. Exit 0: no such request; 1: yes (an example is "
                    "printed); 2: a bad question. Data-use sets: requests name one data category (a request with "
                    "several is allowed exactly when each alone would be). AuthZEN sets: an action and conditions "
                    "on subject, resource, action and context; the example is an AuthZEN request.")
    query.add_argument("policy_dir", nargs="?", default=DEFAULT_POLICY_DIR)
    decision = query.add_mutually_exclusive_group()
    decision.add_argument("--allowed", dest="decision", action="store_const", const="allow",
                          help="ask whether some request is allowed (the default)")
    decision.add_argument("--denied", dest="decision", action="store_const", const="deny",
                          help="ask whether some request is denied")
    query.add_argument("--action", action="append", default=[], metavar="ACTION",
                       help="the request's action (an AuthZEN set: `action.name`; repeat for any of several)")
    query.add_argument("--purpose-under", action="append", default=[], metavar="PURPOSE",
                       help="the request's purpose is this key or below it (data-use sets; repeat for any of several)")
    query.add_argument("--category-under", action="append", default=[], metavar="CATEGORY",
                       help="the request's data category is this key or below it (data-use sets; repeat for any of several)")
    query.add_argument("--where", action="append", default=[], metavar="CONDITION",
                       help="a condition in the policy language that must be true, e.g. 'data_subject.age == 17' "
                            "(an AuthZEN set: '\"admin\" in subject.roles'); "
                            "an absent attribute is a value (`x != true` holds when x is absent); a bare word in the place "
                            "of a value is text (IN means \"IN\"), an unknown attribute an error; repeat: all must hold")
    query.add_argument("--format", choices=("text", "json"), default="text")
    add_method(query)
    query.set_defaults(func=cmd_query, decision="allow")


def cmd_query(args) -> int:
    from pdp.io.loader import load
    from pdp.analysis.query import Question, QuestionError, ask
    from pdp.analysis.space import SpaceTooLarge
    from pdp.analysis.space.encoding import Undecided

    try:
        policy_set = load(args.policy_dir)  # with its earlier versions (§11): a request may select one
    except PolicyError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    question = Question(args.decision, tuple(args.action), tuple(args.purpose_under), tuple(args.category_under),
                        tuple(args.where))
    try:
        answer = ask(policy_set, question, policy_set.sources,  # the texts it was built from (read once)
                     method=args.method)
    except (QuestionError, SpaceTooLarge) as error:
        print(f"pdp query: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Undecided as error:
        print(f"pdp query: {question.describe()}: could not be decided within the budget: {error}", file=sys.stderr)
        return EXIT_UNDECIDED
    print_report(answer, args.format)
    return EXIT_YES if answer.yes else EXIT_NO

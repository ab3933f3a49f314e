"""AccessPolicy.rule_for remembers each path's covering rules: never a different answer.

The memo is keyed by the exact path string, bounded in entries and path
length, and forgotten whenever a rule is added, so an application that adds
rules after the first requests gets them applied at once.
"""

from __future__ import annotations

import itertools

from authplug import access
from authplug.access import AccessPolicy, AccessRule, Decision
from authplug.models import AuthenticatedUser

ADMIN = "pika:content-admin"
RULES = (
    AccessRule("/admin", roles=(ADMIN,)),
    AccessRule("/api", roles=("pika:reader", ADMIN)),
    AccessRule("/api/billing", roles=("pika:billing",), user_types=("internal-user",)),
    AccessRule("/reports", user_types=("external-user",)),
)
PATHS = [
    "/",
    "/admin",
    "/admin/",
    "/admin/x",
    "/administrator",
    "/api",
    "/api/billing",
    "/api/billing/2026",
    "/api/billingx",
    "/api//billing",
    "/api/./billing",
    "/api/x/../billing",
    "/reports",
    "/page",
    "",
    "admin",
]


def _user(*roles: str) -> AuthenticatedUser[dict[str, str], dict[str, str]]:
    return AuthenticatedUser(user_id="u", user_type="internal-user", roles=roles, auth_data={})


def _fresh(rules: tuple[AccessRule, ...] = RULES) -> AccessPolicy:
    return AccessPolicy(rules)


def test_a_remembered_answer_is_the_computed_one() -> None:
    policy = _fresh()
    users = (_user(), _user(ADMIN), _user("pika:billing"), None)
    for _ in range(2):  # the first round computes, the second reads the memo
        for path, user in itertools.product(PATHS, users):
            assert policy.rule_for(path) == _fresh().rule_for(path), path
            assert policy.decide(path, user) is _fresh().decide(path, user), (path, user)


def test_adding_a_rule_applies_to_paths_already_judged() -> None:
    policy = AccessPolicy([AccessRule("/api", roles=("pika:reader",))])
    reader = _user("pika:reader")
    assert policy.decide("/api/admin", reader) is Decision.ALLOW
    assert policy.decide("/page", reader) is Decision.NO_RULE
    policy.add(AccessRule("/api/admin", roles=(ADMIN,)))
    assert policy.decide("/api/admin", reader) is Decision.DENY
    policy.add(AccessRule("/", roles=(ADMIN,)))
    assert policy.decide("/page", reader) is Decision.DENY


def test_the_memo_is_bounded_in_entries_and_path_length() -> None:
    policy = _fresh()
    for i in range(access._RULES_MEMO + 5):
        policy.rule_for(f"/api/{i}")
    assert len(policy._by_path) <= access._RULES_MEMO
    long_path = "/admin/" + "x" * access._RULES_MEMO_LENGTH
    assert policy.rule_for(long_path) == (RULES[0],)
    assert long_path not in policy._by_path
    at_limit = "/admin/" + "x" * (access._RULES_MEMO_LENGTH - len("/admin/"))
    assert policy.rule_for(at_limit) == (RULES[0],)
    assert at_limit in policy._by_path


def test_a_full_memo_starts_over_and_keeps_answering() -> None:
    policy = _fresh()
    for i in range(access._RULES_MEMO):
        policy.rule_for(f"/p{i}")
    assert len(policy._by_path) == access._RULES_MEMO
    assert policy.rule_for("/admin/new") == (RULES[0],)
    assert len(policy._by_path) == 1
    assert policy.decide("/p0", _user()) is Decision.NO_RULE


def test_a_path_judged_again_is_answered_from_the_memo() -> None:
    """The second lookup returns the remembered tuple itself, not a recomputed equal one."""
    policy = _fresh()
    first = policy.rule_for("/api/billing/x")
    assert first == (RULES[2],)
    assert policy._by_path["/api/billing/x"] is first
    assert policy.rule_for("/api/billing/x") is first

"""Access rules: allow/deny tables, deny by default, longest prefix, path boundaries."""

from __future__ import annotations

import pytest

from authplug.access import AccessPolicy, AccessRule, Decision, normalize_path
from authplug.config import AccessRuleConfig
from authplug.errors import ConfigError
from authplug.models import AuthenticatedUser, UserType

ADMIN = "pika:content-admin"
EDITOR = "pika:editor"


def _user(
    user_type: UserType = "internal-user", *roles: str
) -> AuthenticatedUser[dict[str, str], dict[str, str]]:
    return AuthenticatedUser(
        user_id="u", user_type=user_type, roles=roles, auth_data={"access_token": "t"}
    )


INTERNAL_ADMIN = _user("internal-user", ADMIN)
INTERNAL_BOTH = _user("internal-user", ADMIN, EDITOR)
INTERNAL_PLAIN = _user("internal-user")
EXTERNAL_ADMIN = _user("external-user", ADMIN)
EXTERNAL_BOTH = _user("external-user", ADMIN, EDITOR)
EXTERNAL_PLAIN = _user("external-user")


@pytest.mark.parametrize(
    ("rule", "user", "allowed"),
    [
        # any: one of the roles OR one of the user types
        (AccessRule("/a", roles=(ADMIN,)), INTERNAL_ADMIN, True),
        (AccessRule("/a", roles=(ADMIN,)), INTERNAL_PLAIN, False),
        (AccessRule("/a", roles=(ADMIN, EDITOR)), EXTERNAL_ADMIN, True),
        (AccessRule("/a", user_types=("internal-user",)), INTERNAL_PLAIN, True),
        (AccessRule("/a", user_types=("internal-user",)), EXTERNAL_ADMIN, False),
        (AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",)), EXTERNAL_ADMIN, True),
        (AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",)), INTERNAL_PLAIN, True),
        (AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",)), EXTERNAL_PLAIN, False),
        # all: every role AND (no types or one of the types)
        (AccessRule("/a", roles=(ADMIN, EDITOR), require="all"), INTERNAL_BOTH, True),
        (AccessRule("/a", roles=(ADMIN, EDITOR), require="all"), INTERNAL_ADMIN, False),
        (AccessRule("/a", roles=(ADMIN, EDITOR), require="all"), EXTERNAL_BOTH, True),
        (
            AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",), require="all"),
            INTERNAL_ADMIN,
            True,
        ),
        (
            AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",), require="all"),
            EXTERNAL_ADMIN,
            False,
        ),
        (
            AccessRule("/a", roles=(ADMIN,), user_types=("internal-user",), require="all"),
            INTERNAL_PLAIN,
            False,
        ),
        (AccessRule("/a", user_types=("external-user",), require="all"), EXTERNAL_PLAIN, True),
        (AccessRule("/a", user_types=("external-user",), require="all"), INTERNAL_ADMIN, False),
        # empty rules deny everyone, in both modes
        (AccessRule("/a"), INTERNAL_BOTH, False),
        (AccessRule("/a"), EXTERNAL_BOTH, False),
        (AccessRule("/a", require="all"), INTERNAL_BOTH, False),
    ],
)
def test_allow_deny_table(
    rule: AccessRule, user: AuthenticatedUser[dict[str, str], dict[str, str]], allowed: bool
) -> None:
    assert rule.allows(user) is allowed


def test_views_are_principals_too() -> None:
    rule = AccessRule("/a", roles=(ADMIN,))
    assert rule.allows(INTERNAL_ADMIN.tool_view())
    assert rule.allows(INTERNAL_ADMIN.agent_view())
    assert not rule.allows(INTERNAL_PLAIN.agent_view())


def test_role_names_match_exactly() -> None:
    rule = AccessRule("/a", roles=(ADMIN,))
    assert not rule.allows(_user("internal-user", "pika:content-admin2"))
    assert not rule.allows(_user("internal-user", "PIKA:CONTENT-ADMIN"))
    assert not rule.allows(_user("internal-user", "pika:content"))


@pytest.mark.parametrize(
    ("path", "covered"),
    [
        ("/admin", True),
        ("/admin/", True),
        ("/admin/users", True),
        ("/admin/users/7/edit", True),
        ("/administrator", False),
        ("/admin-tools", False),
        ("/admin.html", False),
        ("/", False),
        ("/public/admin", False),
        ("/Admin", False),
        # normalisation closes path tricks
        ("//admin", True),
        ("/admin//users", True),
        ("/public/../admin", True),
        ("/./admin/x", True),
        ("/../admin", True),
        ("admin", True),
    ],
)
def test_prefix_boundary(path: str, covered: bool) -> None:
    policy = AccessPolicy([AccessRule("/admin", roles=(ADMIN,))])
    expected = Decision.DENY if covered else Decision.NO_RULE
    assert policy.decide(path, INTERNAL_PLAIN) is expected


def test_trailing_slash_in_rule_is_the_same_prefix() -> None:
    policy = AccessPolicy([AccessRule("/admin/", roles=(ADMIN,))])
    assert policy.decide("/admin", INTERNAL_PLAIN) is Decision.DENY
    assert policy.decide("/administrator", INTERNAL_PLAIN) is Decision.NO_RULE


def test_root_rule_covers_everything() -> None:
    policy = AccessPolicy([AccessRule("/", user_types=("internal-user",))])
    assert policy.decide("/", EXTERNAL_PLAIN) is Decision.DENY
    assert policy.decide("/deep/path", EXTERNAL_PLAIN) is Decision.DENY
    assert policy.decide("/deep/path", INTERNAL_PLAIN) is Decision.ALLOW


def test_longest_prefix_wins_both_ways() -> None:
    policy = AccessPolicy(
        [
            AccessRule("/admin", roles=(ADMIN,)),
            AccessRule("/admin/reports", user_types=("internal-user",)),
            AccessRule("/admin/reports/secret"),
        ]
    )
    # the longer rule opens a sub-tree to plain internal users ...
    assert policy.decide("/admin/reports/q1", INTERNAL_PLAIN) is Decision.ALLOW
    # ... and closes it to external admins that the shorter rule lets in
    assert policy.decide("/admin", EXTERNAL_ADMIN) is Decision.ALLOW
    assert policy.decide("/admin/reports", EXTERNAL_ADMIN) is Decision.DENY
    # the longest, empty rule denies even the strongest user
    assert policy.decide("/admin/reports/secret/x", INTERNAL_BOTH) is Decision.DENY
    # order of the rules does not matter
    reversed_policy = AccessPolicy(list(reversed(policy.rules)))
    assert reversed_policy.decide("/admin/reports/q1", INTERNAL_PLAIN) is Decision.ALLOW


def test_rules_for_the_same_prefix_are_alternatives() -> None:
    policy = AccessPolicy(
        [
            AccessRule("/ops", roles=(ADMIN,)),
            AccessRule("/ops", roles=(EDITOR,), user_types=("internal-user",), require="all"),
        ]
    )
    assert policy.decide("/ops", EXTERNAL_ADMIN) is Decision.ALLOW
    assert policy.decide("/ops", _user("internal-user", EDITOR)) is Decision.ALLOW
    assert policy.decide("/ops", _user("external-user", EDITOR)) is Decision.DENY


def test_anonymous_is_denied_where_a_rule_applies() -> None:
    policy = AccessPolicy([AccessRule("/admin", roles=(ADMIN,))])
    assert policy.decide("/admin", None) is Decision.DENY
    assert policy.decide("/elsewhere", None) is Decision.NO_RULE


def test_empty_policy_has_no_rule() -> None:
    assert AccessPolicy().decide("/admin", INTERNAL_ADMIN) is Decision.NO_RULE


def test_from_config_and_add() -> None:
    policy = AccessPolicy.from_config(
        [
            AccessRuleConfig(path="/admin", roles=[ADMIN]),
            AccessRuleConfig(path="/staff", user_types=["internal-user"], require="all"),
            AccessRuleConfig(path="/nobody"),
        ]
    )
    assert policy.decide("/admin/x", INTERNAL_ADMIN) is Decision.ALLOW
    assert policy.decide("/admin/x", EXTERNAL_PLAIN) is Decision.DENY
    assert policy.decide("/staff", INTERNAL_PLAIN) is Decision.ALLOW
    assert policy.decide("/staff", EXTERNAL_ADMIN) is Decision.DENY
    assert policy.decide("/nobody", INTERNAL_BOTH) is Decision.DENY
    policy.add(AccessRule("/reports", roles=(EDITOR,)))
    assert policy.decide("/reports", INTERNAL_BOTH) is Decision.ALLOW
    assert policy.decide("/reports", INTERNAL_ADMIN) is Decision.DENY
    assert len(policy.rules) == 4


@pytest.mark.parametrize(
    "make",
    [
        lambda: AccessRule("admin", roles=(ADMIN,)),
        lambda: AccessRule("/a", roles=(ADMIN,), require="some"),  # type: ignore[arg-type]
        lambda: AccessRule("/a", roles="pika:content-admin"),  # type: ignore[arg-type]
        lambda: AccessRule("/a", user_types=("robot",)),  # type: ignore[arg-type]
        lambda: AccessPolicy().add("/admin"),  # type: ignore[arg-type]
    ],
)
def test_bad_rules_are_config_errors(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]


def test_rules_are_frozen_and_hashable() -> None:
    rule = AccessRule("/a", roles=[ADMIN])  # type: ignore[arg-type]
    assert rule.roles == (ADMIN,)
    assert hash(rule) == hash(AccessRule("/a", roles=(ADMIN,)))
    with pytest.raises(AttributeError):
        rule.path = "/b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("/", "/"), ("//", "/"), ("/a/b/", "/a/b"), ("/a/./b/../c", "/a/c"), ("///x", "/x")],
)
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal

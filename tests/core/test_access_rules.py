"""``AccessRule`` construction: what a rule refuses and what it freezes (issue #15)."""

from __future__ import annotations

import pytest

from authplug.access import AccessPolicy, AccessRule, normalize_path
from authplug.config import AccessRuleConfig
from authplug.errors import ConfigError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"roles": "admin"},
        {"user_types": "internal-user"},
        {"roles": ["admin"], "user_types": "internal-user"},
    ],
    ids=["roles-text", "user-types-text", "user-types-text-beside-roles"],
)
def test_a_single_string_instead_of_a_list_is_refused(kwargs: dict[str, object]) -> None:
    """A bare string would be read character by character ("admin" -> a, d, m, i, n)."""
    with pytest.raises(ConfigError, match="must be lists"):
        AccessRule(path="/admin", **kwargs)  # type: ignore[arg-type]


def test_collections_are_frozen_as_tuples() -> None:
    rule = AccessRule(path="/admin", roles=["admin"], user_types=["internal-user"])  # type: ignore[arg-type]
    assert rule.roles == ("admin",)
    assert rule.user_types == ("internal-user",)
    assert hash(rule) == hash(
        AccessRule(path="/admin", roles=("admin",), user_types=("internal-user",))
    )


@pytest.mark.parametrize("require", ["any", "all"])
def test_configured_rules_keep_every_field(require: str) -> None:
    config = AccessRuleConfig.model_validate(
        {"path": "/admin", "roles": ["a", "b"], "user_types": ["internal-user"], "require": require}
    )
    (rule,) = AccessPolicy.from_config([config]).rules
    assert rule == AccessRule(
        path="/admin",
        roles=("a", "b"),
        user_types=("internal-user",),
        require=require,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("path", "normal"),
    [("admin", "/admin"), ("/admin/", "/admin"), ("//admin", "/admin"), ("", "/"), ("/", "/")],
)
def test_normalize_path(path: str, normal: str) -> None:
    assert normalize_path(path) == normal

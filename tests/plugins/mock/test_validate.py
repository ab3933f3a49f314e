"""``validate``: configuration changes reach live sessions."""

from __future__ import annotations

import pytest

from authplug.errors import ForceUserToReauthenticateError
from authplug.request import AuthRequest
from authplug_mock import MockSettings, MockUser

from .conftest import log_in

pytestmark = pytest.mark.anyio

PAGE = AuthRequest(method="GET", path="/reports")


def _replace(settings: MockSettings, user_id: str, **changes: object) -> MockSettings:
    users = [u.model_copy(update=changes) if u.user_id == user_id else u for u in settings.users]
    return MockSettings(users=users)


async def test_unchanged_user_is_still_valid(host) -> None:
    user = await log_in(host, "admin")

    assert await host.hooks.validate(PAGE, user) is None


async def test_user_removed_from_config_must_log_in_again(make_host) -> None:
    user = await log_in(make_host(MockSettings()), "staff")
    only_admin = MockSettings(users=[u for u in MockSettings().users if u.user_id == "admin"])

    with pytest.raises(ForceUserToReauthenticateError) as caught:
        await make_host(only_admin).hooks.validate(PAGE, user)
    assert caught.value.code == "user_removed"


async def test_changed_roles_give_an_updated_user_with_the_same_tokens(make_host) -> None:
    user = await log_in(make_host(MockSettings()), "staff")
    promoted = _replace(MockSettings(), "staff", roles=("pika:content-admin", "pika:reviewer"))

    updated = await make_host(promoted).hooks.validate(PAGE, user)

    assert updated is not None
    assert updated.roles == ("pika:content-admin", "pika:reviewer")
    assert updated.auth_data == user.auth_data
    assert updated.user_id == "staff"


async def test_removed_roles_are_taken_away(make_host) -> None:
    user = await log_in(make_host(MockSettings()), "admin")
    demoted = _replace(MockSettings(), "admin", roles=())

    updated = await make_host(demoted).hooks.validate(PAGE, user)

    assert updated is not None
    assert updated.roles == ()
    assert not updated.has_role("pika:content-admin")


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": "Adele"},
        {"last_name": "Lovelace"},
        {"user_type": "external-user"},
        {"custom_data": {"company": "Globex"}},
        {"features": ("history",)},
    ],
)
async def test_any_profile_change_gives_an_updated_user(make_host, changes) -> None:
    user = await log_in(make_host(MockSettings()), "admin")

    updated = await make_host(_replace(MockSettings(), "admin", **changes)).hooks.validate(
        PAGE, user
    )

    assert updated is not None
    for name, value in changes.items():
        got = getattr(updated, name)
        if name == "features":  # named feature objects (issue #9 item 7); config lists names
            got = tuple(got)
        assert got == value
    assert updated.auth_data == user.auth_data


async def test_a_user_with_the_same_id_in_another_position_is_still_valid(make_host) -> None:
    user = await log_in(make_host(MockSettings()), "customer")
    reordered = MockSettings(
        users=[
            MockUser(user_id="zed", user_type="internal-user"),
            *reversed(MockSettings().users),
        ]
    )

    assert await make_host(reordered).hooks.validate(PAGE, user) is None

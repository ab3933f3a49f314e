"""Token expiry and refresh, with the clock under test control (time-machine)."""

from __future__ import annotations

import time

import pytest

from authplug.errors import ForceUserToReauthenticateError
from authplug.host import Host
from authplug_mock import MockSettings

from .conftest import log_in

pytestmark = pytest.mark.anyio


async def test_refresh_after_expiry_gives_new_tokens_and_a_later_expiry(host: Host, clock) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None
    old = dict(user.auth_data)

    clock.shift(int(old["expires_at"]) - int(time.time()) + 1)  # the access token has expired
    refreshed = await host.hooks.refresh(user)

    assert refreshed.auth_data is not None
    new = refreshed.auth_data
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]
    assert int(new["expires_at"]) > int(old["expires_at"])
    assert int(new["expires_at"]) == int(time.time()) + 300
    assert new["refresh_expires_at"] == old["refresh_expires_at"]


async def test_refresh_keeps_the_profile(host: Host, clock) -> None:
    user = await log_in(host, "customer")

    clock.shift(301)
    refreshed = await host.hooks.refresh(user)

    assert refreshed.model_dump(exclude={"auth_data"}) == user.model_dump(exclude={"auth_data"})


async def test_refreshes_chain_until_the_refresh_token_expires(host: Host, clock) -> None:
    user = await log_in(host, "staff")

    for _ in range(11):  # 11 x 301 s stays within the 3600 s refresh lifetime
        clock.shift(301)
        user = await host.hooks.refresh(user)

    clock.shift(301)  # 12 x 301 s = 3612 s after login
    with pytest.raises(ForceUserToReauthenticateError) as caught:
        await host.hooks.refresh(user)
    assert caught.value.code == "refresh_token_expired"


async def test_refresh_after_the_refresh_token_expired_forces_login(host: Host, clock) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None

    clock.shift(int(user.auth_data["refresh_expires_at"]) - int(time.time()))
    with pytest.raises(ForceUserToReauthenticateError):
        await host.hooks.refresh(user)


async def test_refresh_just_before_the_refresh_token_expires_works(host: Host, clock) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None

    clock.shift(int(user.auth_data["refresh_expires_at"]) - int(time.time()) - 1)
    refreshed = await host.hooks.refresh(user)

    assert refreshed.auth_data is not None
    assert refreshed.auth_data["access_token"] != user.auth_data["access_token"]


async def test_refresh_without_auth_data_forces_login(host: Host) -> None:
    user = await log_in(host, "admin")

    with pytest.raises(ForceUserToReauthenticateError) as caught:
        await host.hooks.refresh(user.model_copy(update={"auth_data": None}))
    assert caught.value.code == "refresh_token_missing"


async def test_refresh_without_refresh_token_forces_login(host: Host) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None
    auth_data = {k: v for k, v in user.auth_data.items() if k != "refresh_token"}

    with pytest.raises(ForceUserToReauthenticateError):
        await host.hooks.refresh(user.model_copy(update={"auth_data": auth_data}))


@pytest.mark.parametrize(
    "bad",
    ["", "soon", "-5", "1.5e9", "\u0661\u0667" + "\u0660" * 8, "9" * 5000, " 1700000000"],
)
async def test_unreadable_refresh_expiry_forces_login_without_echoing_it(
    host: Host, bad: str
) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None
    auth_data = {**user.auth_data, "refresh_expires_at": bad}

    with pytest.raises(ForceUserToReauthenticateError) as caught:
        await host.hooks.refresh(user.model_copy(update={"auth_data": auth_data}))
    assert caught.value.code == "invalid_auth_data"
    assert user.auth_data["refresh_token"] not in str(caught.value)
    if bad.strip():
        assert bad.strip() not in str(caught.value)


async def test_refresh_of_a_user_removed_from_config_forces_login(make_host) -> None:
    user = await log_in(make_host(MockSettings()), "customer")
    without_customer = MockSettings(
        users=[u for u in MockSettings().users if u.user_id != "customer"]
    )

    with pytest.raises(ForceUserToReauthenticateError) as caught:
        await make_host(without_customer).hooks.refresh(user)
    assert caught.value.code == "user_removed"

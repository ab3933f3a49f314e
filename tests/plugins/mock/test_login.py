"""Logging in through the mock login page, via a real host's hooks."""

from __future__ import annotations

import time

import pytest

from authplug.host import Host
from authplug.request import AuthRequest
from authplug.results import Authenticated, ProviderResponse, Redirect
from authplug_mock import MockSettings, MockUser

from .conftest import LOGIN, log_in, visit_login

pytestmark = pytest.mark.anyio

TOKEN_KEYS = {"access_token", "refresh_token", "expires_at", "refresh_expires_at"}


async def test_a_request_without_session_is_sent_to_the_login_page(host: Host) -> None:
    result = await host.authenticate(AuthRequest(method="GET", path="/reports?month=5"))

    assert result == Redirect(location=LOGIN)


def test_the_provider_declares_only_the_login_route(host: Host) -> None:
    assert set(host.routes) == {LOGIN}
    assert host.routes[LOGIN].methods == frozenset({"GET"})


async def test_admin_logs_in_with_role_features_and_tokens(host: Host) -> None:
    user = await log_in(host, "admin")

    assert user.user_id == "admin"
    assert user.user_type == "internal-user"
    assert user.first_name
    assert user.last_name
    assert user.roles == ("pika:content-admin",)
    assert tuple(user.features) == ("instruction", "history")  # named objects (issue #9 item 7)
    assert user.custom_data is None
    assert user.auth_data is not None
    assert set(user.auth_data) == TOKEN_KEYS


async def test_staff_logs_in_as_internal_user_without_roles(host: Host) -> None:
    user = await log_in(host, "staff")

    assert user.user_type == "internal-user"
    assert user.roles == ()
    assert not user.has_role("pika:content-admin")
    assert user.auth_data is not None
    assert set(user.auth_data) == TOKEN_KEYS


async def test_customer_logs_in_as_external_user_with_custom_data(host: Host) -> None:
    user = await log_in(host, "customer")

    assert user.user_type == "external-user"
    assert user.roles == ()
    assert user.custom_data == {"company": "Acme Corp", "companyId": "acme-001"}
    assert user.auth_data is not None
    assert set(user.auth_data) == TOKEN_KEYS


async def test_login_leaves_the_redirect_to_the_host(host: Host) -> None:
    result = await visit_login(host, user="admin")

    assert isinstance(result, Authenticated)
    assert result.redirect_to is None
    assert result.cookies == ()


async def test_tokens_are_random_long_and_distinct(host: Host) -> None:
    first = await log_in(host, "admin")
    second = await log_in(host, "admin")
    assert first.auth_data is not None
    assert second.auth_data is not None

    tokens = [
        first.auth_data["access_token"],
        first.auth_data["refresh_token"],
        second.auth_data["access_token"],
        second.auth_data["refresh_token"],
    ]
    assert len(set(tokens)) == 4
    assert all(len(token) >= 43 for token in tokens)


async def test_expiry_times_follow_the_configured_lifetimes(make_host, clock) -> None:
    host = make_host(MockSettings(token_lifetime=120, refresh_token_lifetime=900))

    user = await log_in(host, "staff")

    assert user.auth_data is not None
    now = int(time.time())
    assert user.auth_data["expires_at"] == str(now + 120)
    assert user.auth_data["refresh_expires_at"] == str(now + 900)


async def test_tokens_never_appear_in_the_user_repr_or_tool_view(host: Host) -> None:
    user = await log_in(host, "admin")
    assert user.auth_data is not None

    for text in (repr(user), user.tool_view().model_dump_json()):
        assert user.auth_data["access_token"] not in text
        assert user.auth_data["refresh_token"] not in text


async def test_login_page_lists_every_user_as_a_login_link(host: Host) -> None:
    result = await visit_login(host)

    assert isinstance(result, ProviderResponse)
    assert result.status == 200
    assert result.content_type.startswith("text/html")
    page = result.body.decode()
    for user_id, name, user_type in [
        ("admin", "Ada Admin", "internal-user"),
        ("staff", "Sam Staff", "internal-user"),
        ("customer", "Casey Customer", "external-user"),
    ]:
        assert f'href="{LOGIN}?user={user_id}"' in page
        assert name in page
        assert user_type in page
    assert "pika:content-admin" in page


async def test_login_page_is_never_cached_and_cannot_be_framed(host: Host) -> None:
    result = await visit_login(host)

    assert isinstance(result, ProviderResponse)
    headers = dict(result.headers)
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none' covers it


async def test_login_page_escapes_names_ids_and_roles(make_host) -> None:
    script = "<script>alert(1)</script>"
    evil = MockUser(
        user_id='x"><script>alert(2)</script>&y=1',
        first_name=script,
        last_name="<img src=x onerror=alert(3)>",
        user_type="internal-user",
        roles=("<b>role</b>",),
    )
    host = make_host(MockSettings(users=[evil]))

    result = await visit_login(host)

    assert isinstance(result, ProviderResponse)
    page = result.body.decode()
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the id travels percent-encoded in the link, so it cannot end the attribute or add parameters
    assert f'href="{LOGIN}?user=x%22%3E%3Cscript%3Ealert%282%29%3C%2Fscript%3E%26y%3D1"' in page


async def test_the_escaped_link_logs_the_odd_user_in(make_host) -> None:
    odd = MockUser(user_id="a&b=c d/é", user_type="external-user")
    host = make_host(MockSettings(users=[odd]))

    user = await log_in(host, "a&b=c d/é")

    assert user.user_id == "a&b=c d/é"


@pytest.mark.parametrize(
    "user_id",
    ["nobody", "", "ADMIN", "admin ", "<script>alert(1)</script>", "admin\x00"],
)
async def test_unknown_user_gets_a_404_that_does_not_echo_the_id(host: Host, user_id: str) -> None:
    result = await visit_login(host, user=user_id)

    assert isinstance(result, ProviderResponse)
    assert result.status == 404
    assert dict(result.headers)["Cache-Control"] == "no-store"
    page = result.body.decode()
    assert "<script>alert" not in page
    if user_id.strip():
        assert user_id not in page


async def test_repeated_user_parameter_uses_the_first_value(host: Host) -> None:
    request = AuthRequest(
        method="GET", path=LOGIN, query_string=b"user=staff&user=admin", client="127.0.0.1"
    )

    result = await host.hooks.route(host.routes[LOGIN], request)

    assert isinstance(result, Authenticated)
    assert result.user.user_id == "staff"

"""The mock carries the host's login transaction through its page, as an OAuth provider would."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from authplug.host import Host
from authplug.request import AuthRequest
from authplug.results import Authenticated, ProviderResponse, Redirect

from .conftest import LOGIN, login_request

pytestmark = pytest.mark.anyio


def cookie_header(host: Host, cookies: object) -> list[tuple[bytes, bytes]]:
    pairs = "; ".join(f"{c.name}={c.value}" for c in cookies if c.max_age != 0)  # type: ignore[attr-defined]
    return [(b"cookie", pairs.encode())]


async def test_login_returns_to_the_page_the_user_asked_for(host: Host) -> None:
    now = time.time()
    # A login starts for /reports?q=1: the host captures return_to, the mock begins a txn.
    start = AuthRequest(method="GET", path="/reports", query_string=b"q=1")
    start.flow = host.sessions.open_flow((), now)
    start.flow.set_return_to("/reports?q=1")  # type: ignore[attr-defined]
    redirect = await host.hooks.authenticate(start)
    assert isinstance(redirect, Redirect)
    txn = parse_qs(urlsplit(redirect.location).query)["txn"][0]
    assert redirect.location == f"{LOGIN}?txn={txn}"
    jar = cookie_header(host, start.flow.cookies())  # type: ignore[attr-defined]

    # The login page keeps the transaction on every user link.
    page_request = login_request(txn=txn)
    page = await host.hooks.route(host.routes[LOGIN], page_request)
    assert isinstance(page, ProviderResponse)
    assert f"txn={txn}".encode() in page.body

    # Picking a user completes the transaction the host reads return_to from.
    done = login_request(user="admin", txn=txn)
    done.headers = jar
    done.flow = host.sessions.open_flow(jar, now)
    result = await host.hooks.route(host.routes[LOGIN], done)
    assert isinstance(result, Authenticated)
    assert done.flow.consume(txn) is None  # single use: the mock consumed it
    cleared = {c.name for c in done.flow.cookies() if c.max_age == 0}  # type: ignore[attr-defined]
    assert any(name.endswith(txn) for name in cleared)


async def test_without_a_host_flow_the_mock_still_redirects_to_its_page(host: Host) -> None:
    result = await host.hooks.authenticate(AuthRequest(method="GET", path="/"))
    assert result == Redirect(location=LOGIN)


async def test_txn_in_the_page_is_escaped(host: Host) -> None:
    page = await host.hooks.route(host.routes[LOGIN], login_request(txn='"><script>x</script>'))
    assert isinstance(page, ProviderResponse)
    assert b"<script>x" not in page.body

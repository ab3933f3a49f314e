"""The mock serves logins to loopback clients only, unless the operator opts in.

Each attack gets its test: a remote client, a remote client behind a local
reverse proxy (every visitor looks local), a spoofed ``X-Forwarded-For`` from
a direct client, a spoofed left-hand entry behind a trusted proxy, a header
the trusted proxy does not set, unparsable addresses, and an unknown peer.
The hosts' wiring (ASGI ``scope["client"]``, WSGI ``REMOTE_ADDR``) is tested
through the real middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from flask import Flask

from authplug.config import AuthplugConfig
from authplug.host import Host, build_host
from authplug.request import AuthRequest
from authplug.results import Authenticated, ProviderResponse
from authplug.stores.memory import MemoryUserStore
from authplug_mock import MockProvider, MockSettings

from .conftest import LOGIN

pytestmark = pytest.mark.anyio

REMOTE = "203.0.113.9"


def request(client: str | None, headers: dict[str, str] | None = None, **query: str) -> AuthRequest:
    return AuthRequest(
        method="GET",
        path=LOGIN,
        query_string=urlencode(query).encode(),
        headers=[(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        client=client,
    )


async def answer(host: Host, req: AuthRequest) -> object:
    return await host.hooks.route(host.routes[LOGIN], req)


async def refused(host: Host, req: AuthRequest) -> str:
    result = await answer(host, req)
    assert isinstance(result, ProviderResponse)
    assert result.status == 403
    return result.body.decode()


@pytest.mark.parametrize("client", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
async def test_loopback_clients_log_in(host: Host, client: str) -> None:
    result = await answer(host, request(client, user="admin"))
    assert isinstance(result, Authenticated)


async def test_the_page_says_it_answers_this_machine_only(host: Host) -> None:
    result = await answer(host, request("127.0.0.1"))
    assert isinstance(result, ProviderResponse)
    assert result.status == 200
    page = result.body.decode()
    assert "only clients on this machine (loopback)" in page
    assert "trusted_proxies" in page
    assert "allow_remote = true" in page


@pytest.mark.parametrize("query", [{}, {"user": "admin"}])
async def test_a_remote_client_is_refused_with_the_reason_and_the_fix(
    host: Host, query: dict[str, str]
) -> None:
    page = await refused(host, request(REMOTE, **query))
    assert f"it came from {REMOTE}, not from this machine" in page
    assert "loopback" in page
    assert "[mock] allow_remote = true" in page
    assert "AUTHPLUG_MOCK__ALLOW_REMOTE=true" in page
    assert "[mock] trusted_proxies" in page
    assert "X-Forwarded-For" in page


@pytest.mark.parametrize("client", [None, "", "testclient", "not-an-ip", "10.0.0.1.5"])
async def test_an_unknown_peer_is_refused(host: Host, client: str | None) -> None:
    page = await refused(host, request(client, user="admin"))
    assert "did not report the client&#x27;s IP address" in page


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": REMOTE},
        {"X-Forwarded-For": "127.0.0.1"},  # spoofed by a direct client, or a local proxy's
        {"Forwarded": f"for={REMOTE}"},
        {"X-Real-IP": REMOTE},
    ],
)
async def test_a_forwarded_request_through_an_unlisted_proxy_is_refused_even_from_loopback(
    host: Host, header: dict[str, str]
) -> None:
    # A reverse proxy on the same machine connects from 127.0.0.1 for every visitor.
    page = await refused(host, request("127.0.0.1", header, user="admin"))
    assert "came through a proxy" in page
    assert "not listed in [mock] trusted_proxies" in page


@pytest.fixture
def proxied(make_host: Callable[[MockSettings], Host]) -> Host:
    return make_host(MockSettings(trusted_proxies=["127.0.0.1", "10.0.0.0/8"]))


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "::1, 10.1.2.3"},  # two trusted hops
        {"Forwarded": 'for="[::1]:51234";proto=http'},
        {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"},
        {},  # the trusted proxy's own request
    ],
)
async def test_behind_a_listed_proxy_a_local_client_logs_in(
    proxied: Host, headers: dict[str, str]
) -> None:
    result = await answer(proxied, request("127.0.0.1", headers, user="admin"))
    assert isinstance(result, Authenticated)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Forwarded-For": REMOTE}, f"it came from {REMOTE} (per X-Forwarded-For)"),
        # The client wrote "127.0.0.1" itself; the proxy appended the real address.
        ({"X-Forwarded-For": f"127.0.0.1, {REMOTE}"}, f"it came from {REMOTE}"),
        ({"X-Forwarded-For": f"127.0.0.1, {REMOTE}, 10.0.0.7"}, f"it came from {REMOTE}"),
        # The proxy sets Forwarded; a header it passes through untouched cannot vouch.
        (
            {"Forwarded": f"for={REMOTE}", "X-Forwarded-For": "127.0.0.1"},
            f"it came from {REMOTE} (per Forwarded)",
        ),
        ({"X-Forwarded-For": "unknown"}, "X-Forwarded-For header does not name an IP"),
        ({"Forwarded": "for=_hidden"}, "Forwarded header does not name an IP"),
        ({"Forwarded": "proto=https"}, "Forwarded header does not name an IP"),
    ],
)
async def test_behind_a_listed_proxy_a_remote_or_spoofed_client_is_refused(
    proxied: Host, headers: dict[str, str], expected: str
) -> None:
    page = await refused(proxied, request("127.0.0.1", headers, user="admin"))
    assert expected in page


async def test_forwarding_headers_from_an_unlisted_peer_are_not_believed(proxied: Host) -> None:
    page = await refused(proxied, request(REMOTE, {"X-Forwarded-For": "127.0.0.1"}, user="admin"))
    assert "not listed in [mock] trusted_proxies" in page


async def test_allow_remote_opens_the_login_and_the_page_says_so(
    make_host: Callable[[MockSettings], Host],
) -> None:
    host = make_host(MockSettings(allow_remote=True))
    assert isinstance(await answer(host, request(REMOTE, user="admin")), Authenticated)
    page = await answer(host, request(REMOTE))
    assert isinstance(page, ProviderResponse)
    assert "anyone who can reach this page can log in" in page.body.decode()


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        MockSettings(trusted_proxies=["proxy.example"])  # type: ignore[list-item]


@pytest.fixture
def mock_host() -> Host:
    return build_host(MockProvider(MockSettings()), AuthplugConfig(), store=MemoryUserStore())


@pytest.mark.parametrize(("client", "status"), [(("127.0.0.1", 5000), 200), ((REMOTE, 5000), 403)])
async def test_the_asgi_host_hands_the_peer_address_to_the_mock(
    mock_host: Host, client: tuple[str, int], status: int
) -> None:
    from starlette.applications import Starlette

    from authplug.asgi import AuthMiddleware

    app = AuthMiddleware(Starlette(), host=mock_host)
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as http:
        assert (await http.get(LOGIN)).status_code == status


@pytest.mark.parametrize(("remote", "status"), [("127.0.0.1", 200), (REMOTE, 403), ("", 403)])
def test_the_wsgi_host_hands_remote_addr_to_the_mock(
    mock_host: Host, remote: str, status: int
) -> None:
    from authplug.wsgi import AuthMiddleware

    app = Flask(__name__)
    middleware: Any = AuthMiddleware(app.wsgi_app, host=mock_host)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    try:
        client = app.test_client()
        response = client.get(LOGIN, environ_base={"REMOTE_ADDR": remote})
        assert response.status_code == status
    finally:
        middleware.close()

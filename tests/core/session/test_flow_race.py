"""Two tabs starting a login at the same moment both complete (one cookie per transaction).

Both requests carry the same Cookie header (neither response has arrived
yet). Each response must set a cookie the browser keeps beside the other's,
so whichever ``Set-Cookie`` arrives last, both callbacks find their own
transaction, in either order. Checked on :class:`FlowTransactions` directly
and end to end through the ASGI host with the lifecycle test kit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.session import SessionManager

from .conftest import Browser

# -- FlowTransactions -------------------------------------------------------------------------


@pytest.mark.parametrize("earlier", [0, 1, 3], ids=["empty-jar", "one-pending", "three-pending"])
@pytest.mark.parametrize("a_lands_last", [True, False])
def test_racing_begins_from_the_same_cookie_header_both_complete(
    manager: SessionManager, now: float, earlier: int, a_lands_last: bool
) -> None:
    browser = Browser({"theme": "dark"})
    pending = []
    for i in range(earlier):
        flow = manager.open_flow(browser.headers(), now + i)
        pending.append(flow.begin({"n": f"earlier-{i}"}))
        browser.receive(flow.cookies())
    snapshot = browser.headers()

    tab_a, tab_b = manager.open_flow(snapshot, now + 10), manager.open_flow(snapshot, now + 10)
    tab_a.set_return_to("/a")
    tab_b.set_return_to("/b")
    txn_a, txn_b = tab_a.begin({"verifier": "va"}), tab_b.begin({"verifier": "vb"})
    assert txn_a != txn_b
    names_a = {c.name for c in tab_a.cookies() if c.max_age != 0}
    names_b = {c.name for c in tab_b.cookies() if c.max_age != 0}
    assert names_a == {manager.policy.flow_txn_name(txn_a)}
    assert names_b == {manager.policy.flow_txn_name(txn_b)}

    # The responses land in either order; the browser keeps both cookies side by side.
    first, second = (tab_b, tab_a) if a_lands_last else (tab_a, tab_b)
    browser.receive(first.cookies())
    browser.receive(second.cookies())
    assert names_a | names_b <= set(browser.cookies)
    assert browser.cookies["theme"] == "dark"

    for order in ((txn_a, txn_b), (txn_b, txn_a)):
        jar = Browser(browser.cookies)
        for txn in order:
            callback = manager.open_flow(jar.headers(), now + 20)
            record = callback.consume(txn)
            assert record is not None, "a racing login lost its transaction"
            assert record.return_to == ("/a" if txn == txn_a else "/b")
            assert dict(record.data) == {"verifier": "va" if txn == txn_a else "vb"}
            assert callback.consume(txn) is None
            jar.receive(callback.cookies())
            assert manager.policy.flow_txn_name(txn) not in jar.cookies
        for txn in pending:  # the earlier logins are untouched
            assert manager.open_flow(jar.headers(), now + 20).consume(txn) is not None


def test_racing_begins_at_the_cap_keep_both_new_transactions(
    manager: SessionManager, now: float
) -> None:
    """Four pending logins, then two racing begins: both new ones survive."""
    browser = Browser()
    for i in range(4):
        flow = manager.open_flow(browser.headers(), now + i)
        flow.begin({"n": str(i)})
        browser.receive(flow.cookies())
    snapshot = browser.headers()
    tab_a, tab_b = manager.open_flow(snapshot, now + 10), manager.open_flow(snapshot, now + 10)
    txn_a, txn_b = tab_a.begin({"v": "a"}), tab_b.begin({"v": "b"})
    browser.receive(tab_a.cookies())
    browser.receive(tab_b.cookies())
    for txn in (txn_a, txn_b):
        assert manager.open_flow(browser.headers(), now + 11).consume(txn) is not None
    # The next begin trims the jar back to the cap.
    flow = manager.open_flow(browser.headers(), now + 12)
    flow.begin({"v": "c"})
    browser.receive(flow.cookies())
    assert sum(1 for n in browser.cookies if n.startswith(manager.flow_cookie_name)) == 4


# -- end to end through the ASGI host -----------------------------------------------------------


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.state.user.user_id, "path": request.url.path})


@pytest.fixture
def provider(kit: ModuleType) -> Any:
    return kit.TestProvider(kit.Clock())


@pytest.fixture
async def client(provider: Any, kit: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    host = kit.make_host(provider, kit.make_config([kit.make_key()]), kit.SpyStore())
    app = Starlette(routes=[Route("/{rest:path}", _whoami)])
    middleware = AuthMiddleware(app, host=host, clock=provider.clock)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        yield c


async def _get(client: httpx.AsyncClient, url: str, browser: Browser) -> httpx.Response:
    """One browser request carrying exactly ``browser``'s cookies (the client keeps none)."""
    client.cookies.clear()
    headers = {"cookie": browser.header()} if browser.cookies else {}
    response = await client.get(url, headers=headers)
    client.cookies.clear()
    return response


def _state(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("/auth/test/login?state=")
    return parse_qs(urlsplit(location).query)["state"][0]


@pytest.mark.anyio
@pytest.mark.parametrize("pending", [False, True], ids=["empty-jar", "a-login-pending"])
async def test_two_tabs_logging_in_at_once_both_land_on_their_page(
    client: httpx.AsyncClient, pending: bool, kit: ModuleType
) -> None:
    browser = Browser({"theme": "dark"})
    if pending:  # an abandoned login from earlier
        browser.receive_response(await _get(client, "/old", browser))
    snapshot = Browser(browser.cookies)

    tab_a, tab_b = await asyncio.gather(
        _get(client, "/reports/a?x=1", snapshot), _get(client, "/reports/b?y=2", snapshot)
    )
    state_a, state_b = _state(tab_a), _state(tab_b)
    assert state_a != state_b
    # B's response lands last: with one shared cookie it would erase A's transaction.
    browser.receive_response(tab_a)
    browser.receive_response(tab_b)
    assert {f"authplug_flow.{state_a}", f"authplug_flow.{state_b}"} <= set(browser.cookies)

    # A's login completes first, with the jar both responses left.
    done_a = await _get(client, f"/auth/test/login?user=alice&state={state_a}", browser)
    assert done_a.status_code == 302, done_a.text
    assert done_a.headers["location"] == "/reports/a?x=1"
    assert f"authplug_flow.{state_a}" in kit.cleared_names(done_a.headers.get_list("set-cookie"))
    browser.receive_response(done_a)
    assert f"authplug_flow.{state_b}" in browser.cookies

    done_b = await _get(client, f"/auth/test/login?user=alice&state={state_b}", browser)
    assert done_b.status_code == 302, done_b.text
    assert done_b.headers["location"] == "/reports/b?y=2"
    browser.receive_response(done_b)
    assert not any(
        n.startswith("authplug_flow.") and n.endswith((state_a, state_b)) for n in browser.cookies
    )

    page = await _get(client, "/reports/b", browser)
    assert page.status_code == 200
    assert page.json()["user"] == "alice"

    # Each state was single-use: replaying A's callback finds no transaction.
    replay = await _get(client, f"/auth/test/login?user=mallory&state={state_a}", browser)
    assert replay.status_code == 401
    assert "authplug_session.0" not in kit.cookie_pairs(replay.headers.get_list("set-cookie"))


@pytest.mark.anyio
async def test_logout_clears_every_pending_flow_cookie(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    browser = Browser()
    for path in ("/one", "/two"):  # two abandoned logins
        browser.receive_response(await _get(client, path, browser))
    flows = {n for n in browser.cookies if n.startswith("authplug_flow.")}
    assert len(flows) == 2
    browser.receive_response(await _get(client, "/auth/test/login?user=alice", browser))
    assert flows <= set(browser.cookies)
    form = (await _get(client, "/auth/logout", browser)).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert match is not None
    client.cookies.clear()
    response = await client.post(
        "/auth/logout",
        data={"csrf_token": match.group(1)},
        headers={"cookie": browser.header()},
    )
    assert response.status_code == 303
    cleared = kit.cleared_names(response.headers.get_list("set-cookie"))
    assert flows | {"authplug_session.0"} <= cleared
    browser.receive_response(response)
    assert not any(n.startswith("authplug_") for n in browser.cookies)

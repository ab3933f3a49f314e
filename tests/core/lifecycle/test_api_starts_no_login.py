"""Only a browser being sent to log in starts a login transaction (flow cookie).

An API client (JSON ``Accept``, XHR, or a bearer request) that must
authenticate gets a 401 JSON answer and no flow cookie: it will not follow a
login redirect, so a transaction begun for it would only pile up cookies in
its jar and in the browser that makes such a request from a page.
"""

from __future__ import annotations

from types import ModuleType

import httpx
import pytest

pytestmark = pytest.mark.anyio

FLOW = "authplug_flow"

API_HEADERS = [
    {"accept": "application/json"},
    {"x-requested-with": "XMLHttpRequest"},
    {"authorization": "Bearer not-a-session-token"},
    {"accept": "application/json", "cookie": "authplug_session.0=garbage"},
]


@pytest.mark.parametrize("headers", API_HEADERS)
async def test_api_clients_get_401_without_a_flow_cookie(
    client: httpx.AsyncClient, headers: dict[str, str], kit: ModuleType
) -> None:
    response = await client.get("/reports", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    set_cookies = kit.set_cookie_headers(response.headers)
    assert not [c for c in set_cookies if c.startswith(FLOW)], set_cookies
    assert not client.cookies.get(FLOW)


async def test_a_garbage_session_is_still_cleared_for_an_api_client(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await client.get(
        "/reports", headers={"accept": "application/json", "cookie": "authplug_session.0=garbage"}
    )
    assert response.status_code == 401
    assert kit.cleared_names(kit.set_cookie_headers(response.headers)) == {"authplug_session.0"}


async def test_an_unavailable_provider_answers_an_api_client_without_a_flow_cookie(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await client.get(
        "/reports", headers={"accept": "application/json", "x-test-unavailable": "1"}
    )
    assert response.status_code == 503
    assert not [c for c in kit.set_cookie_headers(response.headers) if c.startswith(FLOW)]


async def test_a_browser_still_starts_a_transaction(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await client.get("/reports")
    assert response.status_code == 302
    flows = [c for c in kit.set_cookie_headers(response.headers) if c.startswith(FLOW + ".")]
    assert len(flows) == 1

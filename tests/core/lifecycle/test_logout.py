"""The core ``/auth/logout`` route: GET confirms, POST with an anti-CSRF token logs out."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


async def test_get_shows_a_form_and_does_not_log_out(
    client: httpx.AsyncClient, events: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    page = await client.get("/auth/logout")
    assert page.status_code == 200
    assert '<form method="post" action="/auth/logout">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "set-cookie" not in page.headers
    assert events.logged_out == []
    assert (await client.get("/")).json()["user"] == "alice"


async def test_post_without_or_with_a_bad_token_is_refused(
    client: httpx.AsyncClient, events: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    missing = await client.post("/auth/logout")
    assert missing.status_code == 403
    assert "set-cookie" not in missing.headers
    forged = await client.post("/auth/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers
    assert events.logged_out == []
    assert (await client.get("/")).json()["user"] == "alice"


async def test_token_is_bound_to_the_session(client: httpx.AsyncClient, kit: ModuleType) -> None:
    await kit.login(client, "alice")
    alice_token = _token((await client.get("/auth/logout")).text)
    await kit.login(client, "bob")  # a new session, a new sid
    refused = await client.post("/auth/logout", data={"csrf_token": alice_token})
    assert refused.status_code == 403


async def test_post_with_token_clears_every_chunk_and_fires_logged_out(
    client: httpx.AsyncClient, provider: Any, events: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice", big="6000")
    assert client.cookies.get(f"{SESSION}.1") is not None
    token = _token((await client.get("/auth/logout")).text)
    response = await client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cleared = kit.cleared_names(kit.set_cookie_headers(response.headers))
    assert {f"{SESSION}.0", f"{SESSION}.1"} <= cleared
    assert events.logged_out == ["alice"]
    assert provider.logout_calls == 1
    after = await client.get("/", headers={"accept": "application/json"})
    assert after.status_code == 401


async def test_provider_logout_redirect_is_followed(
    client: httpx.AsyncClient, provider: Any, kit: ModuleType
) -> None:
    provider.logout_to = "https://idp.example/logout?client_id=app"
    await kit.login(client, "alice")
    token = _token((await client.get("/auth/logout")).text)
    response = await client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["location"] == "https://idp.example/logout?client_id=app"
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))


async def test_logout_without_a_session(client: httpx.AsyncClient, events: Any) -> None:
    page = await client.get("/auth/logout")
    assert page.status_code == 200
    assert "not signed in" in page.text
    response = await client.post("/auth/logout")
    assert response.status_code == 303
    assert events.logged_out == []


async def test_other_methods_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.put("/auth/logout")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"

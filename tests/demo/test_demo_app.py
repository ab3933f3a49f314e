"""The demo app end to end: mock login, pages, access rule, JSON API (httpx ASGITransport)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from authplug.demo import create_app, demo_host
from authplug.host import Host

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    monkeypatch.chdir(tmp_path)  # no stray authplug.toml
    for name in ("AUTHPLUG_ENV", "AUTHPLUG_PROVIDER", "AUTHPLUG_STORE", "AUTHPLUG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    made = demo_host(tmp_path / "data")
    yield made
    made.close()


@pytest.fixture
async def client(host: Host) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(host))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        yield made


async def _login(client: httpx.AsyncClient, user_id: str) -> None:
    first = await client.get("/")
    assert first.status_code == 302
    response = await client.get(f"/auth/mock/login?user={user_id}")
    assert response.status_code in (302, 303)
    assert response.headers["location"] in ("/", "http://testserver/")


def _auth_values(host: Host, client: httpx.AsyncClient) -> list[str]:
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    read = host.sessions.read([(b"cookie", cookie.encode())], time.time())
    assert read.session is not None
    auth_data = read.session.user.auth_data or {}
    assert auth_data, "the mock issues tokens"
    return list(auth_data.values())


async def test_signed_out_home_redirects_to_mock_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/auth/mock/login")


async def test_mock_login_page_lists_the_users(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/mock/login")
    assert response.status_code == 200
    for user_id in ("admin", "staff", "customer"):
        assert f"user={user_id}" in response.text


async def test_admin_home_shows_user_views_and_no_auth_data(
    client: httpx.AsyncClient, host: Host
) -> None:
    await _login(client, "admin")
    response = await client.get("/")
    assert response.status_code == 200
    page = response.text
    assert "Ada Admin" in page
    assert "pika:content-admin" in page
    assert "internal-user" in page
    assert "What tools see" in page
    assert "What the agent sees" in page
    assert "&quot;userId&quot;: &quot;admin&quot;" in page
    assert "authData" not in page
    assert "auth_data" not in page
    for value in _auth_values(host, client):
        assert value not in page
    assert 'href="/auth/logout"' in page or 'action="/auth/logout"' in page
    assert "of the session cookie budget" in page


async def test_customer_custom_data_reaches_tools_not_agent(client: httpx.AsyncClient) -> None:
    await _login(client, "customer")
    page = (await client.get("/")).text
    tools = page.split("What tools see")[1].split("What the agent sees")[0]
    agent = page.split("What the agent sees")[1].split("Session cookie")[0]
    assert "Acme Corp" in tools
    assert "Acme Corp" not in agent
    assert "customData" not in agent


async def test_admin_page_is_guarded_by_the_access_rule(
    client: httpx.AsyncClient, host: Host
) -> None:
    await _login(client, "admin")
    assert (await client.get("/admin")).status_code == 200
    client.cookies.clear()
    await _login(client, "staff")
    assert (await client.get("/admin")).status_code == 403
    assert (await client.get("/admin/")).status_code in (403, 404)


async def test_api_me_returns_the_tool_view(client: httpx.AsyncClient, host: Host) -> None:
    await _login(client, "customer")
    response = await client.get("/api/me", headers={"accept": "application/json"})
    assert response.status_code == 200
    body = response.json()
    assert body["userId"] == "customer"
    assert body["userType"] == "external-user"
    assert body["customData"]["company"] == "Acme Corp"
    assert "authData" not in body
    for value in _auth_values(host, client):
        assert value not in response.text


async def test_signed_out_api_me_is_401_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict)


async def test_logout_link_shows_the_confirm_form(client: httpx.AsyncClient) -> None:
    await _login(client, "staff")
    response = await client.get("/auth/logout")
    assert response.status_code == 200
    assert 'method="post"' in response.text


async def test_login_is_recorded_in_sqlite_without_tokens(
    client: httpx.AsyncClient, host: Host, tmp_path: Path
) -> None:
    await _login(client, "customer")
    tokens = _auth_values(host, client)
    record = host.store.get("customer")
    assert record is not None
    assert record.custom_data == {"company": "Acme Corp", "companyId": "acme-001"}
    conn = sqlite3.connect(tmp_path / "data" / "users.sqlite3")
    try:
        rows = conn.execute("SELECT * FROM users").fetchall()
    finally:
        conn.close()
    dump = json.dumps(rows)
    assert "customer" in dump
    for token in tokens:
        assert token not in dump


async def test_create_app_without_a_host_uses_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/")).status_code == 302
    assert (tmp_path / ".authplug-demo" / "users.sqlite3").is_file()
    async with app.router.lifespan_context(app):
        pass  # closes the host it created

"""The WSGI host through a real Flask app (httpx.WSGITransport), threads included."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request

from authplug.wsgi import AuthMiddleware

SESSION = "authplug_session"


def make_flask(host: Any, clock: Any) -> tuple[Flask, AuthMiddleware]:
    app = Flask("authplug_test_app")

    @app.get("/login")
    def public() -> str:
        return f"public user={request.environ.get('authplug.user')}"

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
    @app.route("/<path:rest>", methods=["GET", "POST"])
    def whoami(rest: str) -> Any:
        user = request.environ["authplug.user"]
        return jsonify(user=user.user_id, roles=list(user.roles))

    middleware = AuthMiddleware(app.wsgi_app, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    return app, middleware


@pytest.fixture
def provider(clock: Any, kit: ModuleType) -> Any:
    return kit.TestProvider(clock)


@pytest.fixture
def flask_app(
    provider: Any, keys: list[str], store: Any, events: Any, clock: Any, kit: ModuleType
) -> Iterator[tuple[Flask, AuthMiddleware]]:
    host = kit.make_host(provider, kit.make_config(keys), store, events)
    app, middleware = make_flask(host, clock)
    yield app, middleware
    middleware.close()


@pytest.fixture
def client(flask_app: tuple[Flask, AuthMiddleware]) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=flask_app[0])
    with httpx.Client(transport=transport, base_url="http://app.example") as c:
        yield c


def login(client: httpx.Client, user: str = "alice", **params: str) -> httpx.Response:
    response = client.get("/auth/test/login", params={"user": user, **params})
    assert response.status_code == 302, response.text
    return response


def test_browser_login_flow_and_reload(
    client: httpx.Client, provider: Any, store: Any, events: Any, kit: ModuleType
) -> None:
    start = client.get("/reports", params={"q": "1"})
    assert start.status_code == 302
    location = start.headers["location"]
    done = client.get(location + "&user=alice")
    assert done.status_code == 302
    assert done.headers["location"] == "/reports?q=1"
    assert [u.user_id for u in store.logins] == ["alice"]
    assert events.logged_in == ["alice"]
    calls = provider.authenticate_calls
    for _ in range(3):
        page = client.get("/reports")
        assert page.status_code == 200
        assert page.json()["user"] == "alice"
    assert provider.authenticate_calls == calls
    assert provider.validate_calls == 0
    assert store.gets == 0


def test_public_path_untouched(client: httpx.Client, provider: Any) -> None:
    response = client.get("/login", headers={"cookie": f"{SESSION}.0=junk"})
    assert response.text == "public user=None"
    assert "set-cookie" not in response.headers
    assert provider.authenticate_calls == 0


def test_api_client_gets_401_json(client: httpx.Client) -> None:
    response = client.get("/api", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    bearer = client.get("/api", headers={"authorization": "Bearer x.y.z"})
    assert bearer.status_code == 401
    assert bearer.headers["www-authenticate"].startswith("Bearer")


def test_cookies_are_appended_to_the_apps_response(
    client: httpx.Client, provider: Any, clock: Any, kit: ModuleType
) -> None:
    login(client)
    clock.advance(300)
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert f"{SESSION}.0" in kit.cookie_pairs(kit.set_cookie_headers(response.headers))
    assert provider.validate_calls == 1


def test_force_reauthenticate_clears_the_session(
    client: httpx.Client, provider: Any, clock: Any, kit: ModuleType
) -> None:
    login(client)
    provider.validate_behaviour = "force"
    clock.advance(300)
    response = client.get("/")
    assert response.status_code == 302
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))


def test_logout_flow(client: httpx.Client, events: Any, kit: ModuleType) -> None:
    login(client, "alice", big="6000")
    form = client.get("/auth/logout")
    assert form.status_code == 200
    assert client.post("/auth/logout").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/auth/logout", data={"csrf_token": token.group(1)})
    assert done.status_code == 303
    cleared = kit.cleared_names(kit.set_cookie_headers(done.headers))
    assert {f"{SESSION}.0", f"{SESSION}.1"} <= cleared
    assert events.logged_out == ["alice"]


def test_tampered_cookie_is_no_session(client: httpx.Client, store: Any, kit: ModuleType) -> None:
    login(client)
    value = client.cookies[f"{SESSION}.0"]
    client.cookies.clear()
    bad = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    response = client.get("/", headers={"cookie": f"{SESSION}.0={bad}"})
    assert response.status_code == 302
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))
    assert len(store.logins) == 1


def test_fifty_threads_cause_exactly_one_refresh(
    flask_app: tuple[Flask, AuthMiddleware],
    client: httpx.Client,
    provider: Any,
    clock: Any,
    store: Any,
) -> None:
    login(client)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    provider.refresh_delay = 0.05  # async refresh, run on the background loop
    clock.advance(3600)
    barrier = threading.Barrier(50)
    transport = httpx.WSGITransport(app=flask_app[0])

    def one() -> int:
        with httpx.Client(transport=transport, base_url="http://app.example") as c:
            barrier.wait(10)
            return c.get("/", headers={"cookie": cookie}).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: one(), range(50)))
    assert statuses == [200] * 50
    assert provider.refresh_calls == 1
    assert len(store.updates) == 1


def test_async_provider_runs_on_one_background_loop(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    provider = kit.TestProvider(clock, async_hooks=True)
    host = kit.make_host(provider, kit.make_config(keys), store)
    app, middleware = make_flask(host, clock)
    threads_before = threading.active_count()
    try:
        with httpx.Client(
            transport=httpx.WSGITransport(app=app), base_url="http://app.example"
        ) as c:
            for index in range(10):
                c.cookies.clear()
                start = c.get(f"/page{index}")
                assert start.status_code == 302
                done = c.get(start.headers["location"] + f"&user=u{index}")
                assert done.status_code == 302
                assert done.headers["location"] == f"/page{index}"
                assert c.get(f"/page{index}").json()["user"] == f"u{index}"
        assert provider.authenticate_calls == 10
        assert len(provider.loops) == 1  # one loop for every async hook call
        assert len(provider.threads) == 1
        assert provider.threads != {threading.get_ident()}
        assert threading.active_count() <= threads_before + 1
    finally:
        middleware.close()
    assert not middleware.loop.started


def test_sync_provider_never_starts_the_loop(
    flask_app: tuple[Flask, AuthMiddleware], client: httpx.Client
) -> None:
    login(client)
    assert client.get("/").status_code == 200
    assert not flask_app[1].loop.started


def test_replayed_cookie_after_logout_is_anonymous(
    client: httpx.Client, store: Any, provider: Any, kit: ModuleType
) -> None:
    login(client, "alice")
    captured = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    form = client.get("/auth/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    assert client.post("/auth/logout", data={"csrf_token": token.group(1)}).status_code == 303
    client.cookies.clear()
    browser = client.get("/reports", headers={"cookie": captured})
    assert browser.status_code == 302
    assert browser.headers["location"].startswith("/auth/test/login?state=")
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(browser.headers))
    api = client.get("/reports", headers={"cookie": captured, "accept": "application/json"})
    assert api.status_code == 401
    assert [u.user_id for u in store.logins] == ["alice"]
    assert store.updates == []
    login(client, "alice")
    assert client.get("/").json()["user"] == "alice"

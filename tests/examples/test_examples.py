"""The framework examples run: log in through the mock, fetch /api/me, hit the access rule."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    module_name = f"authplug_examples_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _clean_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray authplug.toml
    for name in ("AUTHPLUG_ENV", "AUTHPLUG_PROVIDER", "AUTHPLUG_STORE", "AUTHPLUG_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fastapi_client() -> AsyncIterator[httpx.AsyncClient]:
    app = _load("fastapi_app").create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def flask_client() -> Iterator[httpx.Client]:
    app = _load("flask_app").create_app()
    transport = httpx.WSGITransport(app=app)
    try:
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        app.extensions["authplug"].close()


@pytest.mark.anyio
async def test_fastapi_example(fastapi_client: httpx.AsyncClient) -> None:
    client = fastapi_client
    anonymous = await client.get("/api/me", headers={"accept": "application/json"})
    assert anonymous.status_code == 401
    assert (await client.get("/")).status_code == 302
    login = await client.get("/auth/mock/login?user=customer")
    assert login.status_code in (302, 303)
    me = await client.get("/api/me")
    assert me.status_code == 200
    body = me.json()
    assert body["userId"] == "customer"
    assert body["customData"]["company"] == "Acme Corp"
    assert "authData" not in body
    home = await client.get("/")
    assert home.status_code == 200
    assert "Casey Customer" in home.text
    assert (await client.get("/admin")).status_code == 403


@pytest.mark.anyio
async def test_fastapi_example_admin(fastapi_client: httpx.AsyncClient) -> None:
    await fastapi_client.get("/auth/mock/login?user=admin")
    response = await fastapi_client.get("/admin")
    assert response.status_code == 200
    assert response.json() == {"message": "welcome, admin"}


def test_flask_example(flask_client: httpx.Client) -> None:
    client = flask_client
    anonymous = client.get("/api/me", headers={"accept": "application/json"})
    assert anonymous.status_code == 401
    assert client.get("/").status_code == 302
    login = client.get("/auth/mock/login?user=customer")
    assert login.status_code in (302, 303)
    me = client.get("/api/me")
    assert me.status_code == 200
    body = me.json()
    assert body["userId"] == "customer"
    assert body["customData"]["company"] == "Acme Corp"
    assert "authData" not in body
    home = client.get("/")
    assert home.status_code == 200
    assert "Casey Customer" in home.text
    assert client.get("/admin").status_code == 403


def test_flask_example_admin(flask_client: httpx.Client) -> None:
    flask_client.get("/auth/mock/login?user=admin")
    response = flask_client.get("/admin")
    assert response.status_code == 200
    assert response.json() == {"message": "welcome, admin"}


@pytest.fixture
def django_example(
    django_settings: Callable[..., AbstractContextManager[None]],
) -> Iterator[ModuleType]:
    module = _load("django_app")
    with django_settings(**module.DJANGO_SETTINGS):
        yield module


def test_django_example_with_the_test_client(django_example: ModuleType) -> None:
    from django.test import Client

    client = Client()
    assert client.get("/api/me", headers={"accept": "application/json"}).status_code == 401
    assert client.get("/").status_code == 302
    assert client.get("/auth/mock/login?user=customer").status_code in (302, 303)
    body = client.get("/api/me").json()
    assert body["userId"] == "customer"
    assert body["customData"]["company"] == "Acme Corp"
    assert "authData" not in body
    assert "Casey Customer" in client.get("/").content.decode()
    assert client.get("/admin").status_code == 403
    admin = Client()
    admin.get("/auth/mock/login?user=admin")
    assert admin.get("/admin").json() == {"message": "welcome, admin"}


@pytest.mark.server
def test_django_example_under_a_real_wsgi_server(django_example: ModuleType) -> None:
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", 0, django_example.application(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
            assert client.get("/").status_code == 302
            client.get("/auth/mock/login?user=admin")
            assert client.get("/admin").json() == {"message": "welcome, admin"}
            assert client.get("/api/me").json()["userId"] == "admin"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()

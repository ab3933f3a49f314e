"""Once through a real uvicorn server on 127.0.0.1 (random free port, stopped at teardown)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware

pytestmark = pytest.mark.server


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.state.user.user_id})


@pytest.fixture
def server_url(keys: list[str], store: Any, clock: Any, kit: ModuleType) -> Iterator[str]:
    provider = kit.TestProvider(clock)
    host = kit.make_host(provider, kit.make_config(keys), store)
    app = AuthMiddleware(Starlette(routes=[Route("/{rest:path}", whoami)]), host=host)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_login_and_session_over_a_real_socket(server_url: str, store: Any) -> None:
    with httpx.Client(base_url=server_url) as client:
        start = client.get("/inbox")
        assert start.status_code == 302
        done = client.get(start.headers["location"] + "&user=sam")
        assert done.status_code == 302
        assert done.headers["location"] == "/inbox"
        page = client.get("/inbox")
        assert page.status_code == 200
        assert page.json() == {"user": "sam"}
        api = httpx.get(f"{server_url}/inbox", headers={"accept": "application/json"})
        assert api.status_code == 401
    assert [u.user_id for u in store.logins] == ["sam"]

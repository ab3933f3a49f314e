"""Access rules judge the path the router dispatches: a table of path forms through every router.

Each application has an ``/admin`` prefix rule (``roles=["pika:content-admin"]``),
an ``/admin`` handler, an ``/admin/...`` catch-all and a top-level catch-all.
``bob`` is signed in without the role, ``root`` with it. Every form in the
table is sent as raw bytes, decoded the way the server would (uvicorn:
``unquote`` of the raw path; a WSGI server: percent-decoded bytes as latin-1
in ``PATH_INFO``, the raw target in ``RAW_URI``/``REQUEST_URI``), through
Starlette, FastAPI and Litestar on the ASGI host and Flask on the WSGI host,
then again over a real socket (uvicorn, Werkzeug's server), like
``curl --path-as-is``.

The forms are of three kinds:

* ``REFUSED``: a normaliser and a router could read them differently; the
  answer is 400 for everybody, before any decision;
* ``COVERED``: the rule covers the path as the router sees it; ``bob`` gets
  403 and ``root`` is let in;
* ``OUTSIDE``: the rule does not cover the path and no router sends it to an
  ``/admin`` handler; ``bob`` and ``root`` get the same answer.

Whatever the kind, ``bob`` never gets an answer from an ``/admin`` handler.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from flask import Flask, jsonify
from flask import request as flask_request
from litestar import Litestar, get
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.serving import make_server

from authplug.asgi import AuthMiddleware as ASGIMiddleware
from authplug.wsgi import AuthMiddleware as WSGIMiddleware

ROLE = "pika:content-admin"
REFUSED, COVERED, OUTSIDE = "refused", "covered", "outside"

FORMS: list[tuple[bytes, str]] = [
    # dot segments, literal and percent-encoded
    (b"/admin/..", REFUSED),
    (b"/admin/../secret", REFUSED),
    (b"/admin/x/../..", REFUSED),
    (b"/admin/x/../../secret", REFUSED),
    (b"/admin/./x", REFUSED),
    (b"/admin/.", REFUSED),
    (b"/admin/%2e%2e", REFUSED),
    (b"/admin/%2e%2e/secret", REFUSED),
    (b"/admin/.%2e/secret", REFUSED),
    (b"/admin/%2E./secret", REFUSED),
    (b"/admin/%2e", REFUSED),
    # encoded separators and backslashes
    (b"/admin/..%2fsecret", REFUSED),
    (b"/admin%2f..%2fsecret", REFUSED),
    (b"/public%2f..%2fadmin", REFUSED),
    (b"/admin%2fx", REFUSED),
    (b"/admin%2Fx", REFUSED),
    (b"/admin%5cx", REFUSED),
    (b"/admin\\..\\secret", REFUSED),
    (b"/admin/x\\..\\..\\secret", REFUSED),
    # empty segments
    (b"//admin", REFUSED),
    (b"//admin/x", REFUSED),
    (b"///admin", REFUSED),
    (b"/admin//x", REFUSED),
    (b"/admin//", REFUSED),
    # control, format and separator characters
    (b"/admin%00", REFUSED),
    (b"/admin/%00", REFUSED),
    (b"/admin%0d%0aX-Injected:%201", REFUSED),
    (b"/admin%09", REFUSED),
    (b"/admin%7f", REFUSED),
    (b"/admin%c2%85", REFUSED),
    (b"/ad%e2%80%8bmin", REFUSED),
    (b"/admin%e2%80%ae", REFUSED),
    (b"/admin%c2%a0", REFUSED),
    # Unicode compatibility forms of separators and dots
    (b"/x%ef%bc%8f..%ef%bc%8fadmin", REFUSED),
    (b"/admin/%ef%bc%8e%ef%bc%8e", REFUSED),
    (b"/admin/%e2%80%a5", REFUSED),
    # accepted: the rule covers what the router sees
    (b"/admin", COVERED),
    (b"/admin/", COVERED),
    (b"/admin/x", COVERED),
    (b"/admin/x/", COVERED),
    (b"/admin/...", COVERED),
    (b"/admin/x..", COVERED),
    (b"/admin/.x", COVERED),
    (b"/%61dmin/x", COVERED),
    (b"/admin/%252e%252e/secret", COVERED),
    (b"/admin/x;y=1", COVERED),
    (b"/admin/x.", COVERED),
    (b"/admin/caf%c3%a9", COVERED),
    # accepted: outside the rule for the rule and for every router
    (b"/admin;x=1", OUTSIDE),
    (b"/admin.", OUTSIDE),
    (b"/admin..", OUTSIDE),
    (b"/admin%20", OUTSIDE),
    (b"/ADMIN", OUTSIDE),
    (b"/Admin/x", OUTSIDE),
    (b"/%ef%bd%81dmin/x", OUTSIDE),
    (b"/administrator", OUTSIDE),
    (b"/secret", OUTSIDE),
]


@dataclass(frozen=True)
class Answer:
    """What came back for one request."""

    status: int
    handler: str | None

    @classmethod
    def parse(cls, status: int, body: bytes) -> Answer:
        try:
            data = json.loads(body)
        except ValueError:
            return cls(status, None)
        handler = data.get("handler") if isinstance(data, dict) else None
        return cls(status, handler if isinstance(handler, str) else None)


# -- the applications -------------------------------------------------------------


def starlette_app() -> Any:
    def handler(name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            return JSONResponse({"handler": name, "user": request.state.user.user_id})

        return endpoint

    return Starlette(
        routes=[
            Route("/admin", handler("admin")),
            Route("/admin/{rest:path}", handler("admin")),
            Route("/{rest:path}", handler("top")),
        ]
    )


def fastapi_app() -> Any:
    app = FastAPI()

    @app.get("/admin")
    async def admin_root(request: FastAPIRequest) -> dict[str, str]:
        return {"handler": "admin", "user": request.state.user.user_id}

    @app.get("/admin/{rest:path}")
    async def admin(rest: str, request: FastAPIRequest) -> dict[str, str]:
        return {"handler": "admin", "user": request.state.user.user_id}

    @app.get("/{rest:path}")
    async def top(rest: str, request: FastAPIRequest) -> dict[str, str]:
        return {"handler": "top", "user": request.state.user.user_id}

    return app


def litestar_app() -> Any:
    @get("/admin", sync_to_thread=False)
    def admin_root() -> dict[str, str]:
        return {"handler": "admin"}

    @get("/admin/{rest:path}", sync_to_thread=False)
    def admin() -> dict[str, str]:
        return {"handler": "admin"}

    @get("/{rest:path}", sync_to_thread=False)
    def top() -> dict[str, str]:
        return {"handler": "top"}

    return Litestar(route_handlers=[admin_root, admin, top], logging_config=None)


def flask_app() -> Flask:
    app = Flask("authplug_path_confusion")

    @app.get("/admin")
    @app.get("/admin/<path:rest>")
    def admin(rest: str = "") -> Any:
        return jsonify(handler="admin", user=flask_request.environ["authplug.user"].user_id)

    @app.get("/")
    @app.get("/<path:rest>")
    def top(rest: str = "") -> Any:
        return jsonify(handler="top", user=flask_request.environ["authplug.user"].user_id)

    return app


ASGI_APPS: dict[str, Callable[[], Any]] = {
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "litestar": litestar_app,
}


# -- driving the hosts with raw paths -----------------------------------------------


def _headers(cookie: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"app.example"), (b"accept", b"application/json")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return headers


async def asgi_get(app: Any, target: bytes, cookie: str) -> tuple[int, list[str], bytes]:
    """GET ``target`` with its path decoded as uvicorn decodes it; status, set-cookies, body."""
    raw_path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": query,
        "headers": _headers(cookie),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    cookies = [v.decode("latin-1") for k, v in start["headers"] if k.lower() == b"set-cookie"]
    return start["status"], cookies, body


def wsgi_get(app: Any, target: bytes, cookie: str) -> tuple[int, list[str], bytes]:
    """GET ``target`` with the environ a WSGI server builds (``RAW_URI`` included)."""
    raw_path, _, query = target.partition(b"?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": target.decode("latin-1"),
        "REQUEST_URI": target.decode("latin-1"),
        "SERVER_NAME": "app.example",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "app.example",
        "HTTP_ACCEPT": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    status: list[str] = []
    headers: list[tuple[str, str]] = []

    def start_response(line: str, pairs: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(line)
        headers.extend(pairs)
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    cookies = [v for k, v in headers if k.lower() == "set-cookie"]
    return int(status[0].split()[0]), cookies, body


def socket_get(port: int, target: bytes, cookie: str) -> tuple[int, list[str], bytes]:
    """GET ``target`` over a real socket, bytes as given (``curl --path-as-is``)."""
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
    if cookie:
        request += b"Cookie: " + cookie.encode("latin-1") + b"\r\n"
    request += b"Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    cookies = [
        line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("set-cookie:")
    ]
    if any(line.lower() == "transfer-encoding: chunked" for line in lines):
        body = _unchunk(body)
    return int(lines[0].split()[1]), cookies, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


Get = Callable[[bytes, str], tuple[int, list[str], bytes]]


def session_cookie(get: Get, user: str, roles: str = "") -> str:
    """Sign ``user`` in through the test provider's route; the ``Cookie`` header to send."""
    status, set_cookies, _ = get(f"/auth/test/login?user={user}&roles={roles}".encode(), "")
    assert status == 302
    pairs = []
    for header in set_cookies:
        first = header.split(";", 1)[0]
        if "max-age=0" not in header.lower():
            pairs.append(first)
    return "; ".join(pairs)


def check_table(get: Get, rewritten: dict[bytes, str] | None = None) -> None:
    """Send every form as ``bob`` and ``root``; collect every row that breaks its promise.

    :param rewritten: Forms the server itself rewrites before any application
        code runs, with the kind they have after the rewrite.
    """
    bob = session_cookie(get, "bob", "pika:reader")
    root = session_cookie(get, "root", ROLE)
    broken: list[str] = []
    for target, table_kind in FORMS:
        kind = (rewritten or {}).get(target, table_kind)
        as_bob = Answer.parse(*_status_body(get(target, bob)))
        as_root = Answer.parse(*_status_body(get(target, root)))
        if as_bob.handler == "admin":
            broken.append(f"{target!r}: bob reached the admin handler ({as_bob.status})")
        elif kind == REFUSED:
            if (as_bob.status, as_root.status) != (400, 400):
                broken.append(f"{target!r}: want 400, got {as_bob} / {as_root}")
        elif kind == COVERED:
            if as_bob.status != 403 or as_root.status != 200:
                broken.append(f"{target!r}: covered, got {as_bob} / {as_root}")
        elif as_bob != as_root or as_root.handler == "admin" or as_bob.status in (400, 403):
            broken.append(f"{target!r}: outside the rule, got {as_bob} / {as_root}")
    assert not broken, "\n".join(broken)


def _status_body(answer: tuple[int, list[str], bytes]) -> tuple[int, bytes]:
    return answer[0], answer[2]


def _config(kit: ModuleType, keys: list[str]) -> Any:
    return kit.make_config(keys, access=[{"path": "/admin", "roles": [ROLE]}], public_paths=[])


# -- in-process: both hosts, four routers ---------------------------------------------


@pytest.mark.parametrize("framework", list(ASGI_APPS))
def test_asgi_routers_and_rules_agree_on_every_path_form(
    framework: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    import anyio

    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = ASGIMiddleware(ASGI_APPS[framework](), host=host, clock=clock)

    def get(target: bytes, cookie: str) -> tuple[int, list[str], bytes]:
        return anyio.run(asgi_get, app, target, cookie)

    check_table(get)


def test_flask_router_and_rules_agree_on_every_path_form(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = flask_app()
    middleware = WSGIMiddleware(app.wsgi_app, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    try:
        check_table(lambda target, cookie: wsgi_get(app, target, cookie))
    finally:
        middleware.close()


def test_a_refused_path_gets_a_typed_400_that_echoes_nothing(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    import anyio

    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = ASGIMiddleware(starlette_app(), host=host, clock=clock)
    status, cookies, body = anyio.run(asgi_get, app, b"/admin/../secret-marker", "")
    assert status == 400
    assert cookies == []
    assert json.loads(body)["error"] == "ambiguous_path"
    assert b"secret-marker" not in body
    assert store.logins == []


# -- real servers, raw request bytes ------------------------------------------------


@pytest.fixture
def free_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


@pytest.mark.server
@pytest.mark.parametrize("framework", list(ASGI_APPS))
def test_under_uvicorn_with_raw_paths(
    framework: str,
    free_socket: socket.socket,
    keys: list[str],
    store: Any,
    clock: Any,
    kit: ModuleType,
) -> None:
    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = ASGIMiddleware(ASGI_APPS[framework](), host=host, clock=clock)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [free_socket]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = free_socket.getsockname()[1]
    try:
        check_table(lambda target, cookie: socket_get(port, target, cookie))
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.server
def test_under_werkzeug_server_with_raw_paths(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = flask_app()
    middleware = WSGIMiddleware(app.wsgi_app, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # Python's http.server collapses leading slashes of the request target
        # before the WSGI environ is built, so these reach everyone as /admin...
        rewritten = {b"//admin": COVERED, b"//admin/x": COVERED, b"///admin": COVERED}
        check_table(lambda target, cookie: socket_get(server.port, target, cookie), rewritten)
    finally:
        server.shutdown()
        thread.join(10)
        middleware.close()


def test_a_websocket_on_a_refused_path_is_refused_even_with_a_session(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    import anyio

    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "websocket.accept"})

    middleware = ASGIMiddleware(app, host=host, clock=clock)
    http = ASGIMiddleware(starlette_app(), host=host, clock=clock)

    def get(target: bytes, cookie: str) -> tuple[int, list[str], bytes]:
        return anyio.run(asgi_get, http, target, cookie)

    cookie = session_cookie(get, "root", ROLE)

    async def handshake(path: str) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"app.example"), (b"cookie", cookie.encode())],
        }
        await middleware(scope, receive, send)
        return sent

    assert anyio.run(handshake, "/admin/ws") == [{"type": "websocket.accept"}]
    assert anyio.run(handshake, "/admin/../ws") == [{"type": "websocket.close", "code": 1008}]
    assert reached == ["/admin/ws"]

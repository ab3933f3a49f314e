"""Never a 500 through either host: random raw paths, queries, methods and Cookie headers.

A Starlette app (ASGI host) and a Flask app (WSGI host), each with an
``/admin`` rule and an ``/admin/...`` catch-all, get requests whose raw
target, query, method, ``Accept`` and ``Cookie`` header are drawn at random,
the cookie header sometimes carrying a genuine session of ``bob`` (who lacks
the role). Every answer has a status authplug or the router gives on
purpose, never a 500, and ``bob`` never gets an answer from an ``/admin``
handler.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import anyio
import pytest
from flask import Flask, jsonify
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware as ASGIMiddleware
from authplug.wsgi import AuthMiddleware as WSGIMiddleware

pytestmark = pytest.mark.fuzz

ROLE = "pika:content-admin"
EXPECTED = {200, 302, 303, 307, 308, 400, 401, 403, 404, 405, 413, 431}

Get = Callable[[str, bytes, bytes, list[tuple[bytes, bytes]]], tuple[int, bytes]]

PIECES = [
    "admin", "auth", "test", "login", "logout", "x", "", ".", "..", "%2e", "%2e%2e", "%2f",
    "%5c", "\\", ";", "%00", "%0d%0a", "%09", "%7f", "%c2%85", "%e2%80%8b", "%ef%bc%8f",
    "%ef%bc%8e", "%25", "%ff", "%", "%zz", "caf%c3%a9", "~", "@", ":", "*",
]  # fmt: skip
targets = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=7).map(lambda p: ("/" + "/".join(p)).encode()),
    st.binary(min_size=1, max_size=40).filter(lambda b: b[:1] == b"/" and b"?" not in b),
    st.sampled_from([b"*", b"admin", b"http://evil.example/admin", b""]),
)
queries = st.one_of(
    st.just(b""),
    st.sampled_from([b"user=bob", b"user=bob&roles=" + ROLE.encode(), b"state=x&user=a"]),
    st.binary(max_size=30).filter(lambda b: b"#" not in b),
)
methods = st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS"])
accepts = st.sampled_from([b"text/html", b"application/json", b"*/*", b""])
junk_cookies = st.one_of(
    st.binary(max_size=120),
    st.lists(
        st.tuples(
            st.sampled_from(["authplug_session.0", "authplug_session.1", "authplug_flow.x", "a"]),
            st.text(max_size=40),
        ),
        max_size=4,
    ).map(lambda pairs: "; ".join(f"{n}={v}" for n, v in pairs).encode("utf-8", "replace")),
)


def _handler_is_admin(body: bytes) -> bool:
    try:
        return bool(json.loads(body).get("handler") == "admin")
    except (ValueError, AttributeError):
        return False


async def _asgi(app: Any, method: str, target: bytes, query: bytes, headers: Any) -> Any:
    sent: list[dict[str, Any]] = []
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": b"csrf_token=x", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(target.decode("latin-1")),
        "raw_path": target,
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


def asgi_getter(app: Any) -> Get:
    def get(
        method: str, target: bytes, query: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes]:
        return anyio.run(_asgi, app, method, target, query, headers)  # type: ignore[no-any-return]

    return get


def wsgi_getter(app: Any) -> Get:
    def get(
        method: str, target: bytes, query: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(target).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "RAW_URI": target.decode("latin-1"),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": "12",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b"csrf_token=x"),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            environ[key] = value.decode("latin-1")
        status: list[str] = []

        def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
            status.append(line)
            return lambda _data: None

        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), body

    return get


def starlette_app() -> Any:
    async def admin(request: Request) -> JSONResponse:
        return JSONResponse({"handler": "admin"})

    async def top(request: Request) -> JSONResponse:
        return JSONResponse({"handler": "top"})

    every = ["GET", "POST", "PUT", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/admin", admin, methods=every),
            Route("/admin/{rest:path}", admin, methods=every),
            Route("/{rest:path}", top, methods=every),
        ]
    )


def flask_app() -> Flask:
    app = Flask("authplug_fuzz")
    every = ["GET", "POST", "PUT", "OPTIONS"]

    @app.route("/admin", methods=every)
    @app.route("/admin/<path:rest>", methods=every)
    def admin(rest: str = "") -> Any:
        return jsonify(handler="admin")

    @app.route("/", methods=every)
    @app.route("/<path:rest>", methods=every)
    def top(rest: str = "") -> Any:
        return jsonify(handler="top")

    return app


def run_fuzz(get: Get, session_cookie: bytes) -> None:
    @given(
        method=methods,
        target=targets,
        query=queries,
        accept=accepts,
        junk=junk_cookies,
        with_session=st.booleans(),
    )
    @example(method="GET", target=b"/admin/..", query=b"", accept=b"", junk=b"", with_session=True)
    @example(
        method="GET", target=b"/admin/%2e%2e/x", query=b"", accept=b"", junk=b"", with_session=True
    )
    def one(
        method: str, target: bytes, query: bytes, accept: bytes, junk: bytes, with_session: bool
    ) -> None:
        cookie = b"; ".join(c for c in (session_cookie if with_session else b"", junk) if c)
        headers = [(b"host", b"127.0.0.1")]
        if accept:
            headers.append((b"accept", accept))
        if cookie:
            headers.append((b"cookie", cookie))
        status, body = get(method, target, query, headers)
        assert status in EXPECTED, (status, body[:200])
        assert not (with_session and _handler_is_admin(body)), (target, status)

    one()


def _config(kit: ModuleType, keys: list[str]) -> Any:
    return kit.make_config(keys, access=[{"path": "/admin", "roles": [ROLE]}], public_paths=[])


def _login_cookie(app: Any, kit: ModuleType, *, wsgi: bool) -> bytes:
    """Bob's session as a Cookie header, from the login route's Set-Cookie headers."""
    captured: list[str] = []
    if wsgi:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/auth/test/login",
            "QUERY_STRING": "user=bob",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }

        def start_response(line: str, headers: list[tuple[str, str]], _exc: Any = None) -> Any:
            captured.extend(v for k, v in headers if k.lower() == "set-cookie")
            return lambda _data: None

        b"".join(app(environ, start_response))
    else:

        async def call() -> None:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            scope = {
                "type": "http",
                "method": "GET",
                "path": "/auth/test/login",
                "raw_path": b"/auth/test/login",
                "root_path": "",
                "query_string": b"user=bob",
                "headers": [],
                "scheme": "http",
            }
            await app(scope, receive, send)
            start = next(m for m in sent if m["type"] == "http.response.start")
            captured.extend(v.decode() for k, v in start["headers"] if k == b"set-cookie")

        anyio.run(call)
    pairs = kit.cookie_pairs(captured)
    session = {k: v for k, v in pairs.items() if k.startswith("authplug_session.")}
    assert session
    return "; ".join(f"{k}={v}" for k, v in session.items()).encode()


def test_the_asgi_host_never_answers_500(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = ASGIMiddleware(starlette_app(), host=host, clock=clock)
    run_fuzz(asgi_getter(app), _login_cookie(app, kit, wsgi=False))


def test_the_wsgi_host_never_answers_500(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    host = kit.make_host(kit.TestProvider(clock), _config(kit, keys), store)
    app = flask_app()
    middleware = WSGIMiddleware(app.wsgi_app, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    try:
        run_fuzz(wsgi_getter(app), _login_cookie(app, kit, wsgi=True))
    finally:
        middleware.close()

"""The endpoints the request rows put behind each middleware.

One JSON endpoint per framework. It answers the user id the middleware in
front attached (``None`` without one), so each variant is checked to have
really authenticated before it is timed.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ENDPOINT",
    "asgi_driver",
    "asgi_timed",
    "flask_app",
    "scope_user_id",
    "starlette_app",
    "wsgi_driver",
    "wsgi_timed",
]

ENDPOINT = "/api/me"


def scope_user_id(user: object) -> str | None:
    """The user id of whatever a middleware attached (``None`` when nothing)."""
    return getattr(user, "user_id", None)


def starlette_app() -> Any:
    """A Starlette app with one JSON endpoint at :data:`ENDPOINT`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"user": scope_user_id(request.scope.get("authplug.user"))})

    return Starlette(routes=[Route(ENDPOINT, me)])


def flask_app() -> Any:
    """A Flask app with one JSON endpoint at :data:`ENDPOINT`."""
    from flask import Flask, jsonify, request

    app = Flask("authplug_bench")

    @app.get(ENDPOINT)
    def me() -> Any:
        return jsonify(user=scope_user_id(request.environ.get("authplug.user")))

    return app


class _Sink:
    """Collects what an ASGI app sends, for the one checked call."""

    def __init__(self) -> None:
        self.status = 0
        self.body = b""

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: dict[str, Any]) -> None:
    return None


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": ENDPOINT,
        "raw_path": ENDPOINT.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _fresh(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """New header value objects, as a server parses them from each request.

    Reusing the same ``bytes`` objects would let anything keyed by a header
    value skip hashing it (CPython caches a ``bytes`` hash on the object), an
    advantage no real request gives. Every variant pays this copy.
    """
    return [(name, bytes(memoryview(value))) for name, value in headers]


def asgi_driver(
    app: Any, headers: list[tuple[bytes, bytes]], loop: Any
) -> tuple[Callable[[int], object], tuple[int, bytes]]:
    """A batch callable running ``n`` in-process GET requests, and one checked response."""

    async def one_checked() -> tuple[int, bytes]:
        sink = _Sink()
        await app(_scope(_fresh(headers)), _receive, sink)
        return sink.status, sink.body

    async def run(n: int) -> None:
        for _ in range(n):
            await app(_scope(_fresh(headers)), _receive, _discard)

    checked = loop.run_until_complete(one_checked())
    return (lambda n: loop.run_until_complete(run(n))), checked


def _environ(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": ENDPOINT,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, raw in _environ_headers(headers):
        environ[key] = raw.decode("latin-1")
    return environ


def _environ_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, bytes]]:
    """``(environ key, raw value)`` per header (CGI naming)."""
    items = []
    for name, value in headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        items.append((key, value))
    return items


def _new_environ(template: dict[str, Any], items: list[tuple[str, bytes]]) -> dict[str, Any]:
    """A request's environ: new ``str`` header values, as a server decodes them per request."""
    environ = dict(template)
    for key, raw in items:
        environ[key] = raw.decode("latin-1")
    environ["wsgi.input"] = io.BytesIO(b"")
    return environ


def _consume(body: Iterable[bytes]) -> bytes:
    """Read a WSGI response body and close it, as a server does."""
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def wsgi_driver(
    app: Any, headers: list[tuple[bytes, bytes]]
) -> tuple[Callable[[int], object], tuple[int, bytes]]:
    """A batch callable running ``n`` in-process GET requests, and one checked response."""
    template = _environ([])
    header_items = _environ_headers(headers)
    status: list[int] = []

    def start_response(line: str, response_headers: Any, exc_info: Any = None) -> Any:
        status.append(int(line.split(" ", 1)[0]))
        return None

    def call() -> bytes:
        return _consume(app(_new_environ(template, header_items), start_response))

    body = call()
    checked = (status[-1], body)

    def run(n: int) -> None:
        for _ in range(n):
            call()
        status.clear()

    return run, checked


def asgi_timed(
    variants: Mapping[str, tuple[Any, list[tuple[bytes, bytes]]]], loop: Any
) -> Callable[[Sequence[str]], list[int]]:
    """A :data:`harness.Timed` for ASGI apps: ``name -> (app, headers)``.

    Each request gets a new scope with new header values (built before its
    timing starts) and runs to completion inside one event-loop run per
    schedule, so no loop overhead lands between the two clock reads.
    """

    async def run(schedule: Sequence[str]) -> list[int]:
        clock = time.perf_counter_ns
        times = []
        for name in schedule:
            app, headers = variants[name]
            scope = _scope(_fresh(headers))
            start = clock()
            await app(scope, _receive, _discard)
            times.append(clock() - start)
        return times

    return lambda schedule: loop.run_until_complete(run(schedule))


def wsgi_timed(
    variants: Mapping[str, tuple[Any, list[tuple[bytes, bytes]]]],
) -> Callable[[Sequence[str]], list[int]]:
    """A :data:`harness.Timed` for WSGI apps: ``name -> (app, headers)``.

    Each request gets a new environ with new header strings (built before
    its timing starts); the timing covers the app call and reading and
    closing its body, as a server does.
    """
    template = _environ([])
    items = {name: _environ_headers(headers) for name, (_, headers) in variants.items()}
    apps = {name: app for name, (app, _) in variants.items()}

    def start_response(line: str, response_headers: Any, exc_info: Any = None) -> Any:
        return None

    def run(schedule: Sequence[str]) -> list[int]:
        clock = time.perf_counter_ns
        times = []
        for name in schedule:
            environ = _new_environ(template, items[name])
            app = apps[name]
            start = clock()
            _consume(app(environ, start_response))
            times.append(clock() - start)
        return times

    return run

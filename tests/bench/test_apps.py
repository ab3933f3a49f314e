"""The timed drivers of the interleaved rows: the right app, its headers, one time each."""

from __future__ import annotations

import asyncio
from typing import Any

from apps import asgi_timed, wsgi_timed


def test_wsgi_timed_runs_each_named_app_once_with_its_own_headers() -> None:
    seen: list[tuple[str, str]] = []
    closed: list[str] = []

    class Body(list[bytes]):
        def __init__(self, name: str) -> None:
            super().__init__([b"ok"])
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    def app(name: str) -> Any:
        def wsgi(environ: dict[str, Any], start_response: Any) -> Body:
            seen.append((name, environ["HTTP_X_VALUE"]))
            start_response("200 OK", [])
            return Body(name)

        return wsgi

    timed = wsgi_timed(
        {"a": (app("a"), [(b"x-value", b"one")]), "b": (app("b"), [(b"x-value", b"two")])}
    )
    times = timed(["b", "a", "b"])

    assert seen == [("b", "two"), ("a", "one"), ("b", "two")]
    assert closed == ["b", "a", "b"]  # the body is closed, as a server does
    assert len(times) == 3
    assert all(isinstance(t, int) and t >= 0 for t in times)


def test_wsgi_timed_gives_every_request_new_header_strings() -> None:
    values: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        values.append(environ["HTTP_AUTHORIZATION"])
        return [b""]

    wsgi_timed({"a": (app, [(b"authorization", b"Bearer t")])})(["a", "a"])
    assert values[0] == values[1] == "Bearer t"
    assert values[0] is not values[1]  # no hash cached on a reused object


def test_asgi_timed_runs_each_named_app_once_with_new_header_values() -> None:
    seen: list[tuple[str, bytes]] = []

    def app(name: str) -> Any:
        async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
            (header,) = scope["headers"]
            seen.append((name, header[1]))
            await send({"type": "http.response.start", "status": 200, "headers": []})

        return asgi

    headers = [(b"x-value", b"one")]
    loop = asyncio.new_event_loop()
    try:
        timed = asgi_timed({"a": (app("a"), headers), "b": (app("b"), [(b"x", b"two")])}, loop)
        times = timed(["a", "b", "a"])
    finally:
        loop.close()

    assert [(name, bytes(value)) for name, value in seen] == [
        ("a", b"one"),
        ("b", b"two"),
        ("a", b"one"),
    ]
    assert seen[0][1] is not headers[0][1]
    assert seen[0][1] is not seen[2][1]
    assert len(times) == 3
    assert all(isinstance(t, int) and t >= 0 for t in times)

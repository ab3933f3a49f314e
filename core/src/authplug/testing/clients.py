"""A real host around a provider, driven through both the ASGI and the WSGI middleware.

:class:`HostClient` is one synchronous ``httpx`` client over either host, in
front of a small protected application that answers with the user it was
handed (and remembers it in :attr:`HostClient.seen_users`). The ASGI side
runs in an anyio blocking portal, so a test reads the same for both hosts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from typing import Any, Literal

import httpx
from anyio.from_thread import start_blocking_portal

from authplug.host import Host
from authplug.models import AnyUser

__all__ = ["HOST_KINDS", "HostClient", "HostKind"]

HostKind = Literal["asgi", "wsgi"]
HOST_KINDS: tuple[HostKind, ...] = ("asgi", "wsgi")
"""Both hosts, for ``pytest.mark.parametrize`` and fixture params."""

BASE_URL = "https://app.test"


def _user_body(user: AnyUser | None) -> bytes:
    if user is None:
        return b'{"user": null}'
    return json.dumps(
        {"user": user.user_id, "user_type": user.user_type, "roles": list(user.roles)}
    ).encode()


class _Seen:
    def __init__(self) -> None:
        self.users: list[AnyUser] = []
        self.lock = threading.Lock()

    def add(self, user: AnyUser | None) -> None:
        if user is not None:
            with self.lock:
                self.users.append(user)


def _asgi_app(seen: _Seen) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # pragma: no cover - only HTTP is driven
            return
        user = scope.get("authplug.user")
        seen.add(user)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": _user_body(user)})

    return app


def _wsgi_app(seen: _Seen) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        user = environ.get("authplug.user")
        seen.add(user)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [_user_body(user)]

    return app


class HostClient:
    """A synchronous HTTP client over the ASGI or the WSGI host of ``host``.

    :param host: The host to run (its provider, config, store).
    :param kind: ``"asgi"`` or ``"wsgi"``.
    :param client_address: The peer address the application sees.
    :param clock: Epoch-seconds clock for the lifecycle (default: real time).

    Cookies the host sets are kept between requests, as a browser would.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        host: Host,
        kind: HostKind,
        *,
        client_address: str = "127.0.0.1",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.host = host
        self.kind: HostKind = kind
        self._seen = _Seen()
        self._stack = ExitStack()
        if kind == "asgi":
            from authplug.asgi import AuthMiddleware as AsgiMiddleware

            middleware = AsgiMiddleware(_asgi_app(self._seen), host=host, clock=clock)
            self._portal = self._stack.enter_context(start_blocking_portal())
            transport = httpx.ASGITransport(app=middleware, client=(client_address, 50000))
            self._async = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
            self._stack.callback(self._portal.call, self._async.aclose)
        elif kind == "wsgi":
            from authplug.wsgi import AuthMiddleware as WsgiMiddleware

            wsgi = WsgiMiddleware(_wsgi_app(self._seen), host=host, clock=clock)
            self._stack.callback(wsgi.close)
            self._sync = httpx.Client(
                transport=httpx.WSGITransport(app=wsgi, remote_addr=client_address),
                base_url=BASE_URL,
            )
            self._stack.callback(self._sync.close)
        else:
            raise ValueError(f"kind must be 'asgi' or 'wsgi', not {kind!r}")

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookies this client holds (set by the host's responses)."""
        return self._async.cookies if self.kind == "asgi" else self._sync.cookies

    @property
    def seen_users(self) -> list[AnyUser]:
        """Every user the protected application was handed, oldest first."""
        with self._seen.lock:
            return list(self._seen.users)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request through the host; the response as the browser sees it.

        Header values are sent as latin-1 bytes, as HTTP carries them (give a
        UTF-8 value as ``value.encode().decode("latin-1")``). httpx's WSGI
        transport accepts only ASCII values: for others, call the WSGI
        middleware with :meth:`RequestSpec.wsgi_environ`.
        """
        kwargs: dict[str, Any] = {
            "headers": {k: v.encode("latin-1") for k, v in (headers or {}).items()},
            "params": dict(params or {}),
            "follow_redirects": follow_redirects,
        }
        if data is not None:
            kwargs["data"] = dict(data)
        if self.kind == "asgi":
            return self._portal.call(lambda: self._async.request(method, path, **kwargs))
        return self._sync.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``GET path`` (see :meth:`request`)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``POST path`` (see :meth:`request`)."""
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        """Close the client and stop the host's background machinery."""
        self._stack.close()

    def __enter__(self) -> HostClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""``AuthMiddleware`` for ASGI applications (Starlette, FastAPI, Litestar).

Pure ASGI (never ``BaseHTTPMiddleware``): it looks at the scope, lets the
:class:`~authplug.lifecycle.Lifecycle` decide, then either answers itself or
calls the application with the user in ``scope["authplug.user"]`` (and in
``scope["state"]["user"]``, which Starlette exposes as ``request.state.user``),
appending any ``Set-Cookie`` headers to the application's
``http.response.start``.

* every path is first checked by :mod:`authplug.request_path`: an ambiguous
  one (dot or empty segments, backslashes, encoded separators, control
  characters) is answered 400 (a websocket handshake is refused) before
  any other decision;
* ``http``: public paths pass untouched; ``/auth/*`` is answered by the
  lifecycle (the body is read only there: a ``Content-Length`` over
  :data:`~authplug.lifecycle.MAX_AUTH_BODY` is a 413 before reading, and so
  is a body that grows past it); everything else is protected.
* ``websocket``: public paths pass; otherwise the handshake carries the user
  the same decision finds for an HTTP request (session cookie, or the
  provider for stateless providers). Cookies cannot be set on a websocket,
  so cookie updates are dropped; without a user the handshake is refused
  (close code 1008, which servers answer with HTTP 403).
* ``lifespan``: passed through; when the application reports its shutdown
  complete (or failed), the user store's event-loop resources (the
  PostgreSQL store's async pool) are released first, while the loop still
  runs. Anything else: passed through.

Mounted applications (``Mount("/app", app=AuthMiddleware(...))``, or a server
run with ``--root-path``): paths are classified and matched inside the
application (``scope["path"]`` minus ``scope["root_path"]``, as Starlette's
router does), while redirects and the captured ``return_to`` keep the prefix.

Store calls are awaited on the event loop when the store has async methods
(:class:`~authplug.stores.base.AsyncUserStore`, the PostgreSQL store),
otherwise run in a worker thread (``asyncio.to_thread``); token refreshes are
single-flight per session across the tasks of the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from authplug.hookcalls import await_me_maybe
from authplug.lifecycle import MAX_AUTH_BODY, Lifecycle, PathKind
from authplug.loader import host_or_load
from authplug.request import AuthRequest
from authplug.responses import Proceed, Respond, mount_prefix
from authplug.singleflight import AsyncSingleFlight, SingleFlight

if TYPE_CHECKING:
    from authplug.host import Host
    from authplug.models import AuthenticatedUser
    from authplug.results import ResponseCookie

__all__ = ["AsyncRuntime", "AuthMiddleware"]

_PUBLIC = PathKind.PUBLIC  # hot-path names: one global lookup, not an Enum class read
_PROTECTED = PathKind.PROTECTED

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AsyncRuntime:
    """The ASGI driver: blocking calls in a worker thread, awaitables awaited on the
    event loop, single-flight across asyncio tasks."""

    name = "asgi"
    event_loop = True

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread (``asyncio.to_thread``)."""
        return await asyncio.to_thread(fn)

    async def resolve(self, value: object) -> object:
        """Await ``value`` when it is awaitable."""
        return await await_me_maybe(value)

    def new_flight(self, clock: Callable[[], float]) -> SingleFlight[Any]:
        """A single-flight group of asyncio tasks."""
        return AsyncSingleFlight(clock=clock)


def _cookie_headers(cookies: tuple[ResponseCookie, ...]) -> list[tuple[bytes, bytes]]:
    return [(b"set-cookie", c.header_value().encode("latin-1", "replace")) for c in cookies]


class AuthMiddleware:
    """Authenticate every non-public request of an ASGI application.

    :param app: The ASGI application to protect.
    :param host: The loaded host; ``None`` means ``authplug.load()`` (config
        file and environment).
    :param clock: Epoch-seconds clock for the lifecycle (tests).
    """

    def __init__(
        self,
        app: ASGIApp,
        host: Host | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.app = app
        self.host = host = host_or_load(host)
        self.lifecycle = lifecycle = Lifecycle(host, AsyncRuntime(), clock=clock)
        # a session provider's hot path skips fast_user's provider-kind test
        self._fast_user = (
            lifecycle.fast_user if lifecycle.fast_path_reads_headers else lifecycle.session_user
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection.

        The hot path (a protected HTTP path whose session or token needs
        nothing) is inline here: no further coroutine, no request object.
        """
        if scope["type"] == "http":
            lifecycle = self.lifecycle
            path = _app_path(scope) if scope.get("root_path") else scope["path"]
            raw_path = scope.get("raw_path")
            known = (
                lifecycle.remembered_kind(raw_path)
                if raw_path is not None
                else lifecycle.remembered_path_kind(path)
            )
            kind = known[1] if known is not None and known[0] == path else None
            if kind is None:
                kind = lifecycle.classify(path, raw_path)
            if kind is _PUBLIC:
                await self.app(scope, receive, send)
                return
            if kind is _PROTECTED:
                user = self._fast_user(scope["headers"], path)
                if user is not None:
                    # _attach, written out: this is every authenticated request
                    scope["authplug.user"] = user
                    state = scope.get("state")
                    if state is None:
                        scope["state"] = {"user": user}
                    else:
                        state["user"] = user
                    await self.app(scope, receive, send)
                    return
            await self._http(scope, receive, send, path, kind)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
        else:
            await self.app(scope, receive, send)

    def _lifespan_send(self, send: Send) -> Send:
        """``send`` releasing the store's loop resources before the shutdown is reported."""
        release = self.lifecycle.store_calls.release_loop

        async def lifespan_send(message: Message) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await release()
            await send(message)

        return lifespan_send

    @staticmethod
    def _request(scope: Scope, path: str) -> AuthRequest:
        root = scope.get("root_path")
        return AuthRequest(
            method=scope.get("method", "GET"),
            path=path,
            query_string=scope.get("query_string", b""),
            headers=scope.get("headers", ()),
            scheme=scope.get("scheme", "http"),
            root_path=mount_prefix(root) if root else "",
            client=_client_host(scope),
        )

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, path: str, kind: PathKind
    ) -> None:
        """Everything but the hot path: refusals, ``/auth/*`` routes, the full decision."""
        lifecycle = self.lifecycle
        if kind is PathKind.REFUSED:
            await _send_response(send, lifecycle.refuse_path(self._request(scope, path)))
            return
        request = self._request(scope, path)
        if kind is PathKind.AUTH:
            try:
                body = await _read_body(receive, _declared_length(request))
            except _BodyTooLargeError:
                await _send_response(send, self.host.responses.body_too_large(request))
                return
            if body is None:
                return  # the client went away
            request.body = body
            await _send_response(send, await lifecycle.auth_route(request))
            return
        outcome = await lifecycle.protect(request)
        if isinstance(outcome, Respond):
            await _send_response(send, outcome)
            return
        _attach(scope, outcome.user)
        if not outcome.cookies:
            await self.app(scope, receive, send)
            return
        extra = _cookie_headers(outcome.cookies)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        lifecycle = self.lifecycle
        path = _app_path(scope)
        kind = lifecycle.classify(path, scope.get("raw_path"))
        if kind is PathKind.PUBLIC:
            await self.app(scope, receive, send)
            return
        outcome = (
            None
            if kind is PathKind.REFUSED
            else await lifecycle.protect(self._request(scope, path))
        )
        if isinstance(outcome, Proceed):
            _attach(scope, outcome.user)
            await self.app(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})


def _app_path(scope: Scope) -> str:
    """The path inside the application: ``path`` minus a ``root_path`` it starts with.

    ASGI servers and Starlette's ``Mount`` keep the full path in ``path``;
    older servers leave the prefix out, and then ``path`` is used as is.
    """
    path: str = scope["path"]
    root = scope.get("root_path")
    if not root or not path.startswith(root):
        return path
    if len(path) == len(root):
        return "/"
    if path[len(root)] == "/":
        return path[len(root) :]
    return path


def _attach(scope: Scope, user: AuthenticatedUser[Any, Any]) -> None:
    """Hand ``user`` to the application through the scope (and Starlette's ``request.state``)."""
    scope["authplug.user"] = user
    state = scope.get("state")
    if state is None:
        scope["state"] = {"user": user}
    else:
        state["user"] = user


def _declared_length(request: AuthRequest) -> int | None:
    """The request's ``Content-Length`` (``None`` when absent or not a number)."""
    raw = request.header("content-length")
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


class _BodyTooLargeError(Exception):
    """The body is declared or found to be over :data:`MAX_AUTH_BODY`."""


async def _read_body(receive: Receive, declared: int | None) -> bytes | None:
    """Read the request body; ``None`` on disconnect.

    :raises _BodyTooLargeError: the declared length is over :data:`MAX_AUTH_BODY`
        (nothing is read), or the body grows past it (reading stops there).
    """
    if declared is not None and declared > MAX_AUTH_BODY:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_AUTH_BODY:
                raise _BodyTooLargeError
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_response(send: Send, response: Respond) -> None:
    headers = [
        (k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
        for k, v in response.headers
    ]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    headers.extend(_cookie_headers(response.cookies))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _client_host(scope: Scope) -> str | None:
    """The peer's host from ``scope["client"]`` (``None`` when the server gives none)."""
    client = scope.get("client")
    if client and isinstance(client[0], str):
        return client[0]
    return None

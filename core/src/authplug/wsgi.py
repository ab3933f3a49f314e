"""``AuthMiddleware`` for WSGI applications (Flask, Django).

The same :class:`~authplug.lifecycle.Lifecycle` the ASGI host awaits is
driven here synchronously: the lifecycle coroutine is stepped once with
``send(None)`` and completes without ever suspending, because this host's
runtime

* calls store methods directly (we already are on a worker thread);
* makes concurrent refreshes of one session wait on a thread event
  (:class:`~authplug.singleflight.ThreadSingleFlight`);
* calls hook implementations directly in the request thread, and when one
  returns an awaitable (an ``async def`` hookimpl or route handler) runs it
  on ONE background event-loop thread owned by the middleware
  (``asyncio.run_coroutine_threadsafe``) and blocks for its result. The loop
  is started on first use and reused for every request; never a loop per
  request.

Every path is first checked by :mod:`authplug.request_path` (``PATH_INFO``
decoded as UTF-8, and the server's ``RAW_URI``/``REQUEST_URI`` when it sets
one): an ambiguous path is answered 400 before any other decision.

An application mounted under a prefix (``SCRIPT_NAME``, e.g. behind
``DispatcherMiddleware`` or a server's mount point) is matched on
``PATH_INFO``; redirects and the captured ``return_to`` keep ``SCRIPT_NAME``.

The user is handed to the application as ``environ["authplug.user"]``.
Call :meth:`AuthMiddleware.close` to stop the background loop (it is a
daemon thread, so an exiting process does not wait for it).
"""

from __future__ import annotations

import asyncio
import http
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from authplug.lifecycle import MAX_AUTH_BODY, Lifecycle, PathKind
from authplug.loader import host_or_load
from authplug.request import AuthRequest
from authplug.responses import Respond, mount_prefix
from authplug.singleflight import SingleFlight, ThreadSingleFlight

if TYPE_CHECKING:
    from authplug.host import Host
    from authplug.results import ResponseCookie

__all__ = ["AuthMiddleware", "BackgroundLoop", "ThreadRuntime"]

_PUBLIC = PathKind.PUBLIC  # hot-path names: one global lookup, not an Enum class read
_PROTECTED = PathKind.PROTECTED

T = TypeVar("T")

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


async def _await(value: Awaitable[T]) -> T:
    return await value


class BackgroundLoop:
    """One event loop on one daemon thread, started on first use.

    :meth:`resolve` turns any value into a plain one: awaitables run on the
    loop while the calling thread waits; everything else is returned as is.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """Whether the loop thread is running."""
        return self._loop is not None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="authplug-wsgi-loop", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def resolve(self, value: T | Awaitable[T]) -> T:
        """Return ``value``, first running it on the loop when it is awaitable."""
        if not inspect.isawaitable(value):
            return value
        loop = self._ensure()
        coro = value if inspect.iscoroutine(value) else _await(value)
        result: T = asyncio.run_coroutine_threadsafe(coro, loop).result()
        return result

    def close(self) -> None:
        """Stop the loop and wait for its thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


class ThreadRuntime:
    """The WSGI driver: nothing it does suspends the lifecycle coroutine.

    Blocking calls run inline (the request already has its own thread);
    awaitables returned by ``async`` hook implementations run on one
    :class:`BackgroundLoop` while the request thread waits; single-flight
    waiters block on thread events.

    :param loop: The background loop for awaitables.
    """

    name = "wsgi"
    event_loop = False

    def __init__(self, loop: BackgroundLoop) -> None:
        self.loop = loop

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` in this thread."""
        return fn()

    async def resolve(self, value: object) -> object:
        """``value``, run to completion on the background loop when it is awaitable."""
        return self.loop.resolve(value)

    def new_flight(self, clock: Callable[[], float]) -> SingleFlight[Any]:
        """A single-flight group of threads."""
        return ThreadSingleFlight(clock=clock)


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a lifecycle coroutine that never suspends to completion, synchronously."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return cast("T", stop.value)
    coro.close()
    raise RuntimeError("the authplug lifecycle suspended inside the WSGI host")


class _EnvironHeaders(Sequence[tuple[bytes, bytes]]):
    """ASGI-style header pairs built from a WSGI environ on first use."""

    __slots__ = ("_environ", "_items")

    def __init__(self, environ: Environ) -> None:
        self._environ = environ
        self._items: list[tuple[bytes, bytes]] | None = None

    def _build(self) -> list[tuple[bytes, bytes]]:
        items = self._items
        if items is None:
            items = []
            for key, value in self._environ.items():
                if key.startswith("HTTP_"):
                    name = key[5:].lower().replace("_", "-")
                elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                    name = key.lower().replace("_", "-")
                else:
                    continue
                if isinstance(value, str):
                    items.append((name.encode("latin-1"), value.encode("latin-1", "replace")))
            self._items = items
        return items

    def __len__(self) -> int:
        return len(self._build())

    def __getitem__(self, index: Any) -> Any:
        return self._build()[index]

    def __iter__(self) -> Any:
        return iter(self._build())


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _cookie_headers(cookies: tuple[ResponseCookie, ...]) -> list[tuple[str, str]]:
    return [("Set-Cookie", c.header_value()) for c in cookies]


class AuthMiddleware:
    """Authenticate every non-public request of a WSGI application.

    :param app: The WSGI application to protect (``flask_app.wsgi_app``,
        Django's ``get_wsgi_application()``).
    :param host: The loaded host; ``None`` means ``authplug.load()``.
    :param clock: Epoch-seconds clock for the lifecycle (tests).
    """

    def __init__(
        self,
        app: WSGIApp,
        host: Host | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.app = app
        self.host = host = host_or_load(host)
        self.loop = BackgroundLoop()
        self.lifecycle = Lifecycle(host, ThreadRuntime(self.loop), clock=clock)
        self._reads_headers = self.lifecycle.fast_path_reads_headers

    def close(self) -> None:
        """Stop the background event loop (if it was started)."""
        self.loop.close()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request."""
        lifecycle = self.lifecycle
        raw_path = environ.get("PATH_INFO", "") or "/"
        path = (
            raw_path
            if raw_path.isascii()
            else raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
        )
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_uri.__class__ is not str:
            raw_uri = None
            known = lifecycle.remembered_path_kind(path)
        else:
            known = lifecycle.remembered_kind(raw_uri)
        kind = known[1] if known is not None and known[0] == path else None
        if kind is None:
            kind = lifecycle.classify(path, raw_uri)
        if kind is _PUBLIC:
            return self.app(environ, start_response)
        if kind is _PROTECTED:
            if self._reads_headers:
                user = lifecycle.environ_user(environ, path)
            else:
                value = environ.get("HTTP_COOKIE")
                user = lifecycle.cookie_user(value, path) if value.__class__ is str else None
            if user is not None:
                environ["authplug.user"] = user
                return self.app(environ, start_response)
        cookie = environ.get("HTTP_COOKIE")
        if not isinstance(cookie, str):
            cookie = None
        cookie_headers: Sequence[tuple[bytes, bytes]] = (
            ((b"cookie", cookie.encode("latin-1", "replace")),) if cookie is not None else ()
        )
        request = AuthRequest(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            query_string=environ.get("QUERY_STRING", "").encode("latin-1", "replace"),
            headers=_EnvironHeaders(environ),
            scheme=environ.get("wsgi.url_scheme", "http"),
            root_path=_script_name(environ),
            client=environ.get("REMOTE_ADDR") or None,
        )
        if kind is PathKind.REFUSED:
            return _respond(start_response, lifecycle.refuse_path(request))
        if kind is PathKind.AUTH:
            body = _read_body(environ)
            if body is None:
                return _respond(start_response, self.host.responses.body_too_large(request))
            request.body = body
            return _respond(start_response, _drive(lifecycle.auth_route(request)))
        outcome = _drive(lifecycle.protect(request, cookie_headers))
        if isinstance(outcome, Respond):
            return _respond(start_response, outcome)
        environ["authplug.user"] = outcome.user
        if not outcome.cookies:
            return self.app(environ, start_response)
        extra = _cookie_headers(outcome.cookies)

        def start_with_cookies(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            headers = [*headers, *extra]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_cookies)


def _script_name(environ: Environ) -> str:
    """The mount prefix (``SCRIPT_NAME``, decoded like ``PATH_INFO``), sanitised."""
    raw = environ.get("SCRIPT_NAME")
    if not raw or not isinstance(raw, str):
        return ""
    return mount_prefix(raw.encode("latin-1", "replace").decode("utf-8", "replace"))


def _read_body(environ: Environ) -> bytes | None:
    """The request body, or ``None`` when it is over :data:`MAX_AUTH_BODY`.

    The rule the ASGI host applies too: a declared ``CONTENT_LENGTH`` over
    the limit is refused before reading; a body without a declared length
    (only readable when the server sets ``wsgi.input_terminated``) is read up
    to one byte past the limit and refused when it gets there.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw.isdigit():
        length = int(raw)
        if length > MAX_AUTH_BODY:
            return None
        data: bytes = stream.read(length) if length > 0 else b""
        return data
    if not environ.get("wsgi.input_terminated"):
        return b""  # PEP 3333: without a length, reading could block
    data = stream.read(MAX_AUTH_BODY + 1)
    return None if len(data) > MAX_AUTH_BODY else data


def _respond(start_response: StartResponse, response: Respond) -> list[bytes]:
    headers = [(k, v.encode("latin-1", "replace").decode("latin-1")) for k, v in response.headers]
    headers.append(("content-length", str(len(response.body))))
    headers.extend(_cookie_headers(response.cookies))
    start_response(_status_line(response.status), headers)
    return [response.body]

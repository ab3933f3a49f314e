"""The per-request lifecycle: the one authentication decision both hosts drive.

:class:`Lifecycle` takes a framework-neutral :class:`~authplug.request.AuthRequest`
and answers with an :data:`Outcome`: :class:`Proceed` (call the application
with this user, appending these cookies) or :class:`Respond` (answer the
request ourselves: a redirect, a login page, a 401/403/503). It performs no
I/O of its own: hosts read the request and write the response.

Shape: an ``async`` core with two drivers. The ASGI host awaits it on its
event loop. The WSGI host steps the coroutine synchronously (``send(None)``
once): its :class:`Runtime` never suspends, because it runs store calls
directly, waits for single-flight leaders on thread events and resolves the
awaitables of ``async`` hook implementations on one background event loop
(see :mod:`authplug.wsgi`). Sync hook implementations are thus called
directly in either host, and there is one lifecycle implementation.

Order of decisions (``protect``):

1. public paths never reach the lifecycle (hosts call :meth:`Lifecycle.classify`
   first and pass them untouched, without parsing cookies);
2. ``/auth/*`` goes to :meth:`Lifecycle.auth_route`: the core logout page or a
   provider route, never a login redirect;
3. a valid session cookie yields the user; ``authplug_validate`` or
   ``authplug_refresh`` runs only when due (single-flight per session);
4. otherwise ``authplug_authenticate`` decides: login, 302 to the IdP (401
   JSON for API clients), or a provider-rendered page;
5. access rules are applied to the known user (403 on ``DENY``).

The hot path (a valid session, no validation due, no rule) calls no hook,
touches no store and allocates one :class:`Proceed`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import html
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authplug.access import Decision
from authplug.config import decode_cookie_key
from authplug.debug import DebugTracer
from authplug.errors import (
    AuthplugError,
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderUnavailableError,
)
from authplug.hookcalls import HookCalls
from authplug.models import AuthenticatedUser
from authplug.redaction import summarize_user
from authplug.request import AuthRequest, FlowRecord
from authplug.results import Authenticated, ProviderResponse, Redirect, ResponseCookie
from authplug.return_to import safe_return_to
from authplug.routes import Route
from authplug.session.payload import SessionData, SessionUser
from authplug.singleflight import SingleFlight

if TYPE_CHECKING:
    from authplug.host import Host
    from authplug.session import FlowTransactions, SessionRead

__all__ = [
    "LOGOUT_PATH",
    "MAX_AUTH_BODY",
    "MAX_COOKIE_HEADER",
    "Lifecycle",
    "Outcome",
    "PathKind",
    "Proceed",
    "Respond",
    "Runtime",
]

T = TypeVar("T")

LOGOUT_PATH = "/auth/logout"
"""The core-owned logout route (GET: confirmation form; POST: log out)."""

MAX_AUTH_BODY = 1024 * 1024
"""Largest request body hosts read for an ``/auth/*`` route (bigger: 413)."""

MAX_COOKIE_HEADER = 64 * 1024
"""Largest total ``Cookie`` header accepted on a protected path (bigger: 431, no decrypt)."""

_AUTH_PREFIX = "/auth/"
_CSRF_FIELD = "csrf_token"
_log = logging.getLogger("authplug.lifecycle")

_HTML_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ),
)
_JSON_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
)
_REDIRECT_HEADERS: tuple[tuple[str, str], ...] = (("cache-control", "no-store"),)


class PathKind(enum.Enum):
    """How a host must treat a request path (see :meth:`Lifecycle.classify`)."""

    PUBLIC = "public"
    """Pass to the application untouched: no cookie parsing, no user."""
    AUTH = "auth"
    """An ``/auth/*`` route: read the body, call :meth:`Lifecycle.auth_route`."""
    PROTECTED = "protected"
    """Everything else: call :meth:`Lifecycle.protect`."""


@dataclass(frozen=True, slots=True)
class Proceed:
    """Call the application with ``user`` attached, appending ``cookies`` to its response."""

    user: AuthenticatedUser[Any, Any]
    cookies: tuple[ResponseCookie, ...] = ()


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer the request without calling the application.

    Attributes:
        status: HTTP status.
        headers: Header pairs (``content-type`` and ``location`` included),
            names lower-case.
        body: The body bytes.
        cookies: ``Set-Cookie`` values to add.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    cookies: tuple[ResponseCookie, ...] = ()


Outcome = Proceed | Respond
"""What :meth:`Lifecycle.protect` decides."""


class Runtime(Protocol):
    """What differs between the hosts: how to run blocking calls and share refreshes."""

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run a synchronous, possibly blocking call (a store method) and return its result."""
        ...

    def new_flight(self, clock: Callable[[], float]) -> SingleFlight[Any]:
        """A single-flight group suited to this host's concurrency model."""
        ...


class _RecordingFlow:
    """The request's flow (:class:`FlowAccess`) remembering the record a route consumed."""

    __slots__ = ("consumed", "inner")

    def __init__(self, inner: FlowTransactions) -> None:
        self.inner = inner
        self.consumed: FlowRecord | None = None

    def begin(self, data: Mapping[str, str]) -> str:
        return self.inner.begin(data)

    def consume(self, txn_id: str) -> FlowRecord | None:
        record = self.inner.consume(txn_id)
        if record is not None:
            self.consumed = record
        return record


class _LogoutTokens:
    """Anti-CSRF tokens for the logout form: HMAC-SHA256 of the session id.

    Keys are derived once (HKDF) from every configured cookie key, so a token
    minted before a key rotation still verifies; without configured keys
    (development) one random key per process is used.
    """

    __slots__ = ("_keys",)

    def __init__(self, cookie_keys: Sequence[str]) -> None:
        keys = []
        for text in cookie_keys:
            try:
                material = decode_cookie_key(text)
            except ValueError:
                continue
            keys.append(
                HKDF(
                    algorithm=hashes.SHA256(),
                    length=32,
                    salt=None,
                    info=b"authplug logout csrf v1",
                ).derive(material)
            )
        self._keys: tuple[bytes, ...] = tuple(keys) or (os.urandom(32),)

    @staticmethod
    def _mac(key: bytes, sid: str) -> str:
        digest = hmac.new(key, b"logout\x00" + sid.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def token(self, sid: str) -> str:
        """The token for session ``sid`` (newest key)."""
        return self._mac(self._keys[0], sid)

    def verify(self, sid: str, token: str) -> bool:
        """Whether ``token`` was minted for ``sid`` under any key (constant time)."""
        supplied = token.encode("utf-8", "replace")
        return any(
            hmac.compare_digest(self._mac(key, sid).encode("ascii"), supplied) for key in self._keys
        )


def _merge_cookies(*groups: Iterable[ResponseCookie]) -> tuple[ResponseCookie, ...]:
    """Concatenate cookie groups; a later cookie with the same name and path replaces an earlier."""
    merged: dict[tuple[str, str], ResponseCookie] = {}
    for group in groups:
        for cookie in group:
            key = (cookie.name, cookie.path)
            merged.pop(key, None)
            merged[key] = cookie
    return tuple(merged.values())


def _is_bearer(request: AuthRequest) -> bool:
    return (request.header("authorization") or "")[:7].lower() == "bearer "


def _page(title: str, text: str, extra: str = "") -> bytes:
    """A tiny self-contained HTML page; ``title`` and ``text`` are escaped."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</body></html>"
    ).encode()


def _json(
    status: int,
    payload: Mapping[str, object],
    cookies: Sequence[ResponseCookie] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> Respond:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Respond(status, (*_JSON_HEADERS, *headers), body, tuple(cookies))


def _html(
    status: int,
    body: bytes,
    cookies: Sequence[ResponseCookie] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> Respond:
    return Respond(status, (*_HTML_HEADERS, *headers), body, tuple(cookies))


def _header_safe(value: str) -> bool:
    """No control characters (header injection) in a header value."""
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def _redirect(location: str, cookies: Sequence[ResponseCookie], status: int = 302) -> Respond:
    """A redirect; a location with control characters is refused, non-ASCII is percent-encoded."""
    if not _header_safe(location):
        raise AuthplugError("a redirect location contains control characters", code="bad_redirect")
    if not location.isascii():
        location = quote(location, safe=":/?#[]@!$&'()*+,;=%-._~")
    if not 300 <= status <= 399:
        status = 302
    return Respond(status, (("location", location), *_REDIRECT_HEADERS), b"", tuple(cookies))


def _describe(value: object) -> str:
    """A secret-free one-word description of a hook's result, for traces."""
    if value is None:
        return "None"
    if isinstance(value, AuthenticatedUser):
        return "user"
    return type(value).__name__


class Lifecycle:
    """The per-request decision for one host (see the module docstring).

    :param host: The loaded host: config, hooks, routes, sessions, store, access.
    :param runtime: How this host runs blocking calls and single-flight groups.
    :param hooks: Hook calls to use (default ``host.hooks``; the WSGI host
        passes calls bridged to its background loop).
    :param routes: Provider routes by path (default ``host.routes``).
    :param clock: Epoch-seconds clock, injectable for tests.
    """

    def __init__(
        self,
        host: Host,
        runtime: Runtime,
        *,
        hooks: HookCalls | None = None,
        routes: Mapping[str, Route] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = host.config
        self.host = host
        self._runtime = runtime
        self._hooks = hooks if hooks is not None else host.hooks
        self._routes: Mapping[str, Route] = routes if routes is not None else host.routes
        self._sessions = host.sessions
        self._store = host.store
        self._access = host.access
        self._clock = clock
        self._stateless = host.stateless
        self._has_extensions = self._hooks.has_extensions
        self._validate_interval = float(config.validate_interval)
        self._refresh_margin = float(config.refresh_margin)
        self._default_redirect = config.default_redirect
        self._public_exact = frozenset(p.rstrip("/") or p for p in config.public_paths)
        self._public_prefixes = tuple(
            p if p.endswith("/") else p + "/" for p in config.public_paths
        )
        self._tracer: DebugTracer | None = DebugTracer() if config.debug else None
        self._logout_tokens = _LogoutTokens([k.get_secret_value() for k in config.cookie_keys])
        self._refresh_flight: SingleFlight[SessionUser] = runtime.new_flight(clock)
        self._validate_flight: SingleFlight[SessionUser | None] = runtime.new_flight(clock)

    # -- classification --------------------------------------------------------

    def classify(self, path: str) -> PathKind:
        """Whether ``path`` is public, an ``/auth/*`` route or protected.

        Public: listed in ``config.public_paths`` exactly, or below one at a
        ``/`` boundary; a path with ``.``/``..`` segments is never public, so
        ``/static/../admin`` cannot borrow a public prefix.
        """
        if path.startswith(_AUTH_PREFIX) or path == "/auth":
            return PathKind.AUTH
        if path in self._public_exact or path.startswith(self._public_prefixes):
            if "/." in path and any(seg in (".", "..") for seg in path.split("/")):
                return PathKind.PROTECTED
            return PathKind.PUBLIC
        return PathKind.PROTECTED

    # -- protected paths -------------------------------------------------------

    async def protect(
        self,
        request: AuthRequest,
        cookie_headers: Sequence[tuple[bytes, bytes]] | None = None,
    ) -> Outcome:
        """Decide a request for a protected path. Never raises.

        :param request: The request (no body needed).
        :param cookie_headers: The request's ``cookie`` header pairs when the
            host can give them more cheaply than ``request.headers`` (WSGI).
        """
        tracer = self._tracer
        started = time.perf_counter() if tracer is not None else 0.0
        try:
            outcome = await self._protect(request, cookie_headers)
        except AuthplugError as exc:
            outcome = self._error(request, exc)
        except Exception as exc:
            outcome = self._internal_error(request, exc)
        if tracer is not None:
            tracer.request_done(request.path, started, self._describe_outcome(outcome))
        return outcome

    async def _protect(
        self, request: AuthRequest, cookie_headers: Sequence[tuple[bytes, bytes]] | None
    ) -> Outcome:
        if self._stateless:
            return await self._without_session(request, (), 0)
        headers = request.headers if cookie_headers is None else cookie_headers
        size = 0
        for name, value in headers:
            if name == b"cookie":
                size += len(value)
        if size > MAX_COOKIE_HEADER:
            return self._status(
                request,
                431,
                "cookie_too_large",
                "Cookies too large",
                "The request carries too many cookies.",
            )
        now = self._clock()
        read = self._sessions.read(headers, now)
        session = read.session
        if session is None:
            if self._tracer is not None:
                self._tracer.step("session", outcome=read.outcome)
            return await self._without_session(request, read.clear, read.chunk_count)
        if now - session.validated_at >= self._validate_interval or self._expiring(
            session.user, now
        ):
            return await self._revalidate(request, read, session, now)
        touched = self._sessions.touch(session, now)
        if touched is not None or read.needs_reseal:
            cookies = self._sessions.write(
                touched if touched is not None else session,
                previous_chunk_count=read.chunk_count,
            )
            return self._admit(request, session.user, cookies)
        if self._access.rules:
            return self._admit(request, session.user, ())
        return Proceed(session.user)

    def _expiring(self, user: AuthenticatedUser[Any, Any], now: float) -> bool:
        """Whether ``auth_data["expires_at"]`` (epoch seconds) is within ``refresh_margin``."""
        auth_data = user.auth_data
        if not auth_data:
            return False
        raw = auth_data.get("expires_at")
        if raw is None:
            return False
        try:
            expires_at = float(raw)
        except ValueError:
            return False
        return expires_at - now <= self._refresh_margin

    def _admit(
        self,
        request: AuthRequest,
        user: AuthenticatedUser[Any, Any],
        cookies: Sequence[ResponseCookie],
    ) -> Outcome:
        """Apply access rules to the known user; ``Proceed`` or a 403."""
        if self._access.rules and self._access.decide(request.path, user) is Decision.DENY:
            if self._tracer is not None:
                self._tracer.step("access", decision="deny", user=user)
            return self._forbidden(request, cookies)
        return Proceed(user, tuple(cookies))

    # -- validation and refresh --------------------------------------------------

    async def _revalidate(
        self, request: AuthRequest, read: SessionRead, session: SessionData, now: float
    ) -> Outcome:
        refresh = self._expiring(session.user, now)
        if self._tracer is not None:
            self._tracer.step("session", outcome="due", action="refresh" if refresh else "validate")
        try:
            new_user: SessionUser | None
            if refresh:
                new_user = await self._refresh_flight.run(
                    session.sid, lambda: self._do_refresh(session)
                )
            else:
                new_user = await self._validate_flight.run(
                    session.sid, lambda: self._do_validate(request, session)
                )
        except ForceUserToReauthenticateError as exc:
            if self._tracer is not None:
                self._tracer.step("session", outcome="ended", reason=exc.code)
            cleared = self._sessions.clear(read.chunk_count)
            return await self._without_session(request, cleared, read.chunk_count)
        update: dict[str, Any] = {"validated_at": now, "last_seen_at": now}
        if new_user is not None:
            update["user"] = new_user
        renewed = session.model_copy(update=update)
        cookies = self._sessions.write(renewed, previous_chunk_count=read.chunk_count)
        return self._admit(request, renewed.user, cookies)

    async def _do_refresh(self, session: SessionData) -> SessionUser:
        """The single-flight leader's refresh: hook, mapping, store update."""
        user = await self._timed("authplug_refresh", self._hooks.refresh(session.user))
        return await self._adopt(user)

    async def _do_validate(self, request: AuthRequest, session: SessionData) -> SessionUser | None:
        """The single-flight leader's validation: hook, mapping and store update on change."""
        user = await self._timed("authplug_validate", self._hooks.validate(request, session.user))
        if user is None:
            return None
        return await self._adopt(user)

    async def _adopt(self, user: AuthenticatedUser[Any, Any]) -> SessionUser:
        """Map an updated user, save it to the store and return it as the session holds it."""
        if self._has_extensions:
            user = await self._timed("map_user", self._hooks.map_user(user))
        stored = SessionUser.model_validate(user.model_dump())
        view = stored.tool_view()
        moment = datetime.fromtimestamp(self._clock(), tz=UTC)
        await self._runtime.run_blocking(lambda: self._store.update(view, moment))
        return stored

    # -- no session: authenticate --------------------------------------------------

    async def _without_session(
        self, request: AuthRequest, cookies: Sequence[ResponseCookie], chunk_count: int
    ) -> Outcome:
        """Step 4: ``authplug_authenticate`` decides (login, redirect, page or 401)."""
        flow: FlowTransactions | None = None
        browser = not request.wants_json
        if not self._stateless:
            flow = self._sessions.open_flow(request.headers, self._clock())
            if browser:
                flow.set_return_to(safe_return_to(self._return_path(request)))
            request.flow = flow
        try:
            result = await self._timed("authplug_authenticate", self._hooks.authenticate(request))
        except NotAuthenticatedError as exc:
            return self._unauthenticated(request, exc, _merge_cookies(cookies, _flow(flow)))
        except AuthplugError as exc:
            return self._error(request, exc, _merge_cookies(cookies, _flow(flow)))
        if isinstance(result, Authenticated):
            if self._stateless:
                user: AuthenticatedUser[Any, Any] = result.user
                if self._has_extensions:
                    user = await self._timed("map_user", self._hooks.map_user(user))
                return self._admit(request, user, _merge_cookies(cookies, result.cookies))
            session, login_cookies = await self._login(request, result.user, chunk_count)
            return self._admit(
                request,
                session.user,
                _merge_cookies(cookies, result.cookies, login_cookies, _flow(flow)),
            )
        out = _merge_cookies(cookies, result.cookies, _flow(flow))
        if isinstance(result, Redirect):
            if not browser:
                headers = (
                    (("www-authenticate", "Bearer"),)
                    if _is_bearer(request) or (self._stateless)
                    else ()
                )
                return _json(
                    401,
                    {"error": "not_authenticated", "message": "authentication required"},
                    out,
                    headers,
                )
            return _redirect(result.location, out, result.status)
        return self._provider_response(result, out)

    @staticmethod
    def _return_path(request: AuthRequest) -> str:
        """The request's path and query, percent-encoded, as a ``return_to`` candidate."""
        path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
        if request.query_string:
            return f"{path}?{request.query_string.decode('latin-1')}"
        return path

    async def _login(
        self, request: AuthRequest, user: AuthenticatedUser[Any, Any], previous_chunks: int
    ) -> tuple[SessionData, tuple[ResponseCookie, ...]]:
        """Open a new session (new sid), save the user and fire ``logged_in``."""
        if self._has_extensions:
            user = await self._timed("map_user", self._hooks.map_user(user))
        now = self._clock()
        session = self._sessions.new_session(user, now)
        cookies = self._sessions.write(session, previous_chunk_count=previous_chunks)
        view = session.user.tool_view()
        moment = datetime.fromtimestamp(now, tz=UTC)
        await self._runtime.run_blocking(lambda: self._store.record_login(view, moment))
        await self._timed("authplug_logged_in", self._hooks.logged_in(request, session.user))
        if self._tracer is not None:
            self._tracer.step("login", user=session.user)
        return session, cookies

    # -- /auth/* ---------------------------------------------------------------------

    async def auth_route(self, request: AuthRequest) -> Respond:
        """Answer an ``/auth/*`` request (the body already read). Never raises.

        ``/auth/logout`` is the core's; other paths go to the provider's
        routes (unknown: 404, wrong method: 405). A route's
        :class:`~authplug.results.Authenticated` logs the user in and
        redirects to a safe ``return_to``. Never redirects to login.
        """
        tracer = self._tracer
        started = time.perf_counter() if tracer is not None else 0.0
        try:
            outcome = await self._auth_route(request)
        except AuthplugError as exc:
            outcome = self._error(request, exc)
        except Exception as exc:
            outcome = self._internal_error(request, exc)
        if tracer is not None:
            tracer.request_done(request.path, started, self._describe_outcome(outcome))
        return outcome

    async def _auth_route(self, request: AuthRequest) -> Respond:
        if request.path == LOGOUT_PATH:
            return await self._logout(request)
        route = self._routes.get(request.path)
        if route is None:
            return self._status(request, 404, "not_found", "Not found", "No such page.")
        if request.method not in route.methods:
            allow = ", ".join(sorted(route.methods))
            return self._status(
                request,
                405,
                "method_not_allowed",
                "Method not allowed",
                "This page does not accept that method.",
                (("allow", allow),),
            )
        now = self._clock()
        flow = self._sessions.open_flow(request.headers, now)
        recording = _RecordingFlow(flow)
        request.flow = recording
        try:
            result = await self._timed(f"route {route.path}", self._hooks.route(route, request))
        except NotAuthenticatedError as exc:
            return self._unauthenticated(request, exc, flow.cookies())
        except AuthplugError as exc:
            return self._error(request, exc, flow.cookies())
        if isinstance(result, Authenticated):
            read = self._sessions.read(request.headers, now)
            _session, login_cookies = await self._login(request, result.user, read.chunk_count)
            consumed = recording.consumed
            target = (
                safe_return_to(result.redirect_to)
                or safe_return_to(consumed.return_to if consumed is not None else None)
                or self._default_redirect
            )
            cookies = _merge_cookies(read.clear, result.cookies, login_cookies, flow.cookies())
            return _redirect(target, cookies)
        out = _merge_cookies(result.cookies, flow.cookies())
        if isinstance(result, Redirect):
            return _redirect(result.location, out, result.status)
        return self._provider_response(result, out)

    # -- logout ----------------------------------------------------------------------

    async def _logout(self, request: AuthRequest) -> Respond:
        """GET: a confirmation form. POST with a valid token: end the session."""
        if request.method not in ("GET", "POST"):
            return self._status(
                request,
                405,
                "method_not_allowed",
                "Method not allowed",
                "Use the sign-out form.",
                (("allow", "GET, POST"),),
            )
        read = self._sessions.read(request.headers, self._clock())
        session = read.session
        if request.method == "GET":
            if session is None:
                body = _page(
                    "Signed out",
                    "You are not signed in.",
                    f'<p><a href="{html.escape(self._default_redirect)}">Continue</a></p>',
                )
                return _html(200, body, read.clear)
            token = self._logout_tokens.token(session.sid)
            form = (
                f'<form method="post" action="{LOGOUT_PATH}">'
                f'<input type="hidden" name="{_CSRF_FIELD}" value="{html.escape(token)}">'
                '<button type="submit">Sign out</button></form>'
            )
            return _html(200, _page("Sign out", "Do you want to sign out?", form))
        if session is None:
            return _redirect(
                self._default_redirect, self._sessions.clear(read.chunk_count), status=303
            )
        supplied = request.form.get(_CSRF_FIELD, "")
        if not supplied or not self._logout_tokens.verify(session.sid, supplied):
            if self._tracer is not None:
                self._tracer.step("logout", outcome="refused", reason="bad csrf token")
            return self._status(
                request,
                403,
                "csrf_failed",
                "Sign-out refused",
                "The sign-out form expired or came from another site. Please try again.",
            )
        cleared = self._sessions.clear(read.chunk_count)
        user = session.user
        await self._timed("authplug_logged_out", self._hooks.logged_out(request, user))
        try:
            redirect = await self._timed("authplug_logout", self._hooks.logout(request, user))
        except AuthplugError as exc:
            _log.warning("authplug_logout failed (%s); signed out locally only", exc.code)
            redirect = None
        if self._tracer is not None:
            self._tracer.step("logout", outcome="done", user=user)
        if redirect is not None:
            return _redirect(
                redirect.location, _merge_cookies(cleared, redirect.cookies), redirect.status
            )
        return _redirect(self._default_redirect, cleared, status=303)

    # -- responses ---------------------------------------------------------------------

    @staticmethod
    def _provider_response(result: ProviderResponse, cookies: Sequence[ResponseCookie]) -> Respond:
        headers = tuple(
            (k.lower(), v)
            for k, v in result.headers
            if k.lower() != "set-cookie" and _header_safe(k) and _header_safe(v)
        )
        if not any(k == "content-type" for k, _ in headers):
            headers = (("content-type", result.content_type), *headers)
        return Respond(result.status, headers, result.body, tuple(cookies))

    def _status(
        self,
        request: AuthRequest,
        status: int,
        code: str,
        title: str,
        text: str,
        headers: Sequence[tuple[str, str]] = (),
        cookies: Sequence[ResponseCookie] = (),
    ) -> Respond:
        """A JSON error for API clients, a small HTML page for browsers."""
        if request.wants_json:
            return _json(status, {"error": code, "message": text}, cookies, headers)
        return _html(status, _page(title, text), cookies, headers)

    def _forbidden(self, request: AuthRequest, cookies: Sequence[ResponseCookie]) -> Respond:
        return self._status(
            request,
            403,
            "forbidden",
            "Access denied",
            "You are signed in but not allowed to see this page.",
            cookies=cookies,
        )

    def _unauthenticated(
        self, request: AuthRequest, exc: AuthplugError, cookies: Sequence[ResponseCookie]
    ) -> Respond:
        """401: JSON (RFC 6750 header for bearer requests) or a plain page. Never echoes input."""
        if self._tracer is not None:
            self._tracer.step("authenticate", outcome="rejected", reason=exc.code)
        headers: tuple[tuple[str, str], ...] = ()
        if _is_bearer(request):
            headers = (("www-authenticate", 'Bearer error="invalid_token"'),)
        elif self._stateless:
            headers = (("www-authenticate", "Bearer"),)
        if request.wants_json:
            return _json(
                401,
                {
                    "error": "not_authenticated",
                    "reason": exc.code,
                    "message": "authentication failed",
                },
                cookies,
                headers,
            )
        body = _page("Not signed in", "Your sign-in could not be completed.")
        return _html(401, body, cookies, headers)

    def _error(
        self, request: AuthRequest, exc: AuthplugError, cookies: Sequence[ResponseCookie] = ()
    ) -> Respond:
        """Turn an authplug error into its status with a generic page (no secrets)."""
        if isinstance(exc, NotAuthenticatedError | ForceUserToReauthenticateError):
            return self._unauthenticated(request, exc, cookies)
        if self._tracer is not None:
            self._tracer.step("error", code=exc.code, status=exc.status)
        if isinstance(exc, ProviderUnavailableError):
            _log.warning("identity provider %r unavailable (%s)", exc.provider, exc.code)
            text = f"The identity provider {exc.provider!r} is unavailable. Try again later."
            return self._status(
                request,
                503,
                exc.code,
                "Sign-in unavailable",
                text,
                (("retry-after", "30"),),
                cookies,
            )
        status = exc.status if 400 <= exc.status <= 599 else 500
        if status >= 500:
            _log.error("authplug error %s (%s)", type(exc).__name__, exc.code)
        return self._status(
            request,
            status,
            exc.code,
            "Sign-in problem",
            "The request could not be completed.",
            cookies=cookies,
        )

    def _internal_error(self, request: AuthRequest, exc: Exception) -> Respond:
        """An unexpected failure inside authplug: a generic 500, logged without secrets."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
        _log.error("authplug internal error %s at %s", type(exc).__name__, where)
        return self._status(
            request,
            500,
            "internal_error",
            "Something went wrong",
            "The request could not be completed.",
        )

    # -- tracing -----------------------------------------------------------------------

    async def _timed(self, name: str, call: Awaitable[T]) -> T:
        """Await a hook call, tracing its duration and outcome when debug is on."""
        tracer = self._tracer
        if tracer is None:
            return await call
        started = time.perf_counter()
        try:
            result = await call
        except Exception as exc:
            tracer.hook(name, started, f"raised {type(exc).__name__}")
            raise
        tracer.hook(name, started, _describe(result))
        return result

    @staticmethod
    def _describe_outcome(outcome: Outcome) -> str:
        if isinstance(outcome, Proceed):
            return f"proceed {summarize_user(outcome.user)} ({len(outcome.cookies)} cookies)"
        return f"respond {outcome.status} ({len(outcome.cookies)} cookies)"


def _flow(flow: FlowTransactions | None) -> tuple[ResponseCookie, ...]:
    return flow.cookies() if flow is not None else ()

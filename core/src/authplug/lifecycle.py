"""The per-request lifecycle: the one authentication decision both hosts drive.

:class:`Lifecycle` takes a framework-neutral :class:`~authplug.request.AuthRequest`
and answers with an :data:`Outcome`: :class:`Proceed` (call the application
with this user, appending these cookies) or :class:`Respond` (answer the
request ourselves: a redirect, a login page, a 401/403/503). It performs no
I/O of its own: hosts read the request and write the response. The answers
are built in :mod:`authplug.responses`; the logout route lives in
:mod:`authplug.logout`; revocation in :mod:`authplug.revocation`.

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
2. ``/auth/*`` goes to :meth:`Lifecycle.auth_route`: the core logout page,
   the core sign-in entry point (:mod:`authplug.signin`) or a provider
   route, never a login redirect;
3. a valid session cookie yields the user, unless its session id is revoked
   in this process (then: no session, cookies cleared); ``authplug_validate``
   or ``authplug_refresh`` runs only when due (single-flight per session),
   after asking the store whether another process revoked the session;
4. otherwise ``authplug_authenticate`` decides: login, 302 to the IdP (401
   JSON for API clients), or a provider-rendered page;
5. access rules are applied to the known user (403 on ``DENY``).

Revocation bound: logout (and a new login over an old session) revokes the
session id in this process at once and in the user store. Another process
sharing the store refuses a replayed cookie at that session's next due
validation, i.e. within ``validate_interval`` seconds; until then it accepts
it, because ordinary requests never read the store.

Mounted applications: ``request.path`` is the path inside the application
(matched against public paths, ``/auth/*`` and access rules), while
``return_to`` and every redirect to an application path carry
``request.root_path``.

The hot path (a valid session, no validation due, no rule) calls no hook,
touches no store, does one dict lookup for revocation and allocates one
:class:`Proceed`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

from authplug.access import Decision
from authplug.debug import DebugTracer
from authplug.errors import AuthplugError, ForceUserToReauthenticateError, NotAuthenticatedError
from authplug.hookcalls import HookCalls
from authplug.logout import LOGOUT_PATH, Logout, LogoutTokens
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest, FlowRecord
from authplug.responses import (
    Outcome,
    Proceed,
    Respond,
    StatusResponses,
    app_location,
    describe,
    merge_cookies,
    provider_response,
    redirect,
)
from authplug.results import Authenticated, Redirect, ResponseCookie
from authplug.return_to import safe_return_to
from authplug.revocation import RevokedSessions, SessionRevocation
from authplug.routes import Route
from authplug.session.payload import SessionData, SessionUser
from authplug.signin import SIGN_IN_PATH, SignIn
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
_O = TypeVar("_O", bound=Proceed | Respond)

MAX_AUTH_BODY = 1024 * 1024
"""Largest request body hosts read for an ``/auth/*`` route (bigger: 413)."""

MAX_COOKIE_HEADER = 64 * 1024
"""Largest total ``Cookie`` header accepted on a protected path (bigger: 431, no decrypt)."""

_AUTH_PREFIX = "/auth/"


class PathKind(enum.Enum):
    """How a host must treat a request path (see :meth:`Lifecycle.classify`)."""

    PUBLIC = "public"
    """Pass to the application untouched: no cookie parsing, no user."""
    AUTH = "auth"
    """An ``/auth/*`` route: read the body, call :meth:`Lifecycle.auth_route`."""
    PROTECTED = "protected"
    """Everything else: call :meth:`Lifecycle.protect`."""


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

    def begin(self, data: Mapping[str, str], *, cross_site: bool = False) -> str:
        return self.inner.begin(data, cross_site=cross_site)

    def consume(self, txn_id: str) -> FlowRecord | None:
        record = self.inner.consume(txn_id)
        if record is not None:
            self.consumed = record
        return record


def _describe(value: object) -> str:
    """A secret-free one-word description of a hook's result, for traces."""
    if value is None:
        return "None"
    if isinstance(value, AuthenticatedUser):
        return "user"
    return type(value).__name__


def _flow(flow: FlowTransactions | None) -> tuple[ResponseCookie, ...]:
    return flow.cookies() if flow is not None else ()


class Lifecycle:
    """The per-request decision for one host (see the module docstring).

    :param host: The loaded host: config, hooks, routes, sessions, store, access.
    :param runtime: How this host runs blocking calls and single-flight groups.
    :param hooks: Hook calls to use (default ``host.hooks``; the WSGI host
        passes calls bridged to its background loop).
    :param routes: Provider routes by path (default ``host.routes``).
    :param clock: Epoch-seconds clock, injectable for tests.
    :param revoked: The in-process revocation map (default: a new one bounded
        by ``config.revocation_capacity``); hosts of one process may share it.
    :raises ConfigError: the store cannot record revocations (session providers).
    """

    def __init__(
        self,
        host: Host,
        runtime: Runtime,
        *,
        hooks: HookCalls | None = None,
        routes: Mapping[str, Route] | None = None,
        clock: Callable[[], float] | None = None,
        revoked: RevokedSessions | None = None,
    ) -> None:
        config = host.config
        clock = time.time if clock is None else clock
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
        self._responses = StatusResponses(self._tracer, stateless=self._stateless)
        if not self._stateless:
            SessionRevocation.require_support(host.store)
        self.revocation = SessionRevocation(
            revoked if revoked is not None else RevokedSessions(config.revocation_capacity),
            host.store,
            runtime.run_blocking,
            config.absolute_lifetime,
        )
        self._is_revoked = self.revocation.revoked.is_revoked
        # Stateless providers authenticate every request; debug tracing wants
        # every decision logged: both always take the full path.
        self._full_path_only = self._stateless or self._tracer is not None
        self._logout = Logout(
            sessions=self._sessions,
            hooks=self._hooks,
            revocation=self.revocation,
            responses=self._responses,
            tokens=LogoutTokens([k.get_secret_value() for k in config.cookie_keys]),
            default_redirect=self._default_redirect,
            timed=self._timed,
            tracer=self._tracer,
            clock=clock,
        )
        self._sign_in = SignIn(
            sessions=self._sessions,
            hooks=self._hooks,
            responses=self._responses,
            is_revoked=self._is_revoked,
            login=self._login,
            default_redirect=self._default_redirect,
            stateless=self._stateless,
            timed=self._timed,
            clock=clock,
        )
        self._refresh_flight: SingleFlight[SessionUser] = runtime.new_flight(clock)
        self._validate_flight: SingleFlight[SessionUser | None] = runtime.new_flight(clock)

    # -- classification --------------------------------------------------------

    def classify(self, path: str) -> PathKind:
        """Whether ``path`` (inside the application) is public, an ``/auth/*`` route or protected.

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

    def session_user(
        self, headers: Sequence[tuple[bytes, bytes]], path: str
    ) -> AuthenticatedUser[Any, Any] | None:
        """The hot path, synchronous: the user of a session that needs nothing.

        Hosts call this first for a protected path, before building an
        :class:`~authplug.request.AuthRequest` or a coroutine. It returns the
        user only when the request carries a valid, unrevoked session with no
        validation or refresh due, no cookie to write and no access rule
        denying ``path``. ``None`` means "not that simple": the host then
        calls :meth:`protect`, which decides every other case (and reads the
        cookie again, which happens at most about once a minute per session).

        :param headers: ASGI-style header pairs (only ``cookie`` ones are read).
        :param path: The path inside the application, for access rules.
        """
        if self._full_path_only:
            return None
        size = 0
        for name, value in headers:
            if name == b"cookie":
                size += len(value)
        if size == 0 or size > MAX_COOKIE_HEADER:
            return None
        now = self._clock()
        read = self._sessions.read(headers, now)
        session = read.session
        if session is None or read.needs_reseal or read.clear:
            return None
        user = session.user
        if (
            now - session.validated_at >= self._validate_interval
            or self._expiring(user, now)
            or self._is_revoked(session.sid, now)
            or self._sessions.touch(session, now) is not None
        ):
            return None
        if self._access.rules and self._access.decide(path, user) is Decision.DENY:
            return None
        return user

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
        return await self._guarded(request, self._protect(request, cookie_headers))

    async def _guarded(self, request: AuthRequest, decision: Awaitable[_O]) -> _O | Respond:
        """Await a decision; errors become their status (500 when unexpected); trace it."""
        tracer = self._tracer
        started = time.perf_counter() if tracer is not None else 0.0
        outcome: _O | Respond
        try:
            outcome = await decision
        except AuthplugError as exc:
            outcome = self._responses.error(request, exc)
        except Exception as exc:
            outcome = self._responses.internal_error(request, exc)
        if tracer is not None:
            tracer.request_done(request.path, started, describe(outcome))
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
            return self._responses.cookie_too_large(request)
        now = self._clock()
        read = self._sessions.read(headers, now)
        session = read.session
        if session is None:
            if self._tracer is not None:
                self._tracer.step("session", outcome=read.outcome)
            return await self._without_session(request, read.clear, read.chunk_count)
        if self._is_revoked(session.sid, now):
            return await self._revoked_session(request, read)
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

    async def _revoked_session(self, request: AuthRequest, read: SessionRead) -> Outcome:
        """A revoked session (logged out, replaced by a login): no session, cookies cleared."""
        if self._tracer is not None:
            self._tracer.step("session", outcome="revoked")
        cleared = self._sessions.clear(read.chunk_count, self._flow_names(request))
        return await self._without_session(request, cleared, read.chunk_count)

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
            return self._responses.forbidden(request, cookies)
        return Proceed(user, tuple(cookies))

    # -- validation and refresh --------------------------------------------------

    async def _revalidate(
        self, request: AuthRequest, read: SessionRead, session: SessionData, now: float
    ) -> Outcome:
        """Step 3 when due: the store's revocation record, then validate or refresh."""
        if await self.revocation.check_store(session, now):
            return await self._revoked_session(request, read)
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
            cleared = self._sessions.clear(read.chunk_count, self._flow_names(request))
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
            return self._responses.unauthenticated(
                request, exc, merge_cookies(cookies, _flow(flow))
            )
        except AuthplugError as exc:
            return self._responses.error(request, exc, merge_cookies(cookies, _flow(flow)))
        if isinstance(result, Authenticated):
            if self._stateless:
                user: AuthenticatedUser[Any, Any] = result.user
                if self._has_extensions:
                    user = await self._timed("map_user", self._hooks.map_user(user))
                return self._admit(request, user, merge_cookies(cookies, result.cookies))
            session, login_cookies = await self._login(request, result.user, chunk_count)
            return self._admit(
                request,
                session.user,
                merge_cookies(cookies, result.cookies, login_cookies, _flow(flow)),
            )
        out = merge_cookies(cookies, result.cookies, _flow(flow))
        if isinstance(result, Redirect):
            if not browser:
                return self._responses.not_authenticated_json(request, out)
            return redirect(app_location(request.root_path, result.location), out, result.status)
        return provider_response(result, out)

    def _flow_names(self, request: AuthRequest) -> tuple[str, ...]:
        """The request's flow cookies, cleared with the session when it ends."""
        return self._sessions.flow_cookie_names(request.headers)

    @staticmethod
    def _return_path(request: AuthRequest) -> str:
        """The request's URL path (mount prefix included) and query, as a ``return_to``."""
        path = quote(request.root_path + request.path, safe="/:@!$&'()*+,;=-._~")
        if request.query_string:
            return f"{path}?{request.query_string.decode('latin-1')}"
        return path

    async def _login(
        self,
        request: AuthRequest,
        user: AuthenticatedUser[Any, Any],
        previous_chunks: int,
        previous: SessionData | None = None,
    ) -> tuple[SessionData, tuple[ResponseCookie, ...]]:
        """Open a new session (new sid), save the user and fire ``logged_in``.

        A ``previous`` session the request carried is revoked first (anti-fixation:
        its cookie, wherever it was copied to, is dead after this login).
        """
        if self._has_extensions:
            user = await self._timed("map_user", self._hooks.map_user(user))
        now = self._clock()
        if previous is not None:
            await self.revocation.revoke(previous, now)
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

        ``/auth/logout`` and ``/auth/login`` (:mod:`authplug.signin`) are the
        core's; other paths go to the provider's
        routes (unknown: 404, wrong method: 405). A route's
        :class:`~authplug.results.Authenticated` logs the user in and
        redirects to a safe ``return_to``. Never redirects to login.
        """
        return await self._guarded(request, self._auth_route(request))

    async def _auth_route(self, request: AuthRequest) -> Respond:
        if request.path == LOGOUT_PATH:
            return await self._logout.handle(request)
        if request.path == SIGN_IN_PATH:
            return await self._sign_in.handle(request)
        route = self._routes.get(request.path)
        if route is None:
            return self._responses.not_found(request)
        if request.method not in route.methods:
            return self._responses.method_not_allowed(
                request, ", ".join(sorted(route.methods)), "This page does not accept that method."
            )
        now = self._clock()
        flow = self._sessions.open_flow(request.headers, now)
        recording = _RecordingFlow(flow)
        request.flow = recording
        try:
            result = await self._timed(f"route {route.path}", self._hooks.route(route, request))
        except NotAuthenticatedError as exc:
            return self._responses.unauthenticated(request, exc, flow.cookies())
        except AuthplugError as exc:
            return self._responses.error(request, exc, flow.cookies())
        root = request.root_path
        if isinstance(result, Authenticated):
            read = self._sessions.read(request.headers, now)
            _session, login_cookies = await self._login(
                request, result.user, read.chunk_count, read.session
            )
            consumed = recording.consumed
            chosen = safe_return_to(result.redirect_to)
            if chosen is not None:
                target = app_location(root, chosen)
            else:
                captured = safe_return_to(consumed.return_to if consumed is not None else None)
                target = captured or app_location(root, self._default_redirect)
            cookies = merge_cookies(read.clear, result.cookies, login_cookies, flow.cookies())
            return redirect(target, cookies)
        out = merge_cookies(result.cookies, flow.cookies())
        if isinstance(result, Redirect):
            return redirect(app_location(root, result.location), out, result.status)
        return provider_response(result, out)

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

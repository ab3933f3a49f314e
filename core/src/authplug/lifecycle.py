"""The per-request lifecycle: the one authentication decision both hosts drive.

:class:`Lifecycle` takes a framework-neutral :class:`~authplug.request.AuthRequest`
and answers with an :data:`Outcome`: :class:`Proceed` (call the application
with this user, appending these cookies) or :class:`Respond` (answer the
request ourselves: a redirect, a login page, a 401/403/503). It performs no
I/O of its own: hosts read the request and write the response. The answers
are built in :mod:`authplug.responses`; the logout route lives in
:mod:`authplug.logout`; revocation in :mod:`authplug.revocation`.

Shape: one flow, two drivers (httpx's sync/async split is the model). The
lifecycle is an ``async`` core; everything that differs between the hosts
is on the :class:`Runtime` it is given, so ``Lifecycle(host, runtime)`` is
the whole constructor: how blocking store calls run, how the awaitables of
``async`` hook implementations are resolved, and which single-flight group
shares a refresh. The ASGI host awaits the lifecycle on its event loop. The
WSGI host steps the coroutine synchronously (``send(None)`` once): its
runtime never suspends, because it runs store calls directly, waits for
single-flight leaders on thread events and resolves awaitables on one
background event loop (see :mod:`authplug.wsgi`). Sync hook implementations
are thus called directly in either host.

Process-wide state (revocation, logout token keys, the tracer, the error
answers, single-flight groups) belongs to the :class:`~authplug.host.Host`,
created once by :func:`~authplug.host.build_host`; every lifecycle over one
host shares it.

One session decision: :meth:`Lifecycle.classify_cookie` is the only place
a read session is judged (:class:`SessionState`), given the request's Cookie
header value (several Cookie headers are judged as one, joined with ``"; "``:
:meth:`Lifecycle.classify_session`). The synchronous fast path
(:meth:`Lifecycle.session_user`) and the full path (:meth:`Lifecycle.protect`)
both call it, so a check added there holds on every path.

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
session id in this process at once and in the user store. With the default
in-process coordination, another process sharing the store refuses a
replayed cookie at that session's next due validation, i.e. within
``validate_interval`` seconds, because ordinary requests never read the
store. With a shared coordination backend (:mod:`authplug.coordination`)
the revocation is broadcast and every process refuses it at once.

Many processes (:mod:`authplug.coordination`): with a shared backend a
refresh runs once across every process (:class:`~authplug.coordination.handoff.RefreshHandOff`
behind the in-process single-flight), the waiting processes taking the
holder's sealed result. Failure policy while the store or the backend is
down: the hot path touches neither and keeps working; a due validation
answers 503 naming the backend (``failure_policy = "fail_closed"``) or
carries on with what this process knows (``"stay_available"``); a new
login answers 503 naming the backend; a refresh's answer is never dropped
for a failed store update (it is logged and saved at the next validation).

Mounted applications: ``request.path`` is the path inside the application
(matched against public paths, ``/auth/*`` and access rules), while
``return_to`` and every redirect to an application path carry
``request.root_path``.

The hot path (a valid session, no validation due, no rule denying) calls no
hook, touches no store, builds no request object and no coroutine, and does
one dict lookup for revocation.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar
from urllib.parse import quote

from authplug.access import Decision
from authplug.bounded_map import BoundedMap
from authplug.coordination.base import CoordinationError
from authplug.coordination.handoff import RefreshHandOff
from authplug.environ_headers import environ_lookup
from authplug.errors import (
    AuthplugError,
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderError,
)
from authplug.fast_answers import RememberedAnswers, recording
from authplug.incidents import report_failure
from authplug.logout import LOGOUT_PATH, Logout
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest, FlowRecord, HeaderLookup
from authplug.request_path import path_problem, refusal
from authplug.responses import (
    Outcome,
    Proceed,
    Respond,
    app_location,
    describe,
    merge_cookies,
    provider_response,
    redirect,
)
from authplug.results import Authenticated, Redirect, Remembered, ResponseCookie
from authplug.return_to import safe_return_to
from authplug.session.chunks import cookie_header
from authplug.session.manager import SessionRead
from authplug.session.payload import SessionData, SessionUser, as_session_user
from authplug.session.verdicts import ValidVerdict, VerdictCache
from authplug.signin import SIGN_IN_PATH, SignIn
from authplug.singleflight import SingleFlight
from authplug.stores.base import StoreError
from authplug.stores.calls import StoreCalls

if TYPE_CHECKING:
    from authplug.host import Host
    from authplug.session import FlowTransactions

__all__ = [
    "MAX_AUTH_BODY",
    "MAX_COOKIE_HEADER",
    "Lifecycle",
    "PathKind",
    "Runtime",
    "SessionState",
    "SessionVerdict",
]

T = TypeVar("T")
_log = logging.getLogger("authplug.lifecycle")
_O = TypeVar("_O", bound=Proceed | Respond)

MAX_AUTH_BODY = 1024 * 1024
"""Largest request body hosts read for an ``/auth/*`` route (bigger: 413)."""

MAX_COOKIE_HEADER = 64 * 1024
"""Largest total ``Cookie`` header accepted on a protected path (bigger: 431, no decrypt)."""

_AUTH_PREFIX = "/auth/"
_PATH_MEMO = 4096
"""Most (path, kind) answers :meth:`Lifecycle.classify` remembers (then it starts over)."""
_PATH_MEMO_LENGTH = 256
"""Longest path :meth:`Lifecycle.classify` remembers (bounds the memo's memory)."""


class PathKind(enum.Enum):
    """How a host must treat a request path (see :meth:`Lifecycle.classify`)."""

    PUBLIC = "public"
    """Pass to the application untouched: no cookie parsing, no user."""
    AUTH = "auth"
    """An ``/auth/*`` route: read the body, call :meth:`Lifecycle.auth_route`."""
    PROTECTED = "protected"
    """Everything else: call :meth:`Lifecycle.protect`."""
    REFUSED = "refused"
    """An ambiguous path (:mod:`authplug.request_path`): answer :meth:`Lifecycle.refuse_path`."""


class SessionState(enum.Enum):
    """What a request's session cookie means for a protected path.

    Decided by :meth:`Lifecycle.classify_cookie`, the one place that judges
    a read session.
    """

    ABSENT = "absent"
    """No session cookie: authenticate."""
    INVALID = "invalid"
    """A cookie that does not open (tampered, truncated, foreign, malformed, from the
    future): cleared, authenticate."""
    EXPIRED = "expired"
    """Past its idle or absolute lifetime: cleared, authenticate."""
    TOO_LARGE = "too_large"
    """The Cookie header is over :data:`MAX_COOKIE_HEADER`: 431, nothing decrypted."""
    REVOKED = "revoked"
    """Logged out or replaced by a newer login: cleared, authenticate."""
    DUE_REFRESH = "due_refresh"
    """The tokens expire within ``refresh_margin``: ``authplug_refresh`` (single-flight)."""
    DUE_VALIDATION = "due_validation"
    """``validate_interval`` has passed: store revocation record, then ``authplug_validate``."""
    RESEAL = "reseal"
    """Valid, but the cookie must be written again (idle-time touch, or an older key)."""
    DENIED = "denied"
    """Valid, nothing to write, but an access rule denies the path: 403."""
    VALID = "valid"
    """Valid, nothing to do: the user proceeds (the fast path)."""


SessionVerdict: TypeAlias = tuple[SessionState, SessionRead, SessionData | None]
"""``(state, read, touched)``: the state, what was read, and (``RESEAL``) the touched copy."""

_ABSENT = SessionRead(session=None)
# hot-path names: a module global is one dictionary lookup, while a member read
# through its Enum class (``SessionState.VALID``) costs about 90 ns on Python 3.11
_VALID = SessionState.VALID
_DENIED = SessionState.DENIED
_DENY = Decision.DENY
_NEVER = math.inf
_STATE_OF_OUTCOME = {"expired": SessionState.EXPIRED}


class Runtime(Protocol):
    """Everything that differs between the hosts (one flow, two drivers).

    Attributes:
        name: The host kind (``"asgi"``, ``"wsgi"``): hosts of one kind over
            one :class:`~authplug.host.Host` share its single-flight groups.
    """

    name: str
    event_loop: bool
    """Whether the lifecycle is awaited on an event loop (ASGI): a store's async
    methods (:class:`~authplug.stores.base.AsyncUserStore`) are then used."""

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run a synchronous, possibly blocking call (a store method) and return its result."""
        ...

    async def resolve(self, value: object) -> object:
        """Turn a hook's raw return value into a plain one (awaiting or running it)."""
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


def _flow(flow: FlowTransactions | None) -> tuple[ResponseCookie, ...]:
    return flow.cookies() if flow is not None else ()


_HEADER_KEYS: dict[str, bytes] = {}


def _lookup(headers: Sequence[tuple[bytes, bytes]]) -> HeaderLookup:
    """A :data:`~authplug.request.HeaderLookup` over ASGI-style header pairs."""

    def header(name: str) -> str | None:
        key = _HEADER_KEYS.get(name)
        if key is None:
            key = name.lower().encode("latin-1")
            if len(_HEADER_KEYS) < 64:  # the few names providers ask for
                _HEADER_KEYS[name] = key
        for k, v in headers:
            if k == key:
                return v.decode("latin-1")
        return None

    return header


class Lifecycle:
    """The per-request decision for one host (see the module docstring).

    :param host: The loaded host: config, hooks, routes, sessions, store,
        access, and the process-wide state it owns.
    :param runtime: What this host kind does differently (blocking calls,
        awaitables, single-flight).
    :param clock: Epoch-seconds clock, injectable for tests.
    """

    def __init__(
        self,
        host: Host,
        runtime: Runtime,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        config = host.config
        clock = time.time if clock is None else clock
        self.host = host
        self.revocation = host.revocation
        self._runtime = runtime
        self._hooks = host.hooks.with_resolver(runtime.resolve)
        self._routes = host.routes
        self._sessions = host.sessions
        self.store_calls = StoreCalls(
            host.store, runtime.run_blocking, event_loop=runtime.event_loop
        )
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
        self.tracer = host.tracer
        self._responses = host.responses
        self._is_revoked = host.revocation.lookup()
        self._touch_after = host.sessions.touch_after
        self._has_rules = bool(self._access.rules)
        self._raw_path_kinds: dict[bytes | str, tuple[str, PathKind]] = {}
        self._plain_path_kinds: dict[bytes | str, tuple[str, PathKind]] = {}
        self.remembered_kind: Callable[[Any], tuple[str, PathKind] | None] = (
            self._raw_path_kinds.get
        )
        """Raw path -> ``(path, kind)`` that :meth:`classify` remembered, or ``None``.

        For the hosts' hot path (a lookup without a call): the kind holds only
        when the remembered path is the request's path; otherwise, or when
        nothing is remembered, call :meth:`classify`."""
        self.remembered_path_kind: Callable[[str], tuple[str, PathKind] | None] = (
            self._plain_path_kinds.get
        )
        """:attr:`remembered_kind` for a request the host has no raw path for (keyed by path)."""
        # Stateless providers authenticate every request; debug tracing wants
        # every decision logged: both always take the full path.
        self._full_path_only = self._stateless or self.tracer.enabled
        self._verdicts: VerdictCache | None = (
            BoundedMap(config.session_cache_size)
            if config.session_cache_size and not self._full_path_only
            else None
        )
        # A stateless provider's own fast path (issue #16): only when nothing
        # needs the async path (extension hooks may be async) or a trace.
        self._fast_authenticate = (
            host.fast_authenticate
            if self._stateless and not self._has_extensions and not self.tracer.enabled
            else None
        )
        self._answers = (
            RememberedAnswers(config.session_cache_size)
            if self._fast_authenticate is not None and config.session_cache_size
            else None
        )
        self._logout = Logout(host, self._hooks, runtime)
        self._refresh_flight: SingleFlight[SessionUser] = host.single_flight(
            f"{runtime.name}:refresh", lambda: runtime.new_flight(clock)
        )
        self._validate_flight: SingleFlight[SessionUser | None] = host.single_flight(
            f"{runtime.name}:validate", lambda: runtime.new_flight(clock)
        )
        self._sign_in = SignIn(host, self._hooks, self._login)
        self._coordination = host.coordination
        self._stay_available = config.failure_policy == "stay_available"
        self._handoff: RefreshHandOff | None = None
        if host.coordination.shared and not self._stateless:
            self._handoff = RefreshHandOff(
                host.coordination,
                host.sessions.keyring,
                host.sessions.cookie_name,
                runtime.run_blocking,
            )

    # -- classification --------------------------------------------------------

    def classify(self, path: str, raw_path: bytes | str | None = None) -> PathKind:
        """Whether ``path`` (inside the application) is public, an ``/auth/*`` route or protected.

        First of all, a path a normaliser and a router could read differently
        (dot or empty segments, backslashes, encoded separators, control
        characters; ``raw_path`` is the undecoded path when the host has it)
        is ``REFUSED``, so every later decision judges the path the router
        dispatches (see :mod:`authplug.request_path`).

        Public: listed in ``config.public_paths`` exactly, or below one at a
        ``/`` boundary; a path with ``.``/``..`` segments is never public, so
        ``/static/../admin`` cannot borrow a public prefix.
        """
        # Remembered per (raw path, path), or per path when the host has no
        # raw path: two maps, so an answer judged without the raw path's
        # checks never stands for a request that has one.
        key: bytes | str
        if raw_path is None:
            memo, key = self._plain_path_kinds, path
        else:
            memo, key = self._raw_path_kinds, raw_path
            if isinstance(raw_path, str) and "?" in raw_path:  # a WSGI RAW_URI's query
                key = raw_path.partition("?")[0]
        known = memo.get(key)
        if known is not None and known[0] == path:
            return known[1]
        kind = self._classify(path, raw_path)
        if len(key) <= _PATH_MEMO_LENGTH:
            if len(memo) >= _PATH_MEMO:
                memo.clear()
            memo[key] = (path, kind)
        return kind

    def _classify(self, path: str, raw_path: bytes | str | None) -> PathKind:
        """:meth:`classify` without its memo (the answer depends on the two paths only)."""
        if path_problem(path, raw_path) is not None:
            return PathKind.REFUSED
        if path.startswith(_AUTH_PREFIX) or path == "/auth":
            return PathKind.AUTH
        if path in self._public_exact or path.startswith(self._public_prefixes):
            if "/." in path and any(seg in (".", "..") for seg in path.split("/")):
                return PathKind.PROTECTED
            return PathKind.PUBLIC
        return PathKind.PROTECTED

    def classify_session(
        self, headers: Sequence[tuple[bytes, bytes]], path: str, now: float
    ) -> SessionVerdict:
        """:meth:`classify_cookie` for a request's headers: its ``cookie`` headers
        read as one (joined with ``"; "``, as RFC 9113 section 8.2.3 prescribes).

        :param headers: ASGI-style header pairs (only ``cookie`` ones are read).
        :param path: The path inside the application, for access rules.
        :param now: The current time, epoch seconds.
        """
        return self.classify_cookie(cookie_header(headers), path, now)

    def classify_cookie(self, cookie: bytes, path: str, now: float) -> SessionVerdict:
        """The one decision about a request's session cookie, synchronous, no I/O.

        Checks, in order: the Cookie header's size; whether a session opens
        and is within its lifetimes (:meth:`SessionManager.read_cookie
        <authplug.session.SessionManager.read_cookie>`); revocation in this process;
        tokens due for refresh; validation due; a cookie to write again
        (touch, older key); access rules for ``path``. The first that
        applies decides the :class:`SessionState`.

        :param cookie: The request's Cookie header value (``b""`` when it has none).
        :param path: The path inside the application, for access rules.
        :param now: The current time, epoch seconds.
        """
        size = len(cookie)
        if size == 0:
            return SessionState.ABSENT, _ABSENT, None
        if size > MAX_COOKIE_HEADER:
            return SessionState.TOO_LARGE, _ABSENT, None
        read = self._sessions.read_cookie(cookie, now)
        session = read.session
        if session is None:
            if not read.clear:
                return SessionState.ABSENT, read, None
            return _STATE_OF_OUTCOME.get(read.outcome, SessionState.INVALID), read, None
        fields = session.__dict__  # pydantic keeps field values there: one attribute read
        if self._is_revoked(fields["sid"], now):
            return SessionState.REVOKED, read, None
        user = fields["user"]
        if now >= self._refresh_due_at(user):  # tokens within refresh_margin of expiry
            return SessionState.DUE_REFRESH, read, None
        if now - fields["validated_at"] >= self._validate_interval:
            return SessionState.DUE_VALIDATION, read, None
        if read.needs_reseal or now - fields["last_seen_at"] >= self._touch_after:
            return SessionState.RESEAL, read, self._sessions.touch(session, now)
        if self._has_rules and self._access.decide(path, user) is _DENY:
            return _DENIED, read, None
        return _VALID, read, None

    def refuse_path(self, request: AuthRequest) -> Respond:
        """The 400 for a ``REFUSED`` path, before any session or access decision."""
        self.tracer.step("path", outcome="refused")
        return refusal(request, self._responses)

    # -- protected paths -------------------------------------------------------

    def session_user(
        self, headers: Sequence[tuple[bytes, bytes]], path: str
    ) -> AuthenticatedUser[Any, Any] | None:
        """The hot path, synchronous: the user of a session that needs nothing.

        Hosts call this first for a protected path, before building an
        :class:`~authplug.request.AuthRequest` or a coroutine. It returns the
        user only when :meth:`classify_cookie` says
        :attr:`SessionState.VALID`. ``None`` means "not that simple": the
        host then calls :meth:`protect`, which decides every other state
        (and reads the cookie again, which happens at most about once a
        minute per session).

        :param headers: ASGI-style header pairs (only ``cookie`` ones are read).
        :param path: The path inside the application, for access rules.
        """
        cookie: bytes | None = None
        for name, value in headers:
            if name == b"cookie":
                if cookie is not None:  # several Cookie headers (HTTP/2): judged together
                    if self._full_path_only:
                        return None
                    state, read, _ = self.classify_session(headers, path, self._clock())
                    several = read.session  # never remembered: no one header value to key it
                    return several.user if state is _VALID and several is not None else None
                cookie = value
        if cookie is None:
            return None
        return self.cookie_user(cookie, path)

    def cookie_user(self, cookie: bytes | str, path: str) -> AuthenticatedUser[Any, Any] | None:
        """:meth:`session_user` for a request with exactly one Cookie header, ``cookie``.

        The classifier's ``VALID`` answer for a header value is remembered
        (:mod:`authplug.session.verdicts`) for as long as it cannot change;
        a repeated value then costs a dictionary lookup, a time-window check,
        a revocation lookup and the access rules for ``path``.

        :param cookie: The Cookie header's value: ``bytes`` (ASGI) or a
            latin-1 ``str`` (WSGI's ``HTTP_COOKIE``).
        :param path: The path inside the application, for access rules.
        """
        if self._full_path_only:
            return None
        verdicts = self._verdicts
        now = self._clock()
        if verdicts is not None:
            known = verdicts.get(cookie)
            if known is not None:
                if known.earliest <= now < known.until and not self._is_revoked(known.sid, now):
                    user = known.user
                    if self._has_rules and self._access.decide(path, user) is _DENY:
                        return None
                    return user
                verdicts.drop(cookie)
        raw = cookie if isinstance(cookie, bytes) else cookie.encode("latin-1", "replace")
        state, read, _ = self.classify_cookie(raw, path, now)
        session = read.session
        if session is None or (state is not _VALID and state is not _DENIED):
            return None
        if verdicts is not None:  # remember the answer under this exact header value
            earliest, until = self._valid_window(session)
            if earliest <= now < until:
                verdicts.put(cookie, ValidVerdict(session.user, session.sid, earliest, until))
        return session.user if state is _VALID else None

    def _valid_window(self, session: SessionData) -> tuple[float, float]:
        """``[earliest, until)``: when :meth:`classify_cookie` keeps saying ``session`` is valid.

        Its lifetimes (:meth:`SessionManager.valid_window
        <authplug.session.SessionManager.valid_window>`), then the first of:
        tokens due for refresh, validation due, a touch due.
        """
        earliest, latest = self._sessions.valid_window(session)
        until = min(
            latest,
            self._refresh_due_at(session.user),
            session.validated_at + self._validate_interval,
            session.last_seen_at + self._touch_after,
        )
        return earliest, until

    @property
    def fast_path_reads_headers(self) -> bool:
        """Whether :meth:`fast_user` asks the provider (give it a ``header`` lookup)."""
        return self._fast_authenticate is not None

    def fast_user(
        self,
        headers: Sequence[tuple[bytes, bytes]],
        path: str,
        header: HeaderLookup | None = None,
        environ: Mapping[str, Any] | None = None,
    ) -> AuthenticatedUser[Any, Any] | None:
        """The hot path of every protected request, synchronous: the user, or ``None``.

        Session providers: :meth:`session_user`. Stateless providers: their
        ``authplug_authenticate_fast`` (a verified-token cache hit, a token
        checked with a key already held); an answer it returned as
        :class:`~authplug.results.Remembered` is given again from memory for
        the same header values while its window holds
        (:mod:`authplug.fast_answers`). ``None`` means the host calls
        :meth:`protect`, which decides everything else.

        :param headers: ASGI-style header pairs (for a session provider, the
            ``cookie`` ones are enough).
        :param path: The path inside the application, for access rules.
        :param header: How a stateless provider reads headers (default: a
            lookup over ``environ`` when given, else over ``headers``, which
            must then be complete).
        :param environ: The WSGI host's environ (its headers are read from it).
        """
        fast = self._fast_authenticate
        if fast is None:
            return self.session_user(headers, path)
        answers = self._answers
        if answers is not None:
            user = answers.recall(headers, header, environ, self._clock)
            if user is not None:
                if self._has_rules and self._access.decide(path, user) is _DENY:
                    return None
                return user
        if header is not None:
            lookup = header
        elif environ is not None:
            lookup = environ_lookup(environ)
        else:
            lookup = _lookup(headers)
        names: list[str] = []
        if answers is not None:
            lookup, names = recording(lookup)
        try:
            answer: object = fast(lookup)
        except Exception as exc:  # a provider's bug: loud, and the full path decides
            report_failure(exc, "authplug_authenticate_fast (the full path decided)")
            return None
        if answer is None:
            return None
        found: object = answer.user if isinstance(answer, Remembered) else answer
        if not isinstance(found, AuthenticatedUser):
            report_failure(
                ProviderError(
                    f"authplug_authenticate_fast returned {type(answer).__name__}",
                    hook="authplug_authenticate_fast",
                    code="provider_contract_violation",
                ),
                "authplug_authenticate_fast (the full path decided)",
            )
            return None
        if answers is not None and isinstance(answer, Remembered):
            answers.remember(names, (headers, header, environ), answer, self._clock())
        if self._has_rules and self._access.decide(path, found) is _DENY:
            return None
        return found

    def environ_user(
        self, environ: Mapping[str, Any], path: str
    ) -> AuthenticatedUser[Any, Any] | None:
        """:meth:`fast_user` for the WSGI host of a stateless provider: the user, or ``None``.

        An answer kept for this request's exact header value (read straight
        from ``environ``) is given while its window holds, after the access
        rules; anything else (no kept answer, a window that does not hold, a
        header the answers do not depend on alone) is :meth:`fast_user`'s to
        decide. The same decisions as ``fast_user((), path, None, environ)``;
        :meth:`RememberedAnswers.recall <authplug.fast_answers.RememberedAnswers.recall>`
        for one header of the environ, written out (no call, no set-up) on
        the request every authenticated API call makes.

        :param environ: The WSGI environ.
        :param path: The path inside the application, for access rules.
        """
        answers = self._answers
        if answers is not None:
            key = answers.environ_key
            if key is not None:
                value = environ.get(key)
                known = answers.get(value) if value.__class__ is str else None
                if known is not None:
                    now = self._clock()
                    if known.not_before <= now < known.until:
                        user = known.user
                        if self._has_rules and self._access.decide(path, user) is _DENY:
                            return None
                        return user
        return self.fast_user((), path, None, environ)

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
        tracer = self.tracer
        started = time.perf_counter() if tracer.enabled else 0.0
        outcome: _O | Respond
        try:
            outcome = await decision
        except AuthplugError as exc:
            outcome = self._responses.error(request, exc)
        except Exception as exc:
            outcome = self._responses.internal_error(request, exc)
        if tracer.enabled:
            tracer.request_done(request.path, started, describe(outcome))
        return outcome

    async def _protect(
        self, request: AuthRequest, cookie_headers: Sequence[tuple[bytes, bytes]] | None
    ) -> Outcome:
        if self._stateless:
            return await self._without_session(request, (), 0)
        headers = request.headers if cookie_headers is None else cookie_headers
        now = self._clock()
        state, read, touched = self.classify_session(headers, request.path, now)
        session = read.session
        if state is SessionState.VALID and session is not None:
            return Proceed(session.user)
        if state is SessionState.TOO_LARGE:
            return self._responses.cookie_too_large(request)
        if session is None:  # ABSENT, INVALID, EXPIRED
            self.tracer.step("session", outcome=read.outcome)
            return await self._without_session(request, read.clear, read.chunk_count)
        if state is SessionState.REVOKED:
            return await self._revoked_session(request, read)
        if state is SessionState.DUE_REFRESH or state is SessionState.DUE_VALIDATION:
            return await self._revalidate(
                request, read, session, now, refresh=state is SessionState.DUE_REFRESH
            )
        if state is SessionState.RESEAL:
            cookies = self._sessions.write(
                touched if touched is not None else session,
                previous_chunk_count=read.chunk_count,
            )
            return self._admit(request, session.user, cookies)
        return self._admit(request, session.user, ())  # DENIED

    async def _revoked_session(self, request: AuthRequest, read: SessionRead) -> Outcome:
        """A revoked session (logged out, replaced by a login): no session, cookies cleared."""
        self.tracer.step("session", outcome="revoked")
        cleared = self._sessions.clear(read.chunk_count, self._flow_names(request))
        return await self._without_session(request, cleared, read.chunk_count)

    def _refresh_due_at(self, user: AuthenticatedUser[Any, Any]) -> float:
        """When ``user``'s tokens are due for refresh: ``expires_at - refresh_margin``.

        Never (``inf``) without an ``auth_data["expires_at"]`` that reads as a number.
        """
        auth_data = user.auth_data
        raw = auth_data.get("expires_at") if auth_data else None
        if raw is None:
            return _NEVER
        try:
            due = float(raw) - self._refresh_margin
        except ValueError:
            return _NEVER
        return due if due == due else _NEVER  # NaN is never equal to itself

    def _admit(
        self,
        request: AuthRequest,
        user: AuthenticatedUser[Any, Any],
        cookies: Sequence[ResponseCookie],
    ) -> Outcome:
        """Apply access rules to the known user; ``Proceed`` or a 403."""
        if self._access.rules and self._access.decide(request.path, user) is _DENY:
            self.tracer.step("access", decision="deny", user=user)
            return self._responses.forbidden(request, cookies)
        return Proceed(user, tuple(cookies))

    # -- validation and refresh --------------------------------------------------

    async def _revalidate(
        self,
        request: AuthRequest,
        read: SessionRead,
        session: SessionData,
        now: float,
        *,
        refresh: bool,
    ) -> Outcome:
        """Due: the store's revocation record, then validate or refresh (single-flight).

        The session ends (cookies cleared, then authenticate) when the
        provider says so (:class:`ForceUserToReauthenticateError`, a
        :class:`NotAuthenticatedError`) or fails unexpectedly (its traceback
        is logged; a broken provider never keeps a session alive).
        """
        if await self._revoked_in_store(session, now):
            return await self._revoked_session(request, read)
        self.tracer.step("session", outcome="due", action="refresh" if refresh else "validate")
        try:
            new_user: SessionUser | None
            if refresh:
                new_user = await self._refresh_flight.run(
                    session.sid, lambda: self._shared_refresh(session)
                )
            else:
                new_user = await self._validate_flight.run(
                    session.sid, lambda: self._do_validate(request, session)
                )
        except (ForceUserToReauthenticateError, NotAuthenticatedError) as exc:
            self.tracer.step("session", outcome="ended", reason=exc.code)
            cleared = self._sessions.clear(read.chunk_count, self._flow_names(request))
            return await self._without_session(request, cleared, read.chunk_count)
        update: dict[str, Any] = {"validated_at": now, "last_seen_at": now}
        if new_user is not None:
            update["user"] = new_user
        renewed = session.model_copy(update=update)
        cookies = self._sessions.write(renewed, previous_chunk_count=read.chunk_count)
        return self._admit(request, renewed.user, cookies)

    async def _ending_on_failure(self, hook: str, call: Awaitable[T]) -> T:
        """Await a validate/refresh call; a provider's bug is logged and ends the session."""
        try:
            return await call
        except ProviderError as exc:
            report_failure(exc, f"{hook} (the session was ended)")
            raise ForceUserToReauthenticateError(
                f"{hook} failed unexpectedly", code="provider_error"
            ) from exc

    async def _revoked_in_store(self, session: SessionData, now: float) -> bool:
        """The store's revocation record; while the store is down the failure policy decides.

        :raises StoreError: the store is down and ``failure_policy`` is ``fail_closed``.
        """
        revocation = self.revocation
        try:
            return await revocation.check_store_via(self.store_calls, session, now)
        except StoreError as exc:
            if not self._stay_available:
                raise
            _log.warning(
                "store %r down at a due validation; session kept (failure_policy = "
                "stay_available): %s",
                exc.backend,
                exc.message,
            )
            return False

    async def _shared_refresh(self, session: SessionData) -> SessionUser:
        """Refresh once across processes when a shared backend is configured (hand-off).

        :raises CoordinationError: the backend is down and ``failure_policy`` is
            ``fail_closed`` (with ``stay_available`` this process refreshes alone).
        """
        handoff = self._handoff
        if handoff is None:
            return await self._do_refresh(session)
        try:
            return await handoff.run(session, lambda: self._do_refresh(session))
        except CoordinationError as exc:
            if not self._stay_available:
                raise
            _log.warning(
                "coordination %r down at a refresh; refreshing in this process only "
                "(failure_policy = stay_available): %s",
                exc.backend,
                exc.message,
            )
            return await self._do_refresh(session)

    async def _do_refresh(self, session: SessionData) -> SessionUser:
        """The single-flight leader's refresh: hook, mapping, store update."""
        user = await self._ending_on_failure("authplug_refresh", self._hooks.refresh(session.user))
        return await self._adopt(user)

    async def _do_validate(self, request: AuthRequest, session: SessionData) -> SessionUser | None:
        """The single-flight leader's validation: hook, mapping and store update on change."""
        user = await self._ending_on_failure(
            "authplug_validate", self._hooks.validate(request, session.user)
        )
        if user is None:
            return None
        return await self._adopt(user)

    async def _adopt(self, user: AuthenticatedUser[Any, Any]) -> SessionUser:
        """Map an updated user, save it to the store and return it as the session holds it."""
        if self._has_extensions:
            user = await self._hooks.map_user(user)
        stored = as_session_user(user)
        view = stored.tool_view()
        moment = datetime.fromtimestamp(self._clock(), tz=UTC)
        try:
            await self.store_calls.update(view, moment)
        except StoreError as exc:
            # The provider already answered (a refresh may have rotated the
            # tokens): dropping its answer would log the user out. The record
            # is saved again at the next validation.
            _log.warning("user record not updated (%s): %s", exc.backend, exc.message)
        return stored

    # -- no session: authenticate --------------------------------------------------

    async def _without_session(
        self, request: AuthRequest, cookies: Sequence[ResponseCookie], chunk_count: int
    ) -> Outcome:
        """``authplug_authenticate`` decides (login, redirect, page or 401).

        A provider that raises an unexpected exception or returns the wrong
        type is a 500 with a correlation id (never a 401, never a redirect
        to a login that would fail again).
        """
        flow: FlowTransactions | None = None
        browser = not request.wants_json
        if not self._stateless:
            flow = self._sessions.open_flow(request.headers, self._clock())
            if browser:
                flow.set_return_to(safe_return_to(self._return_path(request)))
            request.flow = flow
        try:
            result = await self._hooks.authenticate(request)
        except NotAuthenticatedError as exc:
            return self._responses.unauthenticated(
                request, exc, merge_cookies(cookies, _flow(flow) if browser else ())
            )
        except AuthplugError as exc:
            return self._responses.error(
                request, exc, merge_cookies(cookies, _flow(flow) if browser else ())
            )
        if isinstance(result, Authenticated):
            if self._stateless:
                user: AuthenticatedUser[Any, Any] = result.user
                if self._has_extensions:
                    user = await self._hooks.map_user(user)
                return self._admit(request, user, merge_cookies(cookies, result.cookies))
            session, login_cookies = await self._login(request, result.user, chunk_count)
            return self._admit(
                request,
                session.user,
                merge_cookies(cookies, result.cookies, login_cookies, _flow(flow)),
            )
        if isinstance(result, Redirect) and not browser:
            # Only a browser being sent to log in starts a login transaction:
            # an API client's 401 carries no flow or provider login cookie.
            return self._responses.not_authenticated_json(request, cookies)
        out = merge_cookies(cookies, result.cookies, _flow(flow))
        if isinstance(result, Redirect):
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
            user = await self._hooks.map_user(user)
        now = self._clock()
        if previous is not None:
            await self.revocation.revoke_via(self.store_calls, previous, now)
        session = self._sessions.new_session(user, now)
        cookies = self._sessions.write(session, previous_chunk_count=previous_chunks)
        view = session.user.tool_view()
        moment = datetime.fromtimestamp(now, tz=UTC)
        coordination = self._coordination
        if coordination.shared:
            # Logins fail closed (a 503 naming it) while the shared backend is
            # down: this session's logout could not reach the other processes.
            await self._runtime.run_blocking(coordination.check)
        await self.store_calls.record_login(view, moment)
        await self._hooks.logged_in(request, session.user)
        self.tracer.step("login", user=session.user)
        return session, cookies

    # -- /auth/* ---------------------------------------------------------------------

    async def auth_route(self, request: AuthRequest) -> Respond:
        """Answer an ``/auth/*`` request (the body already read). Never raises.

        ``/auth/logout`` and ``/auth/login`` (:mod:`authplug.signin`) are the
        core's; other paths go to the provider's
        routes (unknown: 404, wrong method: 405). A route's
        :class:`~authplug.results.Authenticated` logs the user in and
        redirects to a safe ``return_to``. Never redirects to login; a
        route that fails unexpectedly is a 500 with a correlation id.
        """
        return await self._guarded(request, self._auth_route(request))

    async def _auth_route(self, request: AuthRequest) -> Respond:
        if request.path == LOGOUT_PATH:
            return await self._logout.handle(request, self._clock())
        if request.path == SIGN_IN_PATH:
            return await self._sign_in.handle(request, self._clock())
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
            result = await self._hooks.route(route, request)
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

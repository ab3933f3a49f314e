"""``SessionManager``: read, refresh, write and clear the session cookie.

The host builds one manager per application (``SessionManager(config)``);
everything costly (key ring with its cipher objects, codecs, cookie policy,
chunk budgets) is prepared here, so a request costs one scan of the Cookie
header bytes, one base64 decode, one AES-GCM open and one
``model_validate_json``.

Reading never raises: a missing cookie is no session; a tampered, truncated,
foreign, expired or otherwise unusable one is no session plus ``Set-Cookie``
clears for every chunk the request carried.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, TypeAlias

from pydantic import ValidationError

from authplug.config import AuthplugConfig
from authplug.models import AuthenticatedUser
from authplug.results import ResponseCookie
from authplug.session.cache import Opened, OpenedSessionCache
from authplug.session.chunks import ChunkScan, chunks_of, cookie_header, split_value
from authplug.session.codec import SessionCodec
from authplug.session.cookie_policy import CookiePolicy
from authplug.session.flow import FlowTransactions, scan_flow_cookies
from authplug.session.keyring import KeyRing
from authplug.session.payload import SessionData

__all__ = ["CLOCK_SKEW", "ReadOutcome", "SessionManager", "SessionRead"]

CLOCK_SKEW = 60.0
"""Seconds a payload timestamp may lie in the future before the session is invalid."""

_TOUCH_FLOOR = 60.0
_SIZE_PROBE_CHUNKS = 99

ReadOutcome: TypeAlias = Literal[
    "absent", "valid", "malformed", "unopenable", "invalid", "expired", "future", "error"
]
"""Why :meth:`SessionManager.read` found no session (or ``valid``), for debug traces."""


class SessionRead(NamedTuple):
    """What :meth:`SessionManager.read` found.

    Attributes:
        session: The session, or ``None`` when there is no valid one.
        clear: Cookies to delete (chunks of a tampered, foreign, expired or
            malformed session); empty when nothing needs clearing.
        needs_reseal: The value was sealed with an older key of the ring; the
            caller re-seals it with :meth:`SessionManager.write`.
        chunk_count: How many chunk names the request used (pass it to
            :meth:`SessionManager.write` or :meth:`SessionManager.clear`).
        outcome: Why, for debug traces (never contains cookie data):
            ``absent``, ``valid``, ``malformed`` (chunks), ``unopenable``
            (encoding, tag, key or purpose), ``invalid`` (payload),
            ``expired``, ``future`` (timestamps ahead of the clock) or ``error``.
    """

    session: SessionData | None
    clear: tuple[ResponseCookie, ...] = ()
    needs_reseal: bool = False
    chunk_count: int = 0
    outcome: ReadOutcome = "absent"


_NO_SESSION = SessionRead(session=None)
_new_read = tuple.__new__


class SessionManager:
    """The application's session and flow cookies.

    :param config: The core configuration: keys, cookie name, security,
        lifetimes and the chunk maximum.
    :param keyring: Use this key ring instead of the one ``config`` describes
        (tests wrap its cipher objects).
    :param cookieless: The provider sets no session cookie (bearer tokens):
        no warning about an ephemeral development key.
    :param policy: Use this cookie policy instead of the one ``config``
        describes (tests raise its ``header_limit``).
    :raises ConfigError: the keys are unusable.

    Attributes:
        cookie_name: Effective base name of the session cookie (``__Host-``
            prefixed when cookies are secure); chunks are ``<name>.0``, ...
        flow_cookie_name: Effective base name of the flow cookies: each login
            transaction has its own, ``<flow_cookie_name>.<txn_id>`` (see
            :mod:`authplug.session.flow`).
        policy: Cookie names, attributes and budgets.
        keyring: The key ring.
    """

    __slots__ = (
        "_absolute",
        "_budgets",
        "_cache",
        "_chunk_prefix",
        "_flow_lifetime",
        "_idle",
        "_max_chunks",
        "_name_bytes",
        "_probe_budgets",
        "_session_codec",
        "_touch_after",
        "cookie_name",
        "flow_cookie_name",
        "keyring",
        "policy",
    )

    def __init__(
        self,
        config: AuthplugConfig,
        *,
        keyring: KeyRing | None = None,
        cookieless: bool = False,
        policy: CookiePolicy | None = None,
    ) -> None:
        self.keyring = (
            keyring if keyring is not None else KeyRing.from_config(config, quiet=cookieless)
        )
        self.policy = policy if policy is not None else CookiePolicy.from_config(config)
        self.cookie_name = self.policy.session_name
        self.flow_cookie_name = self.policy.flow_name
        self._name_bytes = self.cookie_name.encode("ascii")
        self._session_codec = SessionCodec(self.keyring, f"session:{self.cookie_name}")
        self._idle = float(config.idle_timeout)
        self._absolute = float(config.absolute_lifetime)
        self._flow_lifetime = float(config.flow_lifetime)
        self._touch_after = max(_TOUCH_FLOOR, self._idle / 20)
        self._budgets = tuple(
            self.policy.chunk_value_budget(i) for i in range(config.max_cookie_chunks)
        )
        self._max_chunks = len(self._budgets)
        self._chunk_prefix = self._name_bytes + b"."
        self._probe_budgets = tuple(
            self.policy.chunk_value_budget(i) for i in range(_SIZE_PROBE_CHUNKS)
        )
        self._cache = (
            OpenedSessionCache(config.session_cache_size) if config.session_cache_size else None
        )

    # -- reading -------------------------------------------------------------

    def read(self, headers: Sequence[tuple[bytes, bytes]], now: float) -> SessionRead:
        """The request's session, if it carries a valid one. Never raises.

        :param headers: ASGI-style header pairs (lower-case byte names);
            several ``cookie`` headers are read as one, joined with ``"; "``.
        :param now: Current time, epoch seconds.
        """
        try:
            cookie = cookie_header(headers)
        except Exception:  # headers a host did not give as byte pairs: "no session"
            return self._reject(None, "error")
        return self.read_cookie(cookie, now)

    def read_cookie(self, cookie: bytes, now: float) -> SessionRead:
        """:meth:`read` given the request's Cookie header value (``b""`` when none).

        :param cookie: The Cookie header's value, as the client sent it.
        :param now: Current time, epoch seconds.
        """
        scan: ChunkScan | None = None
        try:
            scan = chunks_of(cookie, self._chunk_prefix, self._max_chunks)
            value = scan.value
            if value is None:
                if scan.malformed:
                    return self._reject(scan, "malformed")
                return _NO_SESSION
            cache = self._cache
            cached = cache.get(value) if cache is not None else None
            if cached is None:
                opened = self._session_codec.open(value)
                if opened is None:
                    return self._reject(scan, "unopenable")
                plaintext, old_key = opened
                try:
                    session = SessionData.model_validate_json(plaintext)
                except ValidationError:
                    return self._reject(scan, "invalid")
                if cache is not None:
                    cache.put(value, self._opened(session, old_key, scan.chunk_count))
            else:
                # The checks below, folded once per opened value into one window
                # [earliest, latest]; outside it they run one by one to say why.
                if (
                    cached.earliest <= now <= cached.latest
                    and cached.read.chunk_count == scan.chunk_count
                ):
                    return cached.read
                # only reads that opened to a session are cached (_opened): never None
                session = cached.read.session  # type: ignore[assignment]
                old_key = cached.read.needs_reseal
            fields = session.__dict__  # pydantic keeps field values there: one attribute read
            created_at, last_seen_at = fields["created_at"], fields["last_seen_at"]
            ahead = now + CLOCK_SKEW
            if not (
                created_at <= ahead and last_seen_at <= ahead and fields["validated_at"] <= ahead
            ):
                return self._reject(scan, "future")
            if not (now - last_seen_at <= self._idle and now - created_at <= self._absolute):
                return self._reject(scan, "expired")
            # (session, clear, needs_reseal, chunk_count, outcome), built without
            # SessionRead's Python-level __new__: this is the hot path; the scan
            # of a value has at least one index (chunk_count, without the call)
            return _new_read(SessionRead, (session, (), old_key, scan.indices[-1] + 1, "valid"))
        except Exception:  # a hostile cookie is "no session", never a 500
            return self._reject(scan, "error")

    def _opened(self, session: SessionData, old_key: bool, chunk_count: int) -> Opened:
        """The cache entry for a value that opened to ``session``: its read and valid window.

        Valid at ``now`` when no timestamp is more than :data:`CLOCK_SKEW`
        ahead of it (``earliest``) and neither the idle nor the absolute
        lifetime has ended (``latest``): the same checks :meth:`read` makes.
        """
        read = SessionRead(
            session=session,
            clear=(),
            needs_reseal=old_key,
            chunk_count=chunk_count,
            outcome="valid",
        )
        return Opened(read, *self.valid_window(session))

    def valid_window(self, session: SessionData) -> tuple[float, float]:
        """``(earliest, latest)``: the instants (epoch seconds) between which :meth:`read`
        accepts ``session``'s timestamps (both included).

        ``earliest``: no timestamp is more than :data:`CLOCK_SKEW` ahead;
        ``latest``: neither the idle nor the absolute lifetime has ended.
        """
        earliest = max(session.created_at, session.last_seen_at, session.validated_at) - CLOCK_SKEW
        latest = min(session.last_seen_at + self._idle, session.created_at + self._absolute)
        return earliest, latest

    def _reject(self, scan: ChunkScan | None, outcome: ReadOutcome) -> SessionRead:
        indices = scan.indices if scan is not None and scan.indices else (0,)
        clears = tuple(self.policy.clear_chunk(i) for i in indices)
        count = scan.chunk_count if scan is not None else 0
        return SessionRead(session=None, clear=clears, chunk_count=count, outcome=outcome)

    # -- session lifecycle ---------------------------------------------------

    def new_session(self, user: AuthenticatedUser[Any, Any], now: float) -> SessionData:
        """A new session for ``user`` at login: fresh ``sid``, all times ``now``."""
        return SessionData.start(user, now)

    @property
    def touch_after(self) -> float:
        """Seconds after ``last_seen_at`` from which :meth:`touch` re-seals a session."""
        return self._touch_after

    def touch(self, session: SessionData, now: float) -> SessionData | None:
        """A copy with ``last_seen_at=now`` when re-sealing is worth it, else ``None``.

        Worth it once ``last_seen_at`` is older than ``max(60 s, idle_timeout / 20)``,
        so most requests write no cookie.
        """
        if now - session.last_seen_at < self._touch_after:
            return None
        return session.model_copy(update={"last_seen_at": now})

    # -- writing -------------------------------------------------------------

    def _seal(self, session: SessionData) -> str:
        return self._session_codec.seal(session.model_dump_json().encode("utf-8"))

    def write(
        self, session: SessionData, *, previous_chunk_count: int = 0
    ) -> tuple[ResponseCookie, ...]:
        """The ``Set-Cookie`` list that stores ``session``.

        Seals the session, splits it into chunks and appends clears for the
        chunks from the new count up to ``previous_chunk_count`` (left over
        from a larger session).

        :raises SessionTooLargeError: more than ``max_cookie_chunks`` chunks
            would be needed.
        """
        values = split_value(self._seal(session), self._budgets)
        cookies = [self.policy.session_cookie(i, v) for i, v in enumerate(values)]
        cookies.extend(self.policy.clear_chunk(i) for i in range(len(values), previous_chunk_count))
        return tuple(cookies)

    def clear(self, chunk_count: int, flow_names: Iterable[str] = ()) -> tuple[ResponseCookie, ...]:
        """Delete every session chunk (at least chunk 0) and the flow cookies.

        :param chunk_count: How many chunk names the request used.
        :param flow_names: The request's flow cookies (:meth:`flow_cookie_names`).
        """
        cookies = [self.policy.clear_chunk(i) for i in range(max(1, chunk_count))]
        names = dict.fromkeys(flow_names)
        cookies.extend(self.policy.clear(name) for name in names)
        return tuple(cookies)

    def encoded_size(self, session: SessionData) -> int:
        """Bytes of every ``name=value`` pair ``write`` would set for ``session``.

        Counted even when over the budget (for the demo's "size vs budget").
        """
        values = split_value(self._seal(session), self._probe_budgets)
        return sum(len(self.policy.chunk_name(i)) + 1 + len(v) for i, v in enumerate(values))

    @property
    def cookie_budget(self) -> int:
        """Most ``name=value`` bytes a session may use: chunk maximum x per-chunk budget."""
        per_chunk = min(
            len(self.policy.chunk_name(i)) + 1 + budget for i, budget in enumerate(self._budgets)
        )
        return len(self._budgets) * per_chunk

    # -- login transactions --------------------------------------------------

    def open_flow(self, headers: Sequence[tuple[bytes, bytes]], now: float) -> FlowTransactions:
        """The request's login transactions. Never raises.

        Finds the request's flow cookies without decrypting any;
        :meth:`FlowTransactions.consume` opens only the one it is asked for.
        """
        return FlowTransactions(
            scan_flow_cookies(headers, self.flow_cookie_name),
            headers=headers,
            keyring=self.keyring,
            policy=self.policy,
            now=now,
            lifetime=self._flow_lifetime,
        )

    def flow_cookie_names(self, headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, ...]:
        """Names of the flow cookies a request carried, for :meth:`clear`. Never raises.

        Decrypts nothing; at most :data:`~authplug.session.flow.SCAN_LIMIT` names.
        """
        scan = scan_flow_cookies(headers, self.flow_cookie_name)
        return tuple(dict.fromkeys(self.policy.flow_txn_name(txn_id) for txn_id, _ in scan.cookies))

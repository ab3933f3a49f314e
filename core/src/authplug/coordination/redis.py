"""``RedisCoordination``: leases with ``SET NX PX``, results with expiry, pub/sub revocations.

Install with ``pip install 'authplug[redis]'`` (redis-py); select with
``coordination = "redis"`` and ``coordination_options.url``.

* A lease is ``SET <prefix>lease:<key> <token> NX PX <ttl>``; releasing runs a
  compare-and-delete script, so a holder whose lease already expired cannot
  delete its successor's. A holder killed with ``kill -9`` is released by
  the ``PX`` expiry.
* Results are plain keys with a ``PX`` expiry (at most 60 s); their values
  are sealed by the caller.
* Revocations are published on ``<prefix>revoked``; each receiving process
  confirms a message once applied, and the publisher waits (at most 1 s)
  for as many confirmations as ``PUBLISH`` counted receivers, so a logout is
  answered only once every subscribed process refuses the cookie. A daemon thread
  subscribed to the channel reconnects with back-off after Redis restarts (messages
  sent while it was away are not replayed: the user store is the fallback).
  :meth:`RedisCoordination.catch_up`, called before every session check,
  delivers in the request's own thread what already reached the
  subscriber's socket (a zero-timeout ``epoll``), so a busy process whose
  listener thread has not run yet still refuses a logged-out cookie.
* Every redis-py error becomes :class:`CoordinationError` naming the failure
  class; the URL (which may hold a password) is never echoed.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
import time
from typing import Any

import redis
from redis.commands.core import Script

from authplug.coordination.base import (
    MAX_RESULT_TTL,
    CoordinationError,
    Lease,
    RevocationListener,
    float_option,
    str_option,
)
from authplug.coordination.readiness import Readable
from authplug.errors import ConfigError

__all__ = ["RedisCoordination"]

_log = logging.getLogger("authplug.coordination")

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""
_POLL = 0.005
"""Seconds between two looks at a lease someone else holds."""
_ACK_WAIT = 1.0
"""Longest a publisher waits for every receiver to confirm a revocation."""
_ACK_POLL = 0.001


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "@" in text or "password" in text.lower():
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _socket_of(pubsub: Any) -> socket.socket | None:
    """The subscription's socket (redis-py keeps it as ``connection._sock``), if there is one."""
    sock = getattr(getattr(pubsub, "connection", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class RedisCoordination:
    """The ``redis`` backend.

    Options (``coordination_options``): ``url`` (``redis://host:port/db``,
    default ``redis://127.0.0.1:6379/0``), ``prefix`` of every key and the
    channel (default ``authplug:``), ``lease_ttl`` (seconds, default 10),
    ``timeout`` (seconds per command, default 2).

    :raises ConfigError: an unknown option or an unusable URL.
    """

    name = "redis"
    shared = True

    def __init__(self, **options: Any) -> None:
        url = str_option(options, "url", "redis://127.0.0.1:6379/0")
        self._prefix = str_option(options, "prefix", "authplug:")
        self.lease_ttl = float_option(options, "lease_ttl", 10, 1, 300)
        timeout = float_option(options, "timeout", 2, 0.1, 60)
        if options:
            raise ConfigError(
                f"coordination_options: not accepted by the redis backend: "
                f"{', '.join(sorted(options))}"
            )
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                health_check_interval=30,
            )
        except ValueError:
            raise ConfigError("coordination_options.url: not a redis:// or rediss:// URL") from None
        self._release: Script = self._client.register_script(_RELEASE)
        self._channel = f"{self._prefix}revoked"
        self._listeners: list[RevocationListener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        # The live subscription and its socket (None while disconnected); read
        # only under _reading, by the listener thread or a request catching up.
        self._inbox: tuple[Any, Readable] | None = None
        self._reading = threading.Lock()

    def _error(self, exc: BaseException) -> CoordinationError:
        return CoordinationError(f"redis coordination failed ({_describe(exc)})", backend=self.name)

    def _check_open(self) -> None:
        if self._closed:
            raise CoordinationError("the redis coordination is closed", backend=self.name)

    def try_lease(self, key: str) -> Lease | None:
        """``SET NX PX``: the lease, or ``None`` while another holder's lives."""
        self._check_open()
        token = secrets.token_urlsafe(16)
        name = f"{self._prefix}lease:{key}"
        try:
            taken = self._client.set(name, token, nx=True, px=int(self.lease_ttl * 1000))
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return Lease(key, token) if taken else None

    def release(self, lease: Lease) -> None:
        """Compare-and-delete: only a lease still ours is removed."""
        self._check_open()
        try:
            self._release(keys=[f"{self._prefix}lease:{lease.key}"], args=[lease.token])
        except redis.RedisError as exc:
            raise self._error(exc) from None

    def wait_released(self, key: str, timeout: float) -> None:
        """Look every 5 ms whether the lease is gone, at most ``timeout`` seconds."""
        self._check_open()
        deadline = time.monotonic() + timeout
        name = f"{self._prefix}lease:{key}"
        try:
            while self._client.exists(name) and time.monotonic() < deadline:
                time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
        except redis.RedisError as exc:
            raise self._error(exc) from None

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """``SET`` with a ``PX`` expiry of at most 60 s."""
        self._check_open()
        px = max(1, int(min(ttl, MAX_RESULT_TTL) * 1000))
        try:
            self._client.set(f"{self._prefix}result:{key}", value, px=px)
        except redis.RedisError as exc:
            raise self._error(exc) from None

    def get_result(self, key: str) -> str | None:
        """``GET`` the kept value."""
        self._check_open()
        try:
            value = self._client.get(f"{self._prefix}result:{key}")
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return value if isinstance(value, str) else None

    def publish_revocation(self, sid: str, until: float) -> None:
        """``PUBLISH`` on the revocation channel, then wait until every receiver applied it.

        Each subscribed process counts its delivery on ``<prefix>ack:<id>``
        (after its in-memory map has the session); this returns once the
        count reaches the number of receivers ``PUBLISH`` reported, so the
        logout's answer leaves only after every process refuses the cookie.
        The wait is bounded (1 s: a receiver that died in between is not
        waited for; its restart reads the store).
        """
        self._check_open()
        mid = secrets.token_urlsafe(12)
        message = json.dumps({"sid": sid, "until": until, "id": mid})
        try:
            receivers = int(self._client.publish(self._channel, message))
            acks = f"{self._prefix}ack:{mid}"
            deadline = time.monotonic() + _ACK_WAIT
            while int(self._client.get(acks) or 0) < receivers:
                if time.monotonic() >= deadline:
                    _log.warning(
                        "revocation broadcast: not every process confirmed within %g s", _ACK_WAIT
                    )
                    break
                time.sleep(_ACK_POLL)
            self._client.delete(acks)
        except redis.RedisError as exc:
            raise self._error(exc) from None

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Add ``listener``; the first call starts the subscriber thread."""
        with self._lock:
            self._check_open()
            self._listeners.append(listener)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="authplug-redis-revocations", daemon=True
                )
                self._thread.start()

    def _listen(self) -> None:
        backoff = 0.05
        lost = False
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            readable: Readable | None = None
            try:
                pubsub.subscribe(self._channel)
                sock = _socket_of(pubsub)
                readable = Readable(sock) if sock is not None else None
                backoff = 0.05
                if lost:
                    _log.warning("redis revocation subscriber reconnected")
                    lost = False
                with self._reading:
                    self._inbox = (pubsub, readable) if readable is not None else None
                while not self._stop.is_set():
                    # Wait without the lock (a request may catch up meanwhile),
                    # then read everything that arrived under it.
                    if readable is None:
                        message = pubsub.get_message(timeout=0.5)
                        if message is not None and message.get("type") == "message":
                            self._deliver(message.get("data"))
                        continue
                    readable(0.5)
                    with self._reading:
                        self._drain(pubsub)
            except (redis.RedisError, OSError, ValueError) as exc:
                if not self._stop.is_set() and not lost:
                    _log.warning("redis revocation subscriber lost: %s", _describe(exc))
                lost = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with self._reading:
                    self._inbox = None
                if readable is not None:
                    readable.close()
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    _log.debug("redis pubsub close failed")

    def _drain(self, pubsub: Any) -> None:
        """Deliver every message already received (parsed or on the socket); hold _reading."""
        connection = pubsub.connection
        while connection is not None and connection.can_read(timeout=0):
            message = pubsub.get_message(timeout=0)
            if message is not None and message.get("type") == "message":
                self._deliver(message.get("data"))

    def catch_up(self) -> None:
        """Deliver, in this thread, the revocations already on the subscriber's socket.

        Costs one zero-timeout ``epoll`` look when nothing arrived; never raises
        (a broken subscription is the listener thread's to repair).
        """
        inbox = self._inbox
        if inbox is None:
            return
        pubsub, readable = inbox
        reading = self._reading
        try:
            if not reading.locked() and not readable(0):
                return
            with reading:
                if self._inbox is inbox:
                    self._drain(pubsub)
        except (redis.RedisError, OSError, ValueError):
            return

    def _deliver(self, data: object) -> None:
        try:
            decoded = json.loads(str(data))
            sid, until = str(decoded["sid"]), float(decoded["until"])
        except (ValueError, TypeError, KeyError):
            _log.warning("ignored a malformed revocation message on the redis channel")
            return
        for listener in list(self._listeners):
            listener(sid, until)
        mid = decoded.get("id")
        if isinstance(mid, str) and mid:
            try:
                pipe = self._client.pipeline(transaction=False)
                pipe.incr(f"{self._prefix}ack:{mid}")
                pipe.pexpire(f"{self._prefix}ack:{mid}", int(MAX_RESULT_TTL * 1000))
                pipe.execute()
            except redis.RedisError as exc:
                _log.debug("revocation not confirmed (%s)", _describe(exc))

    def check(self) -> str:
        """``INFO server``: the Redis version and address."""
        self._check_open()
        try:
            info = self._client.info("server")
        except redis.RedisError as exc:
            raise self._error(exc) from None
        kwargs = self._client.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return f"redis {info.get('redis_version', '?')} at {where}"

    def close(self) -> None:
        """Stop the subscriber and close the connections."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        self._client.close()

"""``VerifiedTokenCache``: a bounded LRU of tokens whose signature was already checked.

A client usually sends the same bearer token on every request until it
expires. The cache maps the exact token to what verifying it produced, so the
signature check runs once per token rather than once per request. Keyed by
the whole token, as a ``dict`` compares it: a token differing in any byte (a
variant spelling, an appended ``=``) is a miss and is verified afresh, and no
digest or hash alone ever stands for a token. The token's length is charged
to the byte bound. A hit is served only while every time bound a fresh
verification applies still holds: an entry carries the window
(:class:`~authplug.jose.claims.Validity`) in which the claim checks accept the
token (``exp``, ``nbf``, ``iat``/``max_age``, each with the leeway) and expires
at the earliest of its end and the configured TTL; before the window opens (a
clock stepped back) it is not served either. It is bounded both in entries and
in (estimated) bytes; the least recently used entries are evicted first.

Revocation caveat: a token served from the cache stays accepted until it
leaves the cache (at most ``ttl`` seconds, never past ``exp``) even if the
issuer revokes it or removes its key from the JWKS. Bearer JWTs are not
revocable anyway without introspection; keep ``cache_ttl`` short when key
removal must take effect quickly.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

__all__ = ["ENTRY_OVERHEAD", "VerifiedTokenCache"]

V = TypeVar("V")

ENTRY_OVERHEAD: Final = 3072
"""Bytes charged per entry besides its own size (key, node, bookkeeping)."""


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    not_before: float
    expires_at: float
    size: int


class VerifiedTokenCache(Generic[V]):
    """Bounded LRU from token to a verified result.

    Reads take no lock (a ``dict`` lookup and an ``OrderedDict.move_to_end``,
    each atomic); writes take one.

    :param max_entries: Most entries kept (at least 1).
    :param max_bytes: Bound on the sum of the entries' charged sizes.
    :param ttl: Longest an entry lives, in seconds.
    """

    __slots__ = ("_bytes", "_entries", "_lock", "max_bytes", "max_entries", "ttl")

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> V | None:
        """The cached result for ``token``, or ``None`` (absent or expired)."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if not entry.not_before <= now < entry.expires_at:
            self._drop(token, entry)
            return None
        try:  # noqa: SIM105 (contextlib.suppress costs a context manager per hit)
            self._entries.move_to_end(token)
        except KeyError:  # evicted by another thread since the lookup: still verified
            pass
        return entry.value

    def _drop(self, token: str, entry: _Entry[V]) -> None:
        with self._lock:
            if self._entries.get(token) is entry:
                del self._entries[token]
                self._bytes -= entry.size

    def put(
        self,
        token: str,
        value: V,
        *,
        size: int,
        expires_at: float,
        now: float,
        not_before: float = float("-inf"),
    ) -> None:
        """Cache ``value`` for ``token``.

        It is served while ``not_before <= now < min(expires_at, put time + ttl)``.

        :param size: Estimated bytes ``value`` occupies (without the token and the overhead).
        :param expires_at: First instant a fresh verification would reject the token.
        :param not_before: Earliest instant a fresh verification accepts it.
        """
        charged = size + len(token) + ENTRY_OVERHEAD
        if charged > self.max_bytes:
            return
        entry = _Entry(value, not_before, min(expires_at, now + self.ttl), charged)
        with self._lock:
            old = self._entries.pop(token, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[token] = entry
            self._bytes += charged
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        """Drop every entry (e.g. after a key was revoked)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def bytes_used(self) -> int:
        """The sum of the entries' charged sizes."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

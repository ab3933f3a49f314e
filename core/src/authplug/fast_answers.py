"""Stateless providers' :class:`~authplug.results.Remembered` answers, kept between requests.

A stateless provider's ``authplug_authenticate_fast`` may answer
:class:`~authplug.results.Remembered`: the same values of the request headers
it read get the same user until a moment it names. The host records which
headers the provider read (through the ``header`` lookup it was given) and
keeps the answer under exactly those values; a later request carrying the
same values, byte for byte, is answered from here while the window holds,
without calling the provider. Any other value, or a moment outside the
window, asks the provider again.

* The names are those the provider read, lower-cased, in order; an absent
  header is part of the key as ``None`` (so "no ``X-Api-Key``" and "an
  ``X-Api-Key``" differ). A provider that read no header is never remembered.
* Keys are the raw values as the host has them: ``bytes`` from ASGI (the
  first header of that name, as the provider's lookup saw it), ``str`` from
  WSGI (read from the environ as its lookup reads it,
  :mod:`authplug.environ_headers`; a value that is not exactly a ``str``
  is read as absent, so an answer for it alone is not kept); one host kind
  per :class:`~authplug.lifecycle.Lifecycle`, so they never mix.
* Bounded in entries (``session_cache_size``) and in key length
  (:data:`MAX_KEY_LENGTH`); off when ``session_cache_size`` is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from authplug.bounded_map import BoundedMap
from authplug.environ_headers import environ_key

if TYPE_CHECKING:
    from authplug.models import AuthenticatedUser
    from authplug.request import HeaderLookup
    from authplug.results import Remembered

__all__ = ["MAX_KEY_LENGTH", "RememberedAnswers", "recording"]

MAX_KEY_LENGTH = 16 * 1024
"""Longest header value (characters) an answer is kept under: bounds the memory per entry."""


class RememberedAnswers:
    """Remembered answers for one host, keyed by the values of the headers they depend on.

    :param capacity: Most answers kept.
    """

    __slots__ = ("_environ_names", "_first", "_map", "_names", "_raw_names", "environ_key", "get")

    def __init__(self, capacity: int) -> None:
        self._map: BoundedMap[Hashable, Remembered] = BoundedMap(capacity)
        self._names: tuple[str, ...] = ()
        self._raw_names: tuple[bytes, ...] = ()
        self._environ_names: tuple[str, ...] = ()
        self._first = b""
        self.environ_key: str | None = None
        """The environ key of the one header the kept answers depend on (else ``None``).

        With :attr:`get`, lets the WSGI hot path look an answer up without a
        call; the window check is then the caller's (as :meth:`recall` makes it)."""
        self.get = self._map.get
        """The kept answer for a key, window not checked."""

    def key(
        self,
        headers: Sequence[tuple[bytes, bytes]],
        header: HeaderLookup | None = None,
        environ: Mapping[str, Any] | None = None,
    ) -> Hashable | None:
        """The request's values of the headers the kept answers depend on (``None``: none).

        :param headers: ASGI header pairs (used when neither of the others is given).
        :param header: A header lookup (the values it returns).
        :param environ: A WSGI environ (read directly, as its lookup would).
        """
        if environ is not None:
            if len(self._environ_names) == 1:
                value = environ.get(self._environ_names[0])
                # exactly str, as the WSGI host's own lookup of a kept answer takes it
                return value if value.__class__ is str else None
            return tuple(_str_or_none(environ.get(name)) for name in self._environ_names)
        if header is not None:
            if len(self._names) == 1:
                return header(self._names[0])
            return tuple(header(name) for name in self._names)
        if len(self._raw_names) == 1:
            first = self._first
            for name, value in headers:
                if name == first:
                    return value
            return None
        return tuple(_first_value(headers, name) for name in self._raw_names)

    def recall(
        self,
        headers: Sequence[tuple[bytes, bytes]],
        header: HeaderLookup | None,
        environ: Mapping[str, Any] | None,
        clock: Callable[[], float],
    ) -> AuthenticatedUser[Any, Any] | None:
        """The user kept for this request's header values, when its window holds now.

        The request as :meth:`key` takes it. A kept answer whose window has
        passed (or not begun) is dropped. The usual ASGI case (one header, from
        the pairs) is written out here: this runs on every request. (The WSGI
        host's usual case, one header from the environ, is written out in
        :meth:`Lifecycle.environ_user <authplug.lifecycle.Lifecycle.environ_user>`
        with :attr:`environ_key` and :attr:`get`.)
        """
        names = self._names
        key: Hashable | None
        if len(names) != 1 or header is not None or environ is not None:
            if not names:
                return None
            key = self.key(headers, header, environ)
        else:
            key = None
            first = self._first
            for name, value in headers:
                if name == first:
                    key = value
                    break
        if key is None:
            return None
        known = self._map.get(key)
        if known is None:
            return None
        now = clock()
        if known.not_before <= now < known.until:
            return known.user
        self._map.drop(key)
        return None

    def remember(
        self,
        names: Sequence[str],
        request: tuple[
            Sequence[tuple[bytes, bytes]], HeaderLookup | None, Mapping[str, Any] | None
        ],
        answer: Remembered,
        now: float,
    ) -> None:
        """Keep ``answer`` under the request's values of ``names`` (the headers the provider read).

        :param request: ``(headers, header, environ)`` as :meth:`key` takes them.

        A different set of names than the kept answers' replaces them all.
        """
        if not names or not answer.not_before <= now < answer.until:  # NaN fails it too
            return
        names = tuple(names)
        if names != self._names:
            self._map.clear()
            self._names = names
            self._raw_names = tuple(name.encode("latin-1") for name in names)
            self._environ_names = tuple(environ_key(name) for name in names)
            self._first = self._raw_names[0]
            self.environ_key = self._environ_names[0] if len(names) == 1 else None
        key = self.key(*request)
        if key is None or _length(key) > MAX_KEY_LENGTH:
            return
        self._map.put(key, answer)

    def __len__(self) -> int:
        """How many answers are kept."""
        return len(self._map)


def recording(lookup: HeaderLookup) -> tuple[HeaderLookup, list[str]]:
    """``lookup``, noting each header name asked for (lower case, once, in order)."""
    names: list[str] = []

    def header(name: str) -> str | None:
        lowered = name.lower()
        if lowered not in names:
            names.append(lowered)
        return lookup(name)

    return header, names


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _first_value(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _length(key: Hashable) -> int:
    if isinstance(key, tuple):
        return sum(len(part) for part in key if part is not None)
    return len(key) if isinstance(key, (bytes, str)) else 0

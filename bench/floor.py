"""The floor: what the hardware and the libraries cost, hand-written without authplug.

These are the baselines the session rows compare with. They do the least a
correct cookie session can do: find the cookie in the raw header, base64url
decode it (``binascii`` on the standard alphabet, the tuned path), open it with
one reused ``AESGCM`` object and ``model_validate_json`` the plaintext into the
same pydantic model. No expiry checks, no chunk validation, no hooks.

The caching floor (``cache=True``) adds what a hand-written middleware would
add to skip work on a cookie it has seen: a dict keyed by the exact cookie
value holding the opened payload, and an expiry check on every hit.
"""

from __future__ import annotations

import binascii
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import pybase64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

__all__ = ["FloorAsgiMiddleware", "FloorWsgiMiddleware", "OpenedCache", "RawCodec"]

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
_HEADER = 17  # version (1) + key id (4) + nonce (12): the layout authplug seals
_NONCE = slice(5, 17)


class RawCodec:
    """base64url + AES-256-GCM + pydantic JSON, in authplug's sealed layout.

    :param key: The raw 32-byte key.
    :param associated_data: The associated data the value was sealed with.
    :param model: The payload model.
    :param prefix: The first 5 bytes of every sealed value (version + key id).
    """

    def __init__(
        self, key: bytes, associated_data: bytes, model: type[BaseModel], prefix: bytes
    ) -> None:
        self._aes = AESGCM(key)
        self._ad = associated_data
        self._model = model
        self._prefix = prefix
        self._simd = False

    def with_simd_base64(self) -> RawCodec:
        """The same chain decoding with pybase64 (SIMD), as authplug does, instead of
        the standard library's ``binascii``: the floor of the "same decoder" rows."""
        twin = RawCodec.__new__(RawCodec)
        twin.__dict__.update(self.__dict__, _simd=True)
        return twin

    def open(self, value: bytes) -> BaseModel:
        """Decode, decrypt and validate one sealed value (raises on any failure)."""
        if self._simd:
            raw = pybase64.b64decode(value + _PADDING[len(value) % 4], altchars=b"-_")
        else:
            raw = binascii.a2b_base64(value.translate(_TO_STANDARD) + _PADDING[len(value) % 4])
        plaintext = self._aes.decrypt(raw[_NONCE], raw[_HEADER:], self._ad)
        return self._model.model_validate_json(plaintext)

    def seal(self, payload: BaseModel) -> str:
        """Dump, encrypt with a fresh nonce and encode one payload."""
        nonce = os.urandom(12)
        sealed = self._aes.encrypt(nonce, payload.model_dump_json().encode(), self._ad)
        return (
            binascii.b2a_base64(self._prefix + nonce + sealed, newline=False)
            .translate(_TO_URLSAFE)
            .rstrip(b"=")
            .decode("ascii")
        )


def _cookie_value(header: bytes, needle: bytes) -> bytes | None:
    """The value of the cookie ``needle`` names (``b"name.0="``), chunk count stripped."""
    at = header.find(needle)
    if at < 0:
        return None
    start = at + len(needle)
    end = header.find(b";", start)
    value = header[start:] if end < 0 else header[start:end]
    return value[value.find(b"~") + 1 :]


class OpenedCache:
    """The caching floor's memory: exact cookie value -> (user, expires at), bounded.

    :param codec: The raw chain, for a value not seen yet.
    :param lifetime: Seconds an opened value stays usable after its session began.
    :param capacity: Most entries (new values are not cached beyond it).
    """

    def __init__(self, codec: RawCodec, lifetime: float, capacity: int = 2048) -> None:
        self._codec = codec
        self._lifetime = lifetime
        self._capacity = capacity
        self._entries: dict[bytes, tuple[Any, float]] = {}

    def user(self, value: bytes) -> Any:
        """The user ``value`` opens to (from the dict when seen), ``None`` when expired."""
        hit = self._entries.get(value)
        if hit is None:
            session: Any = self._codec.open(value)
            hit = (session.user, session.created_at + self._lifetime)
            if len(self._entries) < self._capacity:
                self._entries[value] = hit
        if time.time() >= hit[1]:
            return None
        return hit[0]


Scope = dict[str, Any]
AsgiApp = Callable[[Scope, Any, Any], Any]


class FloorAsgiMiddleware:
    """A minimal pure-ASGI cookie middleware: the user goes to ``scope["authplug.user"]``.

    :param app: The wrapped ASGI app.
    :param codec: The raw chain.
    :param cookie_name: The first chunk's cookie name (``authplug_session.0``).
    :param cache: Remember opened values (the caching floor), or ``None``.
    """

    def __init__(
        self, app: AsgiApp, codec: RawCodec, cookie_name: str, cache: OpenedCache | None = None
    ) -> None:
        self.app = app
        self._codec = codec
        self._cache = cache
        self._needle = cookie_name.encode("ascii") + b"="

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Open the session cookie when there is one, then call the app."""
        if scope["type"] == "http":
            user = None
            for name, value in scope["headers"]:
                if name == b"cookie":
                    found = _cookie_value(value, self._needle)
                    if found is not None:
                        try:
                            if self._cache is None:
                                user = self._codec.open(found).user  # type: ignore[attr-defined]
                            else:
                                user = self._cache.user(found)
                        except Exception:
                            user = None
                        break
            scope["authplug.user"] = user
        await self.app(scope, receive, send)


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class FloorWsgiMiddleware:
    """The same floor as WSGI middleware: the user goes to ``environ["authplug.user"]``."""

    def __init__(
        self, app: WsgiApp, codec: RawCodec, cookie_name: str, cache: OpenedCache | None = None
    ) -> None:
        self.app = app
        self._codec = codec
        self._cache = cache
        self._needle = cookie_name.encode("ascii") + b"="

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Open the session cookie when there is one, then call the app."""
        user = None
        header = environ.get("HTTP_COOKIE")
        if header:
            found = _cookie_value(header.encode("latin-1"), self._needle)
            if found is not None:
                try:
                    if self._cache is None:
                        user = self._codec.open(found).user  # type: ignore[attr-defined]
                    else:
                        user = self._cache.user(found)
                except Exception:
                    user = None
        environ["authplug.user"] = user
        return self.app(environ, start_response)

"""Fixtures for the session package tests: keys made at test time, configs, users."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.models import AuthenticatedUser
from authplug.results import ResponseCookie
from authplug.session import KeyRing, SessionManager
from authplug.session.keyring import KeyEntry

NOW = 1_700_000_000.0


def make_key() -> str:
    """A fresh cookie key as `authplug keygen` prints it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def cookie_headers(
    cookies: Iterable[ResponseCookie], *, extra: str = ""
) -> list[tuple[bytes, bytes]]:
    """The request headers a browser sends back for ``cookies`` (ASGI style)."""
    pairs = [f"{c.name}={c.value}" for c in cookies if c.max_age != 0]
    if extra:
        pairs.insert(0, extra)
    return [(b"host", b"app.example"), (b"cookie", "; ".join(pairs).encode("latin-1"))]


def make_user(user_id: str = "alice", **kwargs: Any) -> AuthenticatedUser[Any, Any]:
    """A user with tokens in ``auth_data``."""
    values: dict[str, Any] = {
        "user_id": user_id,
        "first_name": "Alice",
        "last_name": "Liddell",
        "user_type": "internal-user",
        "roles": ["pika:content-admin"],
        "custom_data": {"company": "Wonderland"},
        "auth_data": {"access_token": secrets.token_urlsafe(32)},
    }
    values.update(kwargs)
    return AuthenticatedUser[dict[str, str], dict[str, str]](**values)


@pytest.fixture
def now() -> float:
    """A fixed "current time" (epoch seconds)."""
    return NOW


@pytest.fixture
def key_factory() -> Callable[[], str]:
    """Make fresh cookie keys."""
    return make_key


@pytest.fixture
def headers_for() -> Callable[..., list[tuple[bytes, bytes]]]:
    """Turn response cookies into the request headers a browser would send."""
    return cookie_headers


@pytest.fixture
def user_factory() -> Callable[..., AuthenticatedUser[Any, Any]]:
    """Make users with tokens in ``auth_data``."""
    return make_user


@pytest.fixture
def key() -> str:
    """One cookie key."""
    return make_key()


@pytest.fixture
def config_factory(key: str) -> Callable[..., AuthplugConfig]:
    """Build a config with ``key`` unless ``cookie_keys`` is given."""

    def factory(**overrides: Any) -> AuthplugConfig:
        values: dict[str, Any] = {"cookie_keys": [key], "cookie_secure": True}
        values.update(overrides)
        return AuthplugConfig(**values)

    return factory


@pytest.fixture
def manager(config_factory: Callable[..., AuthplugConfig]) -> SessionManager:
    """A manager with secure (``__Host-``) cookies and one key."""
    return SessionManager(config_factory())


@pytest.fixture
def dev_manager(config_factory: Callable[..., AuthplugConfig]) -> SessionManager:
    """A manager for plain-HTTP development (no ``Secure``, no prefix)."""
    return SessionManager(config_factory(cookie_secure=False))


class CountingCipher:
    """Wraps a real AESGCM object and counts decrypt calls (to prove bounded work)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.decrypts = 0

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        return bytes(self.inner.encrypt(nonce, data, associated_data))

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        self.decrypts += 1
        return bytes(self.inner.decrypt(nonce, data, associated_data))


CountingManager = Callable[[AuthplugConfig], tuple[SessionManager, CountingCipher]]


@pytest.fixture
def counting_manager() -> CountingManager:
    """Build a manager for a config whose only key counts its decryptions."""

    def build(config: AuthplugConfig) -> tuple[SessionManager, CountingCipher]:
        ring = KeyRing.from_config(config)
        counting = CountingCipher(ring.primary.cipher)
        entry = KeyEntry(ring.primary.key_id, counting)  # type: ignore[arg-type]
        return SessionManager(config, keyring=KeyRing([entry])), counting

    return build


Headers = list[tuple[bytes, bytes]]


class Browser:
    """A cookie jar that applies ``Set-Cookie`` like a browser (last one per name wins)."""

    def __init__(self, cookies: dict[str, str] | None = None) -> None:
        self.cookies: dict[str, str] = dict(cookies or {})

    def receive(self, cookies: Iterable[ResponseCookie]) -> None:
        """Apply cookies to set or clear (an update keeps its place in the jar)."""
        for cookie in cookies:
            if cookie.max_age == 0:
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie.value

    def receive_response(self, response: Any) -> None:
        """Apply an httpx response's ``Set-Cookie`` headers."""
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if "max-age=0" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = rest.split(";", 1)[0]

    def header(self) -> str:
        """The ``Cookie`` header value the browser sends."""
        return "; ".join(f"{n}={v}" for n, v in self.cookies.items())

    def headers(self) -> Headers:
        """The request headers (ASGI style) the browser sends."""
        return [(b"host", b"app.example"), (b"cookie", self.header().encode("latin-1"))]

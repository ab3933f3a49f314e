"""``KeyRing`` behaviours that mutation testing showed no test pinned.

Two keys of a ring whose key ids collide (4 bytes of SHA-256: rare, but a ring
must still open what either sealed), the empty answer for an unknown key id,
and the development key's one warning, which a cookieless host never causes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.session import KeyRing, SessionManager
from authplug.session import keyring as keyring_module
from authplug.session.keyring import KEY_ID_SIZE, _EphemeralKey, key_id

Headers = list[tuple[bytes, bytes]]


def colliding_keys() -> tuple[bytes, bytes]:
    """Two different 32-byte keys with the same key id (a birthday search, ~2**16 tries)."""
    seed = secrets.token_bytes(16)
    seen: dict[bytes, bytes] = {}
    for counter in range(1 << 22):
        key = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        kid = key_id(key)
        if kid in seen:
            return seen[kid], key
        seen[kid] = key
    raise AssertionError("no key id collision found")  # pragma: no cover - p < 1e-900


def header(cookies: Any) -> Headers:
    return [(b"cookie", "; ".join(f"{c.name}={c.value}" for c in cookies).encode("latin-1"))]


def test_keys_with_colliding_ids_both_open(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    first, second = colliding_keys()
    assert first != second
    assert key_id(first) == key_id(second)
    config = config_factory()
    ring = KeyRing.from_keys([first, second])
    assert ring.candidates(key_id(first)) == ring.entries
    both = SessionManager(config, keyring=ring)
    for key, old in ((first, False), (second, True)):
        alone = SessionManager(config, keyring=KeyRing.from_keys([key]))
        session = alone.new_session(user_factory(), now)
        result = both.read(header(alone.write(session)), now)
        assert result.session == session
        assert result.needs_reseal is old


def test_an_unknown_key_id_has_no_candidates() -> None:
    ring = KeyRing.from_keys([secrets.token_bytes(32), secrets.token_bytes(32)])
    known = {entry.key_id for entry in ring.entries}
    unknown = next(
        kid for kid in (bytes([i]) * KEY_ID_SIZE for i in range(256)) if kid not in known
    )
    assert ring.candidates(unknown) == ()
    assert ring.candidates(b"") == ()


@pytest.fixture
def fresh_ephemeral(monkeypatch: pytest.MonkeyPatch) -> _EphemeralKey:
    """A process whose development key has not been made (nor warned about) yet."""
    ephemeral = _EphemeralKey()
    monkeypatch.setattr(keyring_module, "_EPHEMERAL", ephemeral)
    return ephemeral


def test_a_cookieless_host_never_warns_about_the_development_key(
    fresh_ephemeral: _EphemeralKey,
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_factory(cookie_keys=[])
    with caplog.at_level(logging.WARNING, logger="authplug.session"):
        quiet = SessionManager(config, cookieless=True)
        assert not [r for r in caplog.records if "ephemeral key" in r.getMessage()]
        loud = SessionManager(config)
        SessionManager(config)
    warnings = [r for r in caplog.records if "ephemeral key" in r.getMessage()]
    assert len(warnings) == 1
    # one key for the process: what one manager sealed, the other opens
    session = quiet.new_session(user_factory(), now)
    assert loud.read(header(quiet.write(session)), now).session == session

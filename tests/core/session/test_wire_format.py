"""Known-answer tests: the session cookie's wire format, byte for byte (issue #15).

A fixed key, nonce and payload must give exactly the bytes below, and those
bytes must open again, so a silent change of the format (layout, key id,
associated data, base64 flavour, chunk framing, payload field names) fails
here instead of logging every user out at the next deploy. Changing the
format on purpose means a new format version and new vectors here.

The layout is restated independently with ``cryptography``'s AES-GCM, so
the vectors are checked against the documented format, not only against
themselves.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authplug.config import AuthplugConfig
from authplug.session import KeyRing, SessionCodec, SessionManager

KEY = bytes(range(32))
NONCE = bytes(range(100, 112))
PURPOSE = "session:__Host-authplug_session"
PLAINTEXT = b'{"hello":"world"}'
SEALED = "AWMNzSlkZWZnaGlqa2xtbm8zObYDFYU5vARAKIeoCQ7fP-HfMRE-g1LqmrRJMN-SvCs"
"""``PLAINTEXT`` sealed under ``KEY`` with ``NONCE`` for ``PURPOSE`` (format version 1)."""

COOKIE_KEY = "KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_QEFCQ0RFRkc"
"""A configured cookie key (bytes 40..71, as ``authplug keygen`` prints keys)."""

SESSION_COOKIE = (
    "1~Ac1CJHJkZWZnaGlqa2xtbm_wA5WNzb7UsXsp9Ted6S1CO3n3YcncAqpzXxhh8bOWnzfral_dzQZmL7uzsTQstfit"
    "eIjYQW0vb6rOXY1XRtqVNGIXQS3LST42nOqh7cCu_Enxsa26sImPz3NsnVSxMJ6rBTWTqyMYcT5ZgRnNrnMu5J_FSAP4"
    "MVaj2q8jtcIjyg8ffacTLsBju1CZ7YnQhWzr-AMcGKIwwszMOoWJlh9otNVwCtefy-UorxaJCCtCAPzN5pPYmvZRRHKd"
    "zfquXEuRcqOcNSBpgSMYL1mhpYe4hlW7Hnolwsqav-N_QViKH55dGflWS2f6LpteOzF4iQBLTcG9qtXXp_xj-PKM_u8s"
    "ZtmFU-p_bZdgthZwOvFrmWug-aWofmUja55flkcAFbujIlpfAdH8P0x1OBVUQ6DpZMnGmcbYMyqHJj91xHsK"
)
"""Chunk 0 of a session written by this format version under ``COOKIE_KEY``."""


@pytest.fixture
def fixed_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the codec's nonce ``NONCE`` (the only randomness in a seal)."""
    real = os.urandom

    def urandom(size: int) -> bytes:
        return NONCE if size == len(NONCE) else real(size)

    monkeypatch.setattr(os, "urandom", urandom)


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_seal_gives_the_known_bytes(fixed_nonce: None) -> None:
    codec = SessionCodec(KeyRing.from_keys([KEY]), PURPOSE)
    assert codec.seal(PLAINTEXT) == SEALED


def test_the_known_bytes_open() -> None:
    codec = SessionCodec(KeyRing.from_keys([KEY]), PURPOSE)
    assert codec.open(SEALED) == (PLAINTEXT, False)
    assert codec.open(SEALED.encode("ascii")) == (PLAINTEXT, False)


def test_the_known_bytes_follow_the_documented_layout() -> None:
    """version | SHA-256(key)[:4] | nonce | AES-256-GCM ciphertext + tag; AD binds the purpose."""
    raw = _unb64(SEALED)
    assert raw[0] == 1
    assert raw[1:5] == hashlib.sha256(KEY).digest()[:4]
    assert raw[5:17] == NONCE
    associated = b"authplug\x00\x01\x00" + PURPOSE.encode("utf-8")
    assert raw[17:] == AESGCM(KEY).encrypt(NONCE, PLAINTEXT, associated)
    assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == SEALED


def test_the_known_bytes_open_for_no_other_purpose_or_key() -> None:
    assert SessionCodec(KeyRing.from_keys([KEY]), "session:authplug_session").open(SEALED) is None
    other = bytes(range(1, 33))
    assert SessionCodec(KeyRing.from_keys([other]), PURPOSE).open(SEALED) is None
    # Under a rotated ring the old key still opens it, flagged for re-sealing.
    assert SessionCodec(KeyRing.from_keys([other, KEY]), PURPOSE).open(SEALED) == (PLAINTEXT, True)


def test_a_session_cookie_of_this_format_version_still_reads() -> None:
    """A cookie written by this version opens to the same session (the payload field names)."""
    manager = SessionManager(AuthplugConfig(cookie_keys=[COOKIE_KEY], cookie_secure=True))
    header = f"__Host-authplug_session.0={SESSION_COOKIE}".encode("ascii")
    result = manager.read([(b"cookie", header)], 1_700_000_100.0)
    session = result.session
    assert session is not None, result.outcome
    assert session.sid == "AAAAAAAAAAAAAAAAAAAAAA"
    assert (session.created_at, session.last_seen_at, session.validated_at) == (
        1_700_000_000.0,
        1_700_000_060.0,
        1_700_000_030.0,
    )
    user = session.user
    assert (user.user_id, user.first_name, user.last_name, user.user_type) == (
        "alice",
        "Alice",
        "Liddell",
        "internal-user",
    )
    assert list(user.roles) == ["r"]
    assert user.custom_data == {"company": "W"}
    assert user.auth_data == {"access_token": "t"}


def test_the_session_cookie_framing() -> None:
    """Chunk 0 is ``<chunk count>~<sealed value>``; the value is sealed for the session purpose."""
    count, _, sealed = SESSION_COOKIE.partition("~")
    assert count == "1"
    codec = SessionCodec(KeyRing.from_keys([_unb64(COOKIE_KEY)]), PURPOSE)
    opened = codec.open(sealed)
    assert opened is not None
    assert opened[0].startswith(b'{"sid":"AAAAAAAAAAAAAAAAAAAAAA","user":{"user_id":"alice"')

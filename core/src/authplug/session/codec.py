"""``SessionCodec``: seal bytes into a cookie-safe string and open it again.

A sealed value is base64url (no padding) of::

    version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext + tag (16 bytes)

The nonce is fresh and random for every seal. The associated data binds the
format version and the cookie's *purpose* (its kind and base name), so a flow
cookie presented as the session cookie, or a cookie sealed for another
application's cookie name with the same key, fails to open. There is no
compression (a compression oracle would leak secrets through the length) and
no fallback parser for other versions.

Decoding is strict: ``=``, ``+``, ``/``, whitespace, anything outside the
base64url alphabet and non-canonical trailing bits are rejected before any
decryption. :meth:`SessionCodec.open` never raises; it answers ``None``.
"""

from __future__ import annotations

import binascii
import os

import pybase64
from cryptography.exceptions import InvalidTag

from authplug.session.keyring import KEY_ID_SIZE, Cipher, KeyRing

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "SessionCodec",
    "b64url_decode",
    "b64url_encode",
]

FORMAT_VERSION = 1
"""The format version byte every sealed value starts with."""

NONCE_SIZE = 12
"""Bytes of the random AES-GCM nonce (96 bits), fresh for every seal."""

TAG_SIZE = 16
"""Bytes of the AES-GCM authentication tag."""

HEADER_SIZE = 1 + KEY_ID_SIZE + NONCE_SIZE
"""Bytes before the ciphertext: version, key id, nonce."""

_VERSION_BYTE = bytes([FORMAT_VERSION])
_MIN_RAW = HEADER_SIZE + TAG_SIZE
_NONCE_START = 1 + KEY_ID_SIZE

_URL_ALTCHARS = b"-_"  # base64url's two characters in place of "+" and "/"
_URLSAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Allowed last characters when the length leaves unused low bits (2 or 3 chars in the last group).
_CANONICAL_LAST = {
    2: frozenset(c for i, c in enumerate(_URLSAFE) if i % 16 == 0),
    3: frozenset(c for i, c in enumerate(_URLSAFE) if i % 4 == 0),
}
_PADDING = (b"", b"", b"==", b"=")
_EQUALS = 0x3D
_b64decode = pybase64.b64decode  # b64decode(s, altchars, validate)
_b64encode = pybase64.b64encode  # b64encode(s, altchars)


def b64url_encode(raw: bytes) -> str:
    """Encode ``raw`` as base64url without padding."""
    return _b64encode(raw, _URL_ALTCHARS).rstrip(b"=").decode("ascii")


def b64url_decode(text: bytes) -> bytes | None:
    """Decode unpadded base64url strictly; ``None`` for anything non-canonical.

    The checks are made here, before decoding: a length of ``4n + 1``,
    non-zero unused bits in the last character, a ``=`` at the end, and
    ``+`` or ``/`` anywhere (pybase64 takes the standard alphabet's two
    characters beside the ``altchars`` it is given, and trailing padding).
    pybase64 (SIMD) then decodes, refusing anything else outside the
    alphabet, ``=`` inside the data included (``validate=True``): about a
    sixth of the time of ``binascii`` for a session cookie.
    """
    rest = len(text) % 4
    if rest == 1:
        return None
    if rest:
        if text[-1] not in _CANONICAL_LAST[rest]:  # a "=" last is refused here too
            return None
    elif text and text[-1] == _EQUALS:
        return None
    # "+" and "/" by find, not ``in`` (``bytes.__contains__`` first tries its
    # argument as an integer and formats a TypeError). A "=" anywhere but last
    # is padding inside the data, which pybase64 refuses (validate=True).
    if text.find(b"+") >= 0 or text.find(b"/") >= 0:
        return None
    try:
        # (text, altchars, validate) passed by position: pybase64 parses keywords slowly
        return _b64decode(text + _PADDING[rest], _URL_ALTCHARS, True)
    except (binascii.Error, ValueError):
        return None


class SessionCodec:
    """Seal and open values for one cookie purpose with a key ring.

    :param keyring: The keys; the first seals, all open.
    :param purpose: What the value is for, bound as associated data (for
        example ``"session:__Host-authplug_session"``). Values sealed for one
        purpose never open under another.
    :param max_length: Longest encoded value :meth:`open` looks at; longer
        input is rejected before decoding.
    """

    __slots__ = ("_ad", "_keyring", "_openers", "max_length", "purpose")

    def __init__(self, keyring: KeyRing, purpose: str, *, max_length: int = 96 * 1024) -> None:
        self._keyring = keyring
        self.purpose = purpose
        self.max_length = max_length
        self._ad = b"authplug\x00" + _VERSION_BYTE + b"\x00" + purpose.encode("utf-8")
        # key id -> ((cipher, sealed with an older key), ...): one lookup per open
        primary = keyring.primary
        self._openers: dict[bytes, tuple[tuple[Cipher, bool], ...]] = {
            entry.key_id: tuple(
                (candidate.cipher, candidate is not primary)
                for candidate in keyring.candidates(entry.key_id)
            )
            for entry in keyring.entries
        }

    def seal(self, plaintext: bytes) -> str:
        """Encrypt ``plaintext`` under the newest key with a fresh random nonce."""
        entry = self._keyring.primary
        header = _VERSION_BYTE + entry.key_id + os.urandom(NONCE_SIZE)
        sealed = entry.cipher.encrypt(header[-NONCE_SIZE:], plaintext, self._ad)
        return b64url_encode(header + sealed)

    def open(self, value: str | bytes) -> tuple[bytes, bool] | None:
        """Decrypt a sealed value.

        :returns: ``(plaintext, old_key)`` where ``old_key`` says it was sealed
            with a key other than the newest (re-seal it); ``None`` when the
            value is malformed, altered, sealed for another purpose or under
            a key no longer in the ring. Never raises.
        """
        try:
            if isinstance(value, bytes):
                data = value
            else:
                if len(value) > self.max_length:
                    return None
                data = value.encode("ascii")
            if len(data) > self.max_length:
                return None
            raw = b64url_decode(data)
            if raw is None or len(raw) < _MIN_RAW or raw[0] != FORMAT_VERSION:
                return None
            for cipher, old_key in self._openers.get(raw[1:_NONCE_START], ()):
                try:
                    plaintext = cipher.decrypt(
                        raw[_NONCE_START:HEADER_SIZE], raw[HEADER_SIZE:], self._ad
                    )
                except InvalidTag:
                    continue
                return plaintext, old_key
            return None
        except Exception:  # any failure to open is "not a valid value"
            return None

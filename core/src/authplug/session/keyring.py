"""The cookie key ring: AES-256-GCM cipher objects, newest first.

The first key seals, every key opens (rotation: put a new key first, keep the
old one until every session sealed with it has expired, then remove it). Each
sealed value names its key by a key id, the first bytes of the key's SHA-256,
so opening tries one cipher, not all of them. Cipher objects are built once,
when the ring is built, and reused for every request.

With no configured key (development only: production configuration refuses
it), the ring holds one random key made once per process; sessions do not
survive a restart and a WARNING says so.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authplug.config import AuthplugConfig, decode_cookie_key
from authplug.errors import ConfigError

__all__ = ["KEY_ID_SIZE", "Cipher", "KeyEntry", "KeyRing", "key_id"]

KEY_ID_SIZE = 4
"""Bytes of the key id carried in every sealed value."""

_KEY_SIZE = 32
_logger = logging.getLogger("authplug.session")


class Cipher(Protocol):
    """The AEAD operations the codec needs (what :class:`AESGCM` offers)."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        """Encrypt and authenticate ``data``; return ciphertext followed by the tag."""
        ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        """Check the tag and decrypt; raise ``InvalidTag`` when anything was altered."""
        ...


def key_id(key: bytes) -> bytes:
    """The key id of ``key``: the first :data:`KEY_ID_SIZE` bytes of its SHA-256."""
    return hashlib.sha256(key).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key of the ring: its id and its prepared cipher object (never the key)."""

    key_id: bytes
    cipher: Cipher


class _EphemeralKey:
    """One random key per process for development without configured keys."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._warned = False
        self._lock = threading.Lock()

    def get(self, *, quiet: bool = False) -> bytes:
        """The process's key; the first non-quiet caller logs the one WARNING."""
        with self._lock:
            if self._key is None:
                self._key = AESGCM.generate_key(bit_length=256)
            if not quiet and not self._warned:
                self._warned = True
                _logger.warning(
                    "authplug: no cookie_keys configured; using an ephemeral key for this "
                    "process (development only: sessions end when the process restarts). "
                    "Set AUTHPLUG_COOKIE_KEYS (see `authplug keygen`)."
                )
            return self._key


_EPHEMERAL = _EphemeralKey()


class KeyRing:
    """Cipher objects by key id; the first entry seals, all entries open.

    Build it with :meth:`from_config` or :meth:`from_keys`. The constructor
    takes prepared entries, so a test can wrap the cipher objects.
    """

    __slots__ = ("_by_id", "entries")

    def __init__(self, entries: Sequence[KeyEntry]) -> None:
        if not entries:
            raise ConfigError("cookie_keys: the key ring needs at least one key")
        self.entries: tuple[KeyEntry, ...] = tuple(entries)
        by_id: dict[bytes, tuple[KeyEntry, ...]] = {}
        for entry in self.entries:
            if len(entry.key_id) != KEY_ID_SIZE:
                raise ConfigError(f"cookie_keys: a key id must be {KEY_ID_SIZE} bytes")
            by_id[entry.key_id] = (*by_id.get(entry.key_id, ()), entry)
        self._by_id = by_id

    @classmethod
    def from_keys(cls, keys: Sequence[bytes]) -> KeyRing:
        """A ring of raw 32-byte keys, newest (sealing) first.

        :raises ConfigError: no key, or a key that is not 32 bytes.
        """
        entries = []
        for index, key in enumerate(keys):
            if len(key) != _KEY_SIZE:
                raise ConfigError(f"cookie_keys: key #{index + 1} must be {_KEY_SIZE} bytes")
            entries.append(KeyEntry(key_id=key_id(key), cipher=AESGCM(key)))
        return cls(entries)

    @classmethod
    def from_config(cls, config: AuthplugConfig, *, quiet: bool = False) -> KeyRing:
        """The ring for ``config.cookie_keys``, or the process's ephemeral key.

        ``quiet`` is for hosts whose provider sets no cookie (stateless:
        bearer tokens, identity headers): no warning about the ephemeral key,
        and production needs no configured key, since nothing is sealed.

        :raises ConfigError: a key does not decode (already checked by the
            config model), or production has no key for a provider that
            sets cookies.
        """
        keys: list[bytes] = []
        for index, secret in enumerate(config.cookie_keys):
            try:
                keys.append(decode_cookie_key(secret.get_secret_value()))
            except ValueError as exc:
                raise ConfigError(f"cookie_keys: key #{index + 1} {exc}") from None
        if not keys:
            if config.env == "production" and not quiet:
                raise ConfigError(
                    "cookie_keys: production needs at least one cookie key "
                    "(AUTHPLUG_COOKIE_KEYS, from `authplug keygen`); "
                    "ephemeral keys are for development only"
                )
            keys.append(_EPHEMERAL.get(quiet=quiet))
        return cls.from_keys(keys)

    @property
    def primary(self) -> KeyEntry:
        """The entry that seals new values."""
        return self.entries[0]

    def candidates(self, kid: bytes) -> tuple[KeyEntry, ...]:
        """The entries whose id is ``kid`` (empty when the key was removed or is foreign)."""
        return self._by_id.get(kid, ())

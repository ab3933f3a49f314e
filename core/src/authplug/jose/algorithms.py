"""The signature algorithms authplug.jose accepts, and the two python-jose lacks.

python-jose 3.5.0 verifies HS*, RS* and ES* but not RSASSA-PSS (PS256/384/512)
or EdDSA (Ed25519). :func:`register_extension_algorithms` adds them through
python-jose's own extension point, :func:`jose.jwk.register_key`, with the two
small key classes below, backed by ``cryptography``. Once registered they work
everywhere python-jose looks keys up (``jwk.construct``, ``jws.verify``), not
only in authplug. Registration happens when a provider is constructed
(never at import) and is idempotent.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from jose import jwk
from jose.backends.base import Key
from jose.exceptions import JWKError
from jose.utils import base64url_decode, base64url_encode, long_to_base64

from authplug.errors import PluginLoadError

__all__ = [
    "ASYMMETRIC",
    "EC_CURVES",
    "HMAC",
    "HMAC_MIN_BYTES",
    "RSA_FAMILY",
    "SUPPORTED",
    "EdDSAKey",
    "RSAPSSKey",
    "check_algorithm_names",
    "check_backends",
    "register_extension_algorithms",
]

HMAC: Final = frozenset({"HS256", "HS384", "HS512"})
RSA_FAMILY: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_CURVES: Final[dict[str, str]] = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
"""ECDSA algorithm -> the only curve it may be used with (RFC 7518 §3.4)."""
ASYMMETRIC: Final = RSA_FAMILY | frozenset(EC_CURVES) | {"EdDSA"}
SUPPORTED: Final = HMAC | ASYMMETRIC
"""Every algorithm name a configuration may list (case-sensitive)."""
HMAC_MIN_BYTES: Final[dict[str, int]] = {"HS256": 32, "HS384": 48, "HS512": 64}
"""Shortest HMAC secret per algorithm: the hash output size (RFC 7518 §3.2)."""


def check_algorithm_names(names: list[str], *, signed: str = "tokens") -> None:
    """Refuse a configured algorithm list naming ``none`` or anything outside :data:`SUPPORTED`.

    The one allow-list check every settings model of a JOSE-verifying provider
    runs (pydantic turns the :class:`ValueError` into a ``ConfigError`` naming
    the key).

    :param names: The configured algorithm names (case-sensitive).
    :param signed: What the algorithms sign, for the message (``"ID tokens"``).
    :raises ValueError: an empty list, ``none`` in any case, or an unknown name.
    """
    for name in names:
        if name.lower() == "none":
            raise ValueError(f'"none" is never accepted (unsigned {signed})')
        if name not in SUPPORTED:
            raise ValueError(
                f"unsupported algorithm {name!r}; choose from {', '.join(sorted(SUPPORTED))}"
            )
    if not names:
        raise ValueError("needs at least one algorithm")


_PSS_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "PS256": hashes.SHA256,
    "PS384": hashes.SHA384,
    "PS512": hashes.SHA512,
}


class RSAPSSKey(Key):
    """A python-jose key for RSASSA-PSS (PS256/PS384/PS512), backed by ``cryptography``.

    Accepts a ``cryptography`` RSA key object, an RSA JWK dict or PEM text.
    Verification uses MGF1 with the same hash and a salt as long as the hash
    output, exactly as RFC 7518 §3.5 requires (no automatic salt length).
    """

    def __init__(self, key: Any, algorithm: str) -> None:
        if algorithm not in _PSS_HASHES:
            raise JWKError("not an RSASSA-PSS algorithm")
        self._algorithm = algorithm
        self._hash = _PSS_HASHES[algorithm]()
        self._padding = padding.PSS(
            mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size
        )
        self.prepared_key: rsa.RSAPublicKey | rsa.RSAPrivateKey = _load_rsa(key)

    def sign(self, msg: bytes) -> bytes:
        """Sign ``msg`` (private keys only)."""
        if not isinstance(self.prepared_key, rsa.RSAPrivateKey):
            raise JWKError("a public key cannot sign")
        return self.prepared_key.sign(msg, self._padding, self._hash)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Return whether ``sig`` is a valid signature of ``msg``."""
        public = _rsa_public(self.prepared_key)
        try:
            public.verify(sig, msg, self._padding, self._hash)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key(self) -> RSAPSSKey:
        """This key's public half."""
        return RSAPSSKey(_rsa_public(self.prepared_key), self._algorithm)

    def to_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM."""
        return _rsa_public(self.prepared_key).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_dict(self) -> dict[str, str]:
        """The public key as a JWK."""
        numbers = _rsa_public(self.prepared_key).public_numbers()
        return {
            "alg": self._algorithm,
            "kty": "RSA",
            "n": long_to_base64(numbers.n).decode("ascii"),
            "e": long_to_base64(numbers.e).decode("ascii"),
        }


class EdDSAKey(Key):
    """A python-jose key for EdDSA over Ed25519 (RFC 8037), backed by ``cryptography``.

    Accepts a ``cryptography`` Ed25519 key object, an ``OKP`` JWK dict with
    ``crv = "Ed25519"`` or PEM text. Ed448 is not supported.
    """

    def __init__(self, key: Any, algorithm: str) -> None:
        if algorithm != "EdDSA":
            raise JWKError("not the EdDSA algorithm")
        self._algorithm = algorithm
        self.prepared_key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey = _load_ed25519(key)

    def sign(self, msg: bytes) -> bytes:
        """Sign ``msg`` (private keys only)."""
        if not isinstance(self.prepared_key, ed25519.Ed25519PrivateKey):
            raise JWKError("a public key cannot sign")
        return self.prepared_key.sign(msg)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Return whether ``sig`` is a valid signature of ``msg``."""
        try:
            _ed_public(self.prepared_key).verify(sig, msg)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key(self) -> EdDSAKey:
        """This key's public half."""
        return EdDSAKey(_ed_public(self.prepared_key), self._algorithm)

    def to_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM."""
        return _ed_public(self.prepared_key).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_dict(self) -> dict[str, str]:
        """The public key as an OKP JWK."""
        raw = _ed_public(self.prepared_key).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "alg": "EdDSA",
            "kty": "OKP",
            "crv": "Ed25519",
            "x": base64url_encode(raw).decode("ascii"),
        }


def _rsa_public(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key


def _ed_public(
    key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey,
) -> ed25519.Ed25519PublicKey:
    return key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key


def _load_pem(key: str | bytes) -> Any:
    data = key.encode("utf-8") if isinstance(key, str) else key
    try:
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        pass
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise JWKError("not a usable PEM key") from None


def _b64_int(value: Any) -> int:
    if not isinstance(value, str):
        raise JWKError("JWK member is not a string")
    try:
        return int.from_bytes(base64url_decode(value.encode("ascii")), "big")
    except (ValueError, UnicodeEncodeError):
        raise JWKError("JWK member is not base64url") from None


def _load_rsa(key: Any) -> rsa.RSAPublicKey | rsa.RSAPrivateKey:
    if isinstance(key, dict):
        if key.get("kty") != "RSA" or "d" in key:
            raise JWKError("expected a public RSA JWK")
        try:
            return rsa.RSAPublicNumbers(_b64_int(key.get("e")), _b64_int(key.get("n"))).public_key()
        except ValueError:
            raise JWKError("invalid RSA public numbers") from None
    if isinstance(key, str | bytes):
        key = _load_pem(key)
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return key
    raise JWKError("expected an RSA key")


def _load_ed25519(key: Any) -> ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey:
    if isinstance(key, dict):
        if key.get("kty") != "OKP" or key.get("crv") != "Ed25519" or "d" in key:
            raise JWKError("expected a public Ed25519 OKP JWK")
        x = key.get("x")
        if not isinstance(x, str):
            raise JWKError("JWK member is not a string")
        try:
            raw = base64url_decode(x.encode("ascii"))
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, UnicodeEncodeError):
            raise JWKError("invalid Ed25519 public key") from None
    if isinstance(key, str | bytes):
        key = _load_pem(key)
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return key
    raise JWKError("expected an Ed25519 key")


_EXTENSIONS: Final[dict[str, type[Key]]] = {
    "PS256": RSAPSSKey,
    "PS384": RSAPSSKey,
    "PS512": RSAPSSKey,
    "EdDSA": EdDSAKey,
}
_lock = threading.Lock()


def register_extension_algorithms() -> None:
    """Register PS256/PS384/PS512 and EdDSA with python-jose (idempotent).

    :raises PluginLoadError: another component already registered a
        different key class for one of these names; verifying with a class
        authplug did not vet would be unsound, so it refuses to start.
    """
    with _lock:
        for name, key_class in _EXTENSIONS.items():
            current = jwk.get_key(name)
            if current is key_class:
                continue
            if current is not None:
                raise PluginLoadError(
                    f"python-jose already has a key class for {name} "
                    f"({current.__module__}.{current.__qualname__}); authplug-jwt will not "
                    "override or trust it"
                )
            jwk.register_key(name, key_class)


def check_backends() -> None:
    """Refuse to run on python-jose's pure-Python backends.

    python-jose silently falls back to ``python-ecdsa`` (CVE-2024-23342,
    Minerva) and ``rsa`` when ``cryptography`` is missing; authplug only
    runs on the ``cryptography`` backend.

    :raises PluginLoadError: a pure-Python backend is selected.
    """
    from jose.backends import cryptography_backend as cb

    expected = {
        "RS256": cb.CryptographyRSAKey,
        "ES256": cb.CryptographyECKey,
        "HS256": cb.CryptographyHMACKey,
    }
    for name, cls in expected.items():
        if jwk.get_key(name) is not cls:
            raise PluginLoadError(
                f"python-jose does not use the cryptography backend for {name}; "
                "install python-jose[cryptography]"
            )


def ec_curve_name(key: ec.EllipticCurvePublicKey) -> str | None:
    """The JOSE name of ``key``'s curve (``P-256``...), or ``None`` when unsupported."""
    return {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name)

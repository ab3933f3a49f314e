"""Verification keys: parsed once, typed, and selected by authplug itself.

python-jose ignores ``kid`` and gives up at the first unusable key of a set, so
key selection happens here: each usable key is turned into one python-jose
key object per algorithm it may verify (a ``cryptography`` key inside, never
a PEM or JWK parsed per request), and :class:`KeySet` indexes them by
(``alg``, ``kid``). A JWK is usable only when its ``kty``/``crv`` fits the
algorithm, its ``alg`` (if any) is that algorithm, its ``use`` (if any) is
``sig`` and its ``key_ops`` (if any) include ``verify``. RSA keys need 2048
bits; EC points must lie on their curve. Symmetric (``oct``) JWKs and JWKs
carrying private members are never used.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jose import jwk
from jose.backends.base import Key
from jose.exceptions import JOSEError

from authplug.errors import ConfigError, NotAuthenticatedError
from authplug.jose.algorithms import EC_CURVES, HMAC, RSA_FAMILY, ec_curve_name
from authplug.jose.compact import b64url_decode

__all__ = [
    "MAX_KID_LENGTH",
    "KeySet",
    "UnusableKeyError",
    "VerificationKey",
    "keys_from_jwk",
    "keys_from_jwks",
    "keys_from_pem",
    "keys_from_secret",
]

_log = logging.getLogger("authplug.jose")

MAX_KID_LENGTH: Final = 1024
MIN_RSA_BITS: Final = 2048
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_CURVES: Final[dict[str, tuple[ec.EllipticCurve, int]]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
}
_CURVE_ALG: Final[dict[str, str]] = {curve: alg for alg, curve in EC_CURVES.items()}


class UnusableKeyError(ValueError):
    """A key cannot be used for verification; the message says why (no key material)."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One prepared key for one algorithm.

    Attributes:
        alg: The JWS algorithm this key verifies.
        kid: The key id, or ``None`` for keys configured without one.
        key: The python-jose key object (``cryptography`` inside).
    """

    alg: str
    kid: str | None
    key: Key


class KeySet:
    """Keys indexed for selection by (``alg``, ``kid``).

    A token with a ``kid`` is checked against the keys with that exact
    ``kid`` plus the keys configured without one; a token without ``kid``
    against every key for its algorithm. ``kid`` is only ever a dictionary
    key: it never reaches a file system, a database or a URL.
    """

    __slots__ = ("_all", "_anonymous", "_by_kid", "_kids", "size")

    def __init__(self, keys: Iterable[VerificationKey]) -> None:
        by_kid: dict[tuple[str, str], list[Key]] = {}
        anonymous: dict[str, list[Key]] = {}
        every: dict[str, list[Key]] = {}
        kids: set[str] = set()
        count = 0
        for item in keys:
            count += 1
            every.setdefault(item.alg, []).append(item.key)
            if item.kid is None:
                anonymous.setdefault(item.alg, []).append(item.key)
            else:
                kids.add(item.kid)
                by_kid.setdefault((item.alg, item.kid), []).append(item.key)
        self._by_kid = {k: tuple(v) for k, v in by_kid.items()}
        self._anonymous = {k: tuple(v) for k, v in anonymous.items()}
        self._all = {k: tuple(v) for k, v in every.items()}
        self._kids = frozenset(kids)
        self.size = count

    def candidates(self, alg: str, kid: str | None) -> tuple[Key, ...]:
        """The keys that may have signed a token with this ``alg`` and ``kid``."""
        if kid is None:
            return self._all.get(alg, ())
        return self._by_kid.get((alg, kid), ()) + self._anonymous.get(alg, ())

    def knows_kid(self, kid: str) -> bool:
        """Whether any key carries ``kid`` (for any algorithm)."""
        return kid in self._kids

    def __len__(self) -> int:
        return self.size

    def __add__(self, other: KeySet) -> KeySet:
        return KeySet([*self._items(), *other._items()])

    def _items(self) -> list[VerificationKey]:
        out = [
            VerificationKey(alg, kid, key) for (alg, kid), ks in self._by_kid.items() for key in ks
        ]
        out += [
            VerificationKey(alg, None, key) for alg, ks in self._anonymous.items() for key in ks
        ]
        return out


def _prepare(alg: str, material: Any, kid: str | None) -> VerificationKey:
    """Wrap ``material`` in python-jose's key class for ``alg`` (its registry, our classes)."""
    key_class = jwk.get_key(alg)
    if key_class is None:
        raise UnusableKeyError(f"python-jose has no key class for {alg}")
    try:
        return VerificationKey(alg, kid, key_class(material, alg))
    except (JOSEError, ValueError, TypeError) as exc:
        raise UnusableKeyError(f"python-jose refused the key ({type(exc).__name__})") from None


def _member(jwk_dict: Mapping[str, Any], name: str) -> bytes:
    value = jwk_dict.get(name)
    if not isinstance(value, str):
        raise UnusableKeyError(f"JWK member {name!r} is missing or not a string")
    try:
        return b64url_decode(value)
    except NotAuthenticatedError:
        raise UnusableKeyError(f"JWK member {name!r} is not canonical base64url") from None


def _algs_for_public_key(public: Any, allowed: frozenset[str]) -> tuple[list[str], Any]:
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise UnusableKeyError(f"RSA key has {public.key_size} bits, need {MIN_RSA_BITS}")
        return sorted(RSA_FAMILY & allowed), public
    if isinstance(public, ec.EllipticCurvePublicKey):
        curve = ec_curve_name(public)
        if curve is None:
            raise UnusableKeyError("unsupported elliptic curve")
        return [a for a in (_CURVE_ALG[curve],) if a in allowed], public
    if isinstance(public, ed25519.Ed25519PublicKey):
        return [a for a in ("EdDSA",) if a in allowed], public
    raise UnusableKeyError("unsupported key type")


def _public_from_jwk(jwk_dict: Mapping[str, Any]) -> Any:
    kty = jwk_dict.get("kty")
    try:
        if kty == "RSA":
            n = int.from_bytes(_member(jwk_dict, "n"), "big")
            e = int.from_bytes(_member(jwk_dict, "e"), "big")
            if e < 3 or e % 2 == 0:
                raise UnusableKeyError("RSA exponent is invalid")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "EC":
            crv = jwk_dict.get("crv")
            if not isinstance(crv, str) or crv not in _CURVES:
                raise UnusableKeyError("unsupported or missing EC curve")
            curve, size = _CURVES[crv]
            x, y = _member(jwk_dict, "x"), _member(jwk_dict, "y")
            if len(x) != size or len(y) != size:
                raise UnusableKeyError("EC coordinates have the wrong length")
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
            )
            return numbers.public_key()
        if kty == "OKP":
            if jwk_dict.get("crv") != "Ed25519":
                raise UnusableKeyError("unsupported OKP curve")
            return ed25519.Ed25519PublicKey.from_public_bytes(_member(jwk_dict, "x"))
    except ValueError as exc:
        if isinstance(exc, UnusableKeyError):
            raise
        raise UnusableKeyError(
            f"invalid {kty} public key (not on the curve or malformed)"
        ) from None
    if kty == "oct":
        raise UnusableKeyError("symmetric keys are not taken from a JWKS (use hmac_secret)")
    raise UnusableKeyError("unsupported or missing kty")


def keys_from_jwk(jwk_dict: Any, allowed: frozenset[str]) -> list[VerificationKey]:
    """Prepare one JWK for every allowed algorithm it may verify.

    :returns: Possibly empty (a key for algorithms that are not allowed).
    :raises UnusableKeyError: the JWK is malformed, private, weak, for
        encryption, or of an unsupported type.
    """
    if not isinstance(jwk_dict, Mapping):
        raise UnusableKeyError("JWK is not an object")
    if _PRIVATE_MEMBERS & jwk_dict.keys() and jwk_dict.get("kty") != "oct":
        raise UnusableKeyError("JWK carries private key members")
    kid = jwk_dict.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise UnusableKeyError("JWK kid is not a reasonable string")
    use = jwk_dict.get("use")
    if use is not None and use != "sig":
        raise UnusableKeyError("JWK is not a signature key (use)")
    ops = jwk_dict.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise UnusableKeyError("JWK key_ops do not include verify")
    declared = jwk_dict.get("alg")
    if declared is not None and not isinstance(declared, str):
        raise UnusableKeyError("JWK alg is not a string")
    algs, public = _algs_for_public_key(_public_from_jwk(jwk_dict), allowed)
    if declared is not None:
        algs = [a for a in algs if a == declared]
    return [_prepare(alg, public, kid) for alg in algs]


def keys_from_jwks(
    document: Any, allowed: frozenset[str], *, origin: str
) -> tuple[list[VerificationKey], list[str]]:
    """Prepare every usable key of a JWKS, skipping (and reporting) the rest.

    :param origin: Where the JWKS came from, for the skip reports.
    :returns: The keys and one problem line per skipped key.
    :raises UnusableKeyError: the document is not ``{"keys": [...]}``.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise UnusableKeyError(f'{origin}: not a JWKS ({{"keys": [...]}})')
    keys: list[VerificationKey] = []
    skipped: list[str] = []
    for index, entry in enumerate(document["keys"]):
        try:
            keys.extend(keys_from_jwk(entry, allowed))
        except UnusableKeyError as exc:
            skipped.append(f"{origin} key #{index}: {exc}")
    for line in skipped:
        _log.info("skipping JWKS key: %s", line)
    return keys, skipped


def keys_from_pem(pem: str, allowed: frozenset[str], *, kid: str | None) -> list[VerificationKey]:
    """Prepare a PEM public key or X.509 certificate for every allowed algorithm it fits.

    :raises UnusableKeyError: not a public key or certificate, weak, or unsupported.
    """
    data = pem.strip().encode("utf-8")
    if b"PRIVATE KEY" in data:
        raise UnusableKeyError("is a private key; configure the public key")
    try:
        if data.startswith(b"-----BEGIN CERTIFICATE-----"):
            public: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise UnusableKeyError("is not a PEM public key or certificate") from None
    algs, public = _algs_for_public_key(public, allowed)
    if not algs:
        raise UnusableKeyError("fits none of the configured algorithms")
    return [_prepare(alg, public, kid) for alg in algs]


def _looks_like_public_key(secret: bytes) -> bool:
    """Whether an HMAC secret is really a public key (the HS/RS confusion vector)."""
    stripped = secret.strip()
    if stripped.startswith((b"-----BEGIN", b"ssh-", b"ecdsa-sha2-", b"{")):
        return True
    candidates = [stripped]
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(stripped, validate=False))
    for blob in candidates:
        try:
            serialization.load_der_public_key(blob)
        except (ValueError, TypeError):
            continue
        return True
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(parsed, dict)


def keys_from_secret(secret: bytes, allowed: frozenset[str]) -> list[VerificationKey]:
    """Prepare an HMAC secret for every allowed HS* algorithm.

    :raises ConfigError: the secret is a public key in some encoding (PEM,
        DER, base64 DER, SSH, JWK), which would enable algorithm confusion.
    """
    if _looks_like_public_key(secret):
        raise ConfigError(
            "jwt.hmac_secret: looks like a public key (PEM/DER/SSH/JWK); an HMAC secret must "
            "be random bytes known only to the issuer and this service"
        )
    return [_prepare(alg, secret, None) for alg in sorted(HMAC & allowed)]

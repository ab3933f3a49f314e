"""``authplug.jose.keys`` behaviours that mutation testing showed no test pinned.

Combining key sets (``KeySet.__add__``) keeps every key under its algorithm
and ``kid``; ``knows_kid`` answers both ways; an HMAC secret that is really a
public key is refused in every encoding ``_looks_like_public_key`` knows of
(the HS/RS confusion vector), including the less common ones, while a random
secret is accepted for the HS algorithms only.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from authplug.errors import ConfigError
from authplug.jose.keys import KeySet, VerificationKey, keys_from_jwk, keys_from_secret

SECRET = b"an HMAC secret of random-looking bytes: 7f3a9c2e41b8d05f6e1a"


def _rs256(jose: Any, kid: str | None) -> VerificationKey:
    (key,) = keys_from_jwk(jose.public_jwk(jose.keys.rsa, kid=kid), frozenset({"RS256"}))
    return VerificationKey(key.alg, kid, key.key)


def _es256(jose: Any, kid: str | None) -> VerificationKey:
    (key,) = keys_from_jwk(jose.public_jwk(jose.keys.p256), frozenset({"ES256"}))
    return VerificationKey(key.alg, kid, key.key)


def test_adding_key_sets_keeps_each_key_under_its_alg_and_kid(jose: Any) -> None:
    named = _rs256(jose, "k1")
    anonymous = _es256(jose, None)
    left, right = KeySet([named]), KeySet([anonymous])
    both = left + right
    assert len(both) == 2
    assert both.candidates("RS256", "k1") == (named.key,)
    assert both.candidates("RS256", None) == (named.key,)
    assert both.candidates("RS256", "k2") == ()
    assert both.candidates("ES256", None) == (anonymous.key,)
    assert both.candidates("ES256", "any-kid") == (anonymous.key,)  # no kid: tried for any
    assert both.candidates("ES384", None) == ()
    assert both.knows_kid("k1")
    assert not both.knows_kid("k2")
    # the operands are left as they were
    assert len(left) == 1
    assert left.candidates("ES256", None) == ()
    assert len(right + KeySet([])) == 1


def test_knows_kid(jose: Any) -> None:
    keys = KeySet([_rs256(jose, "k1"), _es256(jose, None)])
    assert keys.knows_kid("k1")
    assert not keys.knows_kid("k0")
    assert not KeySet([]).knows_kid("k1")


def _der(jose: Any) -> bytes:
    return jose.keys.rsa.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _refused(secret: bytes) -> None:
    with pytest.raises(ConfigError, match="looks like a public key"):
        keys_from_secret(secret, frozenset({"HS256"}))


def test_a_public_key_is_refused_as_an_hmac_secret_in_every_encoding(jose: Any) -> None:
    public = jose.keys.rsa.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    openssh_rsa = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    openssh_ec = jose.keys.p256.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert openssh_ec.startswith(b"ecdsa-sha2-nistp256 ")
    der = _der(jose)
    wrapped = base64.encodebytes(der)  # base64 DER in 76-character lines
    assert b"\n" in wrapped.strip()
    jwk = json.dumps(jose.public_jwk(jose.keys.rsa)).encode()
    for secret in (
        pem,
        b"  " + pem + b"\n",
        openssh_rsa,
        openssh_ec,
        der,
        base64.b64encode(der),
        wrapped,
        jwk,
        jwk[: len(jwk) // 2],  # a JWK cut short: still not a secret
        jwk.decode().encode("utf-16"),  # a JWK in UTF-16 (json reads it; it has a BOM)
    ):
        _refused(secret)


def test_a_random_secret_is_accepted_for_the_hs_algorithms_only() -> None:
    allowed = frozenset({"HS256", "HS512", "RS256", "ES256"})
    keys = keys_from_secret(SECRET, allowed)
    assert [(k.alg, k.kid) for k in keys] == [("HS256", None), ("HS512", None)]
    # a secret whose base64 reading fails (bad padding) or is not DER is still a secret
    assert [k.alg for k in keys_from_secret(b"x" * 33, frozenset({"HS256"}))] == ["HS256"]
    assert [k.alg for k in keys_from_secret(b"QUJDRA==", frozenset({"HS384"}))] == ["HS384"]
    assert keys_from_secret(SECRET, frozenset({"RS256"})) == []

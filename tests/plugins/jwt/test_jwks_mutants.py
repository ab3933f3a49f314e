"""When a JWKS refetch is due, with configured keys beside the JWKS URL.

Mutation testing showed no test combined configured keys with a JWKS URL: a
token naming a configured ``kid`` must not cost a refetch, and a token
naming a ``kid`` nobody knows must still trigger one when a configured key
without ``kid`` is a candidate (the issuer may have just published the key).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from authplug_jwt import JwtProvider


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _provider(kit: Any, url: str, clock: Clock, public_keys: Any) -> JwtProvider:
    settings = kit.settings(
        jwks_url=url,
        public_keys=public_keys,
        jwks_refetch_interval=30,
        jwks_cache_ttl=600,
        cache_size=0,
    )
    return JwtProvider(settings, monotonic=clock)


def test_a_configured_kid_costs_no_refetch(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock, {"s1": _pem(kit.keys.rsa_other)})
    assert provider.verify(kit.rs256())["sub"] == "user-1"
    assert server.requests == ["/jwks"]
    clock.now += 60  # a refetch would be allowed now
    static = kit.mint(
        {"alg": "RS256", "typ": "JWT", "kid": "s1"},
        kit.claims(),
        kit.rsa_signer(kit.keys.rsa_other),
    )
    assert provider.verify(static)["sub"] == "user-1"
    assert server.requests == ["/jwks"]


def test_an_unknown_kid_refetches_even_beside_a_key_without_kid(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock, [_pem(kit.keys.rsa)])
    assert provider.verify(kit.rs256())["sub"] == "user-1"
    # The issuer publishes a new key and signs with it.
    server.documents["/jwks"] = {
        "keys": [
            kit.public_jwk(kit.keys.rsa, kid="k1"),
            kit.public_jwk(kit.keys.rsa_other, kid="k2"),
        ]
    }
    clock.now += 60
    new = kit.mint(
        {"alg": "RS256", "typ": "JWT", "kid": "k2"},
        kit.claims(),
        kit.rsa_signer(kit.keys.rsa_other),
    )
    assert provider.verify(new)["sub"] == "user-1"
    assert server.requests == ["/jwks", "/jwks"]

"""Tokens minted by independent libraries — npm ``jose`` (Node) and PyJWT — are
verified by authplug-jwt, with the JWKS served over loopback HTTP so fetching,
TTL caching, refetch on an unknown ``kid`` and key rotation are exercised."""

from __future__ import annotations

import base64
import inspect
import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authplug.request import AuthRequest
from authplug.results import Authenticated
from authplug_jwt import JwtProvider, JwtSettings, TokenRejectedError

pytestmark = pytest.mark.interop

ISSUER = "https://interop-issuer.example/"
AUDIENCE = "https://interop-api.example"
NODE_ALGS = ["RS256", "ES256", "ES384", "PS256", "EdDSA"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _provider(url: str, clock: Clock, **extra: Any) -> JwtProvider:
    settings = JwtSettings(
        issuer=[ISSUER],
        audience=[AUDIENCE],
        algorithms=[*NODE_ALGS, "RS384", "ES512", "PS384", "PS512", "RS512"],
        jwks_url=url,
        jwks_refetch_interval=30,
        **extra,
    )
    return JwtProvider(settings, monotonic=clock)


def _request(token: str) -> AuthRequest:
    return AuthRequest(
        method="GET", path="/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )


def _node(node_mint: Any, generation: str, **claims: Any) -> dict[str, Any]:
    return node_mint(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "generation": generation,
            "algs": NODE_ALGS,
            "claims": {"given_name": "Interop", "roles": ["r1"], **claims},
        }
    )


# -- npm jose -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_npm_jose_tokens_verify(node_mint: Any, jwks_server: Any) -> None:
    minted = _node(node_mint, "a")
    jwks_server.jwks = minted["jwks"]
    provider = _provider(jwks_server.url, Clock())
    first = provider.authenticate(_request(minted["tokens"]["RS256"]))
    assert inspect.isawaitable(first)  # keys not fetched yet: the async path fetches
    result = await first
    assert isinstance(result, Authenticated)
    for alg in NODE_ALGS:
        claims = provider.verify(minted["tokens"][alg])
        assert claims["alg_used"] == alg
        assert claims["sub"] == "interop-user"
        user = provider.authenticate(_request(minted["tokens"][alg]))
        assert isinstance(user, Authenticated)
        assert user.user.first_name == "Interop"
        assert user.user.roles == ("r1",)
    assert jwks_server.requests == ["/jwks"]  # fetched once, then cached


def test_npm_jose_key_rotation(node_mint: Any, jwks_server: Any) -> None:
    old, new = _node(node_mint, "old"), _node(node_mint, "new")
    clock = Clock()
    jwks_server.jwks = old["jwks"]
    provider = _provider(jwks_server.url, clock)
    for alg in NODE_ALGS:
        assert provider.verify(old["tokens"][alg])["alg_used"] == alg
    # Rotation: the issuer publishes both generations and signs with the new one.
    jwks_server.jwks = {"keys": old["jwks"]["keys"] + new["jwks"]["keys"]}
    clock.now += 31
    for alg in NODE_ALGS:
        assert provider.verify(new["tokens"][alg])["alg_used"] == alg
    assert len(jwks_server.requests) == 2  # one refetch for the unknown kids
    assert provider.verify(old["tokens"]["ES256"])  # both generations trusted meanwhile
    # The old generation is withdrawn; after the TTL its tokens stop verifying.
    jwks_server.jwks = new["jwks"]
    clock.now += 601
    assert provider.verify(new["tokens"]["EdDSA"])
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(old["tokens"]["PS256"])
    assert info.value.code == "unknown_key"
    assert len(jwks_server.requests) == 3


def test_npm_jose_tampering_and_foreign_audience(node_mint: Any, jwks_server: Any) -> None:
    minted = _node(node_mint, "t")
    jwks_server.jwks = minted["jwks"]
    provider = _provider(jwks_server.url, Clock())
    for alg in NODE_ALGS:
        header, payload, signature = minted["tokens"][alg].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["sub"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        with pytest.raises(TokenRejectedError) as info:
            provider.verify(f"{header}.{forged}.{signature}")
        assert info.value.code == "invalid_signature"
    other = node_mint(
        {
            "issuer": ISSUER,
            "audience": "https://someone-else.example",
            "generation": "t",
            "algs": ["ES256"],
            "claims": {},
        }
    )
    jwks_server.jwks = {"keys": minted["jwks"]["keys"] + other["jwks"]["keys"]}
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(other["tokens"]["ES256"])
    assert info.value.code in {"invalid_audience", "unknown_key", "invalid_signature"}


def test_npm_jose_rfc9068_access_token(node_mint: Any, jwks_server: Any) -> None:
    minted = node_mint(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "generation": "at",
            "algs": ["RS256"],
            "typ": "at+jwt",
            "claims": {"client_id": "c1", "scope": "read"},
        }
    )
    jwks_server.jwks = minted["jwks"]
    provider = _provider(jwks_server.url, Clock(), accepted_types=["at+jwt"], require_type=True)
    assert provider.verify(minted["tokens"]["RS256"])["client_id"] == "c1"


# -- PyJWT --------------------------------------------------------------------------


def _pyjwt_jwk(alg: str, private: Any, kid: str) -> dict[str, Any]:
    algorithm = pyjwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(private.public_key()))
    return {**jwk, "kid": kid}


@pytest.mark.parametrize(
    ("alg", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("RS512", lambda: rsa.generate_private_key(65537, 3072)),
        ("PS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("PS512", lambda: rsa.generate_private_key(65537, 2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("ES512", lambda: ec.generate_private_key(ec.SECP521R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_pyjwt_tokens_verify(alg: str, make_key: Any, jwks_server: Any) -> None:
    private = make_key()
    jwks_server.jwks = {"keys": [_pyjwt_jwk(alg, private, "py-1")]}
    provider = _provider(jwks_server.url, Clock())
    token = pyjwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "py-user", "iat": _now(), "exp": _now() + 300},
        private,
        algorithm=alg,
        headers={"kid": "py-1"},
    )
    assert provider.verify(token)["sub"] == "py-user"
    result = provider.authenticate(_request(token))
    assert not inspect.isawaitable(result)
    assert isinstance(result, Authenticated)
    assert result.user.user_id == "py-user"


def test_pyjwt_hs256() -> None:
    secret = "interop-secret-interop-secret-interop-secret!"
    provider = JwtProvider(
        JwtSettings(issuer=[ISSUER], audience=[AUDIENCE], algorithms=["HS256"], hmac_secret=secret)
    )
    token = pyjwt.encode(
        {"iss": ISSUER, "aud": [AUDIENCE], "sub": "h", "iat": _now(), "exp": _now() + 60},
        secret,
        algorithm="HS256",
    )
    assert provider.verify(token)["sub"] == "h"


def _now() -> int:
    import time

    return int(time.time())

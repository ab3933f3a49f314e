"""The JWKS URL against a real loopback HTTP server: fetching, TTL caching,
rate-limited refetch on an unknown kid, rotation, failures, and header
injection (jku/x5u/jwk/x5c) that must cause no outbound request at all."""

from __future__ import annotations

import datetime
import inspect
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from authplug.errors import ProviderUnavailableError
from authplug.results import Authenticated
from authplug_jwt import JwtProvider, TokenRejectedError


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _provider(kit: Any, url: str, clock: Clock, **overrides: Any) -> JwtProvider:
    values: dict[str, Any] = {"jwks_url": url, "jwks_refetch_interval": 30, "jwks_cache_ttl": 600}
    values.update(overrides)
    return JwtProvider(kit.settings(**values), monotonic=clock)


def _code(provider: JwtProvider, token: str) -> str:
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(token)
    return info.value.code


def test_fetch_once_then_cached_until_ttl(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock)
    assert server.requests == []  # nothing fetched at start-up
    for _ in range(3):
        assert provider.verify(kit.rs256())["sub"] == "user-1"
    assert server.requests == ["/jwks"]
    clock.now += 599
    provider.verify(kit.rs256())
    assert server.requests == ["/jwks"]
    clock.now += 2
    provider.verify(kit.rs256())
    assert server.requests == ["/jwks", "/jwks"]


def test_unknown_kid_refetch_is_rate_limited(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock)
    provider.verify(kit.rs256())
    clock.now += 60
    for kid in ("spray-1", "spray-2", "spray-3", "spray-4"):
        assert _code(provider, kit.rs256({"kid": kid})) == "unknown_key"
    assert server.requests == ["/jwks", "/jwks"]  # one refetch for four unknown kids
    clock.now += 31
    assert _code(provider, kit.rs256({"kid": "spray-5"})) == "unknown_key"
    assert len(server.requests) == 3


def test_key_rotation(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock)
    provider.verify(kit.rs256())
    # The issuer publishes a new key next to the old one, then signs with it.
    server.documents["/jwks"] = {
        "keys": [
            kit.public_jwk(kit.keys.rsa, kid="k1"),
            kit.public_jwk(kit.keys.rsa_other, kid="k2"),
        ]
    }
    new = kit.mint({"alg": "RS256", "kid": "k2"}, kit.claims(), kit.rsa_signer(kit.keys.rsa_other))
    clock.now += 31
    assert provider.verify(new)["sub"] == "user-1"
    assert len(server.requests) == 2
    # Then it retires the old key: after the TTL old tokens stop verifying.
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa_other, kid="k2")]}
    clock.now += 601
    assert provider.verify(new)
    assert len(server.requests) == 3
    assert _code(provider, kit.rs256()) == "unknown_key"


def test_first_fetch_failure_is_provider_unavailable(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.status = 500
    server.documents["/jwks"] = {"keys": []}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock)
    with pytest.raises(ProviderUnavailableError) as info:
        provider.verify(kit.rs256())
    assert info.value.status == 503
    # the host that failed (the JWKS URL's), not the issuer's (issue #13 item 7)
    host = server.url.removeprefix("http://")
    assert info.value.provider == host
    assert host in info.value.message
    assert "issuer.example" not in info.value.message
    assert "HTTP 500" in str(info.value)
    # Within the retry interval the issuer is not asked again.
    with pytest.raises(ProviderUnavailableError):
        provider.verify(kit.rs256())
    assert len(server.requests) == 1
    server.status = 200
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock.now += 31
    assert provider.verify(kit.rs256())


def test_refetch_failure_keeps_previous_keys(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    clock = Clock()
    provider = _provider(kit, server.url_for("/jwks"), clock)
    provider.verify(kit.rs256())
    server.status = 503
    clock.now += 700
    assert provider.verify(kit.rs256())["sub"] == "user-1"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b'{"keys": "nope"}',
        b"[]",
        b'{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}',
        b"{" * 100_000,
    ],
    ids=["html", "keys-not-list", "array", "weak-key-only", "deep"],
)
def test_unusable_jwks_documents(kit: Any, loopback: Any, body: bytes) -> None:
    server = loopback()
    server.documents["/jwks"] = body
    provider = _provider(kit, server.url_for("/jwks"), Clock())
    with pytest.raises(ProviderUnavailableError):
        provider.verify(kit.rs256())


def test_oversized_jwks(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {
        "keys": [kit.public_jwk(kit.keys.rsa, kid="k1")],
        "padding": "x" * 4096,
    }
    provider = _provider(kit, server.url_for("/jwks"), Clock(), jwks_max_bytes=1024)
    with pytest.raises(ProviderUnavailableError, match="too large"):
        provider.verify(kit.rs256())


def test_redirects_are_not_followed(kit: Any, loopback: Any) -> None:
    target = loopback()
    target.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    server = loopback()
    server.redirect_to = target.url_for("/jwks")
    provider = _provider(kit, server.url_for("/jwks"), Clock())
    with pytest.raises(ProviderUnavailableError, match="HTTP 302"):
        provider.verify(kit.rs256())
    assert target.requests == []


def test_unreachable_jwks(kit: Any) -> None:
    provider = _provider(kit, "http://127.0.0.1:9/jwks", Clock(), jwks_timeout=2)
    with pytest.raises(ProviderUnavailableError) as info:
        provider.verify(kit.rs256())
    assert info.value.provider == "127.0.0.1:9"  # the host that failed (issue #13 item 7)


@pytest.mark.anyio
async def test_authenticate_fetches_without_blocking(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    provider = _provider(kit, server.url_for("/jwks"), Clock())
    pending = provider.authenticate(kit.request(kit.rs256()))
    assert inspect.isawaitable(pending)
    result = await pending
    assert isinstance(result, Authenticated)
    # Keys are now cached: the next token is answered synchronously.
    again = provider.authenticate(kit.request(kit.rs256(sub="user-2")))
    assert isinstance(again, Authenticated)
    assert again.user.user_id == "user-2"
    assert server.requests == ["/jwks"]


@pytest.mark.anyio
async def test_async_fetch_failure(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.status = 500
    server.documents["/jwks"] = {}
    provider = _provider(kit, server.url_for("/jwks"), Clock())
    pending = provider.authenticate(kit.request(kit.rs256()))
    assert inspect.isawaitable(pending)
    with pytest.raises(ProviderUnavailableError):
        await pending


@pytest.mark.anyio
async def test_async_rejection_after_fetch(kit: Any, loopback: Any) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    provider = _provider(kit, server.url_for("/jwks"), Clock())
    pending = provider.authenticate(kit.request(kit.rs256(exp=1)))
    with pytest.raises(TokenRejectedError) as info:
        await pending
    assert info.value.code == "token_expired"


# -- header injection: keys never come from the token --------------------------------


def _attacker_cert(key: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    import base64

    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.mark.parametrize("kid", ["k1", "attacker", None])
@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c", "all"])
def test_token_supplied_keys_are_never_used_or_fetched(
    kit: Any, loopback: Any, header: str, kid: str | None
) -> None:
    idp = loopback()
    idp.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    attacker = loopback()
    attacker_key = kit.keys.rsa_other
    attacker.documents["/jwks.json"] = {"keys": [kit.public_jwk(attacker_key, kid="attacker")]}
    attacker.documents["/cert.pem"] = b"-----BEGIN CERTIFICATE-----"
    values = {
        "jku": attacker.url_for("/jwks.json"),
        "x5u": attacker.url_for("/cert.pem"),
        "jwk": kit.public_jwk(attacker_key, kid="attacker"),
        "x5c": [_attacker_cert(attacker_key)],
    }
    head: dict[str, Any] = {"alg": "RS256"}
    if kid is not None:
        head["kid"] = kid
    if header == "all":
        head.update(values)
    else:
        head[header] = values[header]
    provider = _provider(kit, idp.url_for("/jwks"), Clock())
    token = kit.mint(head, kit.claims(), kit.rsa_signer(attacker_key))
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(token)
    assert info.value.code in {"invalid_signature", "unknown_key"}
    assert attacker.requests == []
    assert idp.requests == ["/jwks"]
    # A genuine token that merely carries such a header still verifies with the IdP key.
    genuine = kit.mint(head | {"kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    assert provider.verify(genuine)["sub"] == "user-1"
    assert attacker.requests == []

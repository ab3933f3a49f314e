"""How ``IdTokenValidator`` is set up from the settings and the server metadata.

Mutation testing showed these unpinned: the allowed algorithms when the
server advertises none, the JWKS client made only when there is a
``jwks_uri`` *and* an asymmetric algorithm (with the configured timeout), the
client secret turned into keys only for HS* algorithms, the provider named
in the "no common algorithm" error, ``typ`` optional, and a server without
an issuer (plain OAuth 2.0 metadata) never matching a made-up ``iss``.
"""

from __future__ import annotations

from typing import Any

import pytest

from authplug.errors import ProviderUnavailableError
from authplug_oauth.id_token import IdTokenValidator
from authplug_oauth.metadata import ServerMetadata
from authplug_oauth.settings import OAuthSettings

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.test"
CLIENT = "client-1"
SECRET = "an-hmac-client-secret-of-enough-length-0123456789"
NOW = 1_700_000_000.0


def _settings(**changes: Any) -> OAuthSettings:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "algorithms": ["HS256"],
        "timeout": 3.5,
    }
    values.update(changes)
    return OAuthSettings(**values)


def _metadata(**changes: Any) -> ServerMetadata:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "id_token_algorithms": ("HS256",),
    }
    values.update(changes)
    return ServerMetadata(**values)


def _token(jose_tokens: Any, header: dict[str, Any], **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "user-1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 300,
    }
    claims.update(changes)
    return str(jose_tokens.mint(header, claims, jose_tokens.hmac_signer(SECRET.encode())))


def test_no_common_algorithm_names_the_server() -> None:
    metadata = _metadata(id_token_algorithms=("RS256",))
    with pytest.raises(ProviderUnavailableError) as caught:
        IdTokenValidator(_settings(), metadata)
    assert caught.value.provider == metadata.name == "idp.test"


def test_a_server_advertising_no_algorithm_allows_the_configured_ones() -> None:
    metadata = _metadata(id_token_algorithms=(), jwks_uri=f"{ISSUER}/jwks")
    validator = IdTokenValidator(_settings(algorithms=["RS256", "ES256"]), metadata)
    assert validator.allowed == frozenset({"RS256", "ES256"})


def test_the_allowed_algorithms_are_the_common_ones() -> None:
    metadata = _metadata(id_token_algorithms=("RS256", "PS256"), jwks_uri=f"{ISSUER}/jwks")
    validator = IdTokenValidator(_settings(algorithms=["RS256", "ES256"]), metadata)
    assert validator.allowed == frozenset({"RS256"})


def test_a_jwks_client_only_for_a_jwks_uri_and_an_asymmetric_algorithm() -> None:
    jwks = f"{ISSUER}/jwks"
    rsa = ("RS256",)
    with_keys = IdTokenValidator(
        _settings(algorithms=list(rsa)), _metadata(id_token_algorithms=rsa, jwks_uri=jwks)
    )
    assert with_keys.remote is not None
    assert with_keys.remote.url == jwks
    assert with_keys.remote.allowed == frozenset(rsa)
    assert with_keys.remote.timeout == 3.5
    hmac_only = IdTokenValidator(_settings(), _metadata(jwks_uri=jwks))
    assert hmac_only.remote is None
    no_uri = IdTokenValidator(_settings(algorithms=list(rsa)), _metadata(id_token_algorithms=rsa))
    assert no_uri.remote is None


def test_a_secret_that_looks_like_a_public_key_is_no_concern_without_hs_algorithms() -> None:
    """The client secret only keys HS* ID tokens: with none allowed it is not inspected."""
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----"
    metadata = _metadata(id_token_algorithms=("RS256",), jwks_uri=f"{ISSUER}/jwks")
    validator = IdTokenValidator(_settings(algorithms=["RS256"], client_secret=pem), metadata)
    assert validator.allowed == frozenset({"RS256"})


async def test_an_id_token_without_typ_is_accepted(jose_tokens: Any) -> None:
    validator = IdTokenValidator(_settings(), _metadata(), clock=lambda: NOW)
    token = _token(jose_tokens, {"alg": "HS256"})
    claims = await validator.verify(token, nonce=None, access_token=None)
    assert claims["sub"] == "user-1"

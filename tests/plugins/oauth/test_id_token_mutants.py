"""``IdTokenValidator`` and ``at_hash`` cases that mutation testing showed no test pinned.

The validator is driven directly, with an HS256 client secret (static key, no
network): a one-element ``aud`` list needs no ``azp``, an ID token without
``at_hash`` is accepted, an empty ``sub`` is refused by the validator itself,
and a ``nonce``/``at_hash`` that cannot be encoded is a rejection, never a
crash. ``at_hash`` is checked against OpenID Connect Core 3.1.3.6 computed
here, for each hash size, EdDSA and a non-ASCII access token.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.id_token import IdTokenValidator, at_hash
from authplug_oauth.metadata import ServerMetadata
from authplug_oauth.settings import OAuthSettings

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.test"
CLIENT = "client-1"
SECRET = "an-hmac-client-secret-of-enough-length-0123456789"
NOW = 1_700_000_000.0
NONCE = "n-0S6_WzA2Mj"
ACCESS = "access-token-abc"


@pytest.fixture
def validator() -> IdTokenValidator:
    settings = OAuthSettings(
        issuer=ISSUER, client_id=CLIENT, client_secret=SECRET, algorithms=["HS256"]
    )
    metadata = ServerMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        id_token_algorithms=("HS256",),
    )
    return IdTokenValidator(settings, metadata, clock=lambda: NOW)


def _spec_at_hash(access_token: bytes, digest: Any) -> str:
    half = digest(access_token).digest()
    return base64.urlsafe_b64encode(half[: len(half) // 2]).rstrip(b"=").decode()


def _token(jose_tokens: Any, **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "user-1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 300,
        "nonce": NONCE,
        "at_hash": _spec_at_hash(ACCESS.encode(), hashlib.sha256),
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    header = {"alg": "HS256", "typ": "JWT"}
    return str(jose_tokens.mint(header, claims, jose_tokens.hmac_signer(SECRET.encode())))


async def _verify(validator: IdTokenValidator, token: str) -> dict[str, Any]:
    return await validator.verify(token, nonce=NONCE, access_token=ACCESS)


async def test_the_token_as_minted_is_accepted(validator: Any, jose_tokens: Any) -> None:
    assert (await _verify(validator, _token(jose_tokens)))["sub"] == "user-1"


async def test_a_one_element_audience_list_needs_no_azp(validator: Any, jose_tokens: Any) -> None:
    claims = await _verify(validator, _token(jose_tokens, aud=[CLIENT]))
    assert claims["aud"] == [CLIENT]


async def test_without_at_hash_the_access_token_is_not_checked(
    validator: Any, jose_tokens: Any
) -> None:
    claims = await _verify(validator, _token(jose_tokens, at_hash=None))
    assert "at_hash" not in claims


async def test_an_empty_sub_is_refused(validator: Any, jose_tokens: Any) -> None:
    with pytest.raises(OAuthLoginError) as caught:
        await _verify(validator, _token(jose_tokens, sub=""))
    assert caught.value.code == "missing_sub"


@pytest.mark.parametrize(
    ("claim", "code"),
    [("nonce", "invalid_nonce"), ("at_hash", "invalid_at_hash")],
    ids=["nonce", "at_hash"],
)
async def test_an_unencodable_claim_is_a_rejection(
    validator: Any, jose_tokens: Any, claim: str, code: str
) -> None:
    # "\ud800" in JSON is a lone surrogate: Python text that UTF-8 cannot encode.
    with pytest.raises(OAuthLoginError) as caught:
        await _verify(validator, _token(jose_tokens, **{claim: "\ud800"}))
    assert caught.value.code == code


def _ending_in(letter: str, digest: Any) -> bytes:
    """An access token whose at_hash (for ``digest``) ends with ``letter``."""
    for n in range(100_000):
        candidate = f"token-{n}".encode()
        if _spec_at_hash(candidate, digest).endswith(letter):
            return candidate
    raise AssertionError("no such token")


@pytest.mark.parametrize(
    ("alg", "digest"),
    [
        ("RS256", hashlib.sha256),
        ("ES384", hashlib.sha384),
        ("PS512", hashlib.sha512),
        ("EdDSA", hashlib.sha512),  # Ed25519: SHA-512, as OpenID Connect registers it
    ],
    ids=["256", "384", "512", "eddsa"],
)
def test_at_hash_is_the_left_half_of_the_algorithm_hash(alg: str, digest: Any) -> None:
    tokens = [b"access-token-abc"]
    if digest is hashlib.sha384:
        # 24 bytes encode to 32 characters without padding: the last one may be any,
        # and stripping the padding must not strip it
        tokens.append(_ending_in("X", digest))
    for token in tokens:
        assert at_hash(token.decode(), alg) == _spec_at_hash(token, digest)
    # a non-ASCII access token is hashed with its non-ASCII characters as "?"
    assert at_hash("t\u00f6ken", alg) == _spec_at_hash(b"t?ken", digest)


async def test_a_refreshed_id_token_keeps_the_login_audience(jose_tokens: Any) -> None:
    settings = OAuthSettings(
        issuer=ISSUER,
        client_id=CLIENT,
        client_secret=SECRET,
        algorithms=["HS256"],
        trusted_audiences=["https://api.example"],
    )
    metadata = ServerMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        id_token_algorithms=("HS256",),
    )
    validator = IdTokenValidator(settings, metadata, clock=lambda: NOW)
    login = {"iss": ISSUER, "sub": "user-1", "aud": CLIENT}
    same = _token(jose_tokens, nonce=None, aud=[CLIENT])
    claims = await validator.verify(same, nonce=None, access_token=ACCESS, previous=login)
    assert claims["sub"] == "user-1"
    wider = _token(jose_tokens, nonce=None, aud=[CLIENT, "https://api.example"], azp=CLIENT)
    await validator.verify(wider, nonce=None, access_token=ACCESS)  # fine at a login
    with pytest.raises(OAuthLoginError) as caught:
        await validator.verify(wider, nonce=None, access_token=ACCESS, previous=login)
    assert caught.value.detail == "refresh changed aud"
    other = _token(jose_tokens, nonce=None, sub="user-2")
    with pytest.raises(OAuthLoginError) as changed:
        await validator.verify(other, nonce=None, access_token=ACCESS, previous=login)
    assert changed.value.detail == "refresh changed sub"

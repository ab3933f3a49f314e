"""``TokenVerifier``, ``b64url_decode`` and JWK checks that mutation testing showed unpinned.

A key that *raises* while verifying (no backend python-jose ships does today;
a broken or stricter one may) must count as a failed key, never end the
search with the token accepted; the verified token names its algorithm; a token without ``nbf`` or
``iat`` has a window open at the start; a segment outside base64url is
``malformed_token``; RSA exponents and EC curves and coordinates are checked
exactly; a token typed as an access token (bare or as a media type) with a
nonce is refused even when other types are accepted; and a JWKS fetch that
another request made meanwhile is not made again.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jose.backends.base import Key

from authplug.jose.claims import ClaimRules
from authplug.jose.compact import b64url_decode
from authplug.jose.errors import TokenRejectedError
from authplug.jose.jwks import RemoteJwks
from authplug.jose.keys import (
    KeySet,
    UnusableKeyError,
    VerificationKey,
    keys_from_jwk,
    keys_from_secret,
)
from authplug.jose.verify import ParsedToken, TokenVerifier

NOW = 1_700_000_000
ISSUER = "https://issuer.example"
CLAIMS = {"iss": ISSUER, "aud": "api", "sub": "u", "exp": NOW + 300}


def _verifier(keys: KeySet, allowed: set[str]) -> TokenVerifier:
    return TokenVerifier(
        allowed=frozenset(allowed),
        static_keys=keys,
        remote=None,
        rules=ClaimRules.build(
            issuers=[ISSUER],
            audiences=["api"],
            additional_audiences=[],
            leeway=0,
            max_age=None,
            required=[],
        ),
        accepted_types=frozenset({"jwt"}),
        require_type=False,
        max_token_bytes=8192,
        clock=lambda: float(NOW),
    )


class _RaisingKey(Key):
    """A key whose backend raises while verifying (as a broken or stricter backend may)."""

    def __init__(self) -> None:
        pass

    def verify(self, msg: bytes, sig: bytes) -> bool:
        raise ValueError("backend failure")


def test_a_key_that_raises_is_a_failed_key_not_a_pass(jose: Any) -> None:
    real = keys_from_jwk(jose.public_jwk(jose.keys.p256), frozenset({"ES256"}))
    good = jose.mint({"alg": "ES256"}, CLAIMS, jose.ec_signer(jose.keys.p256, hashes.SHA256))
    head, payload, _ = good.split(".")
    forged = f"{head}.{payload}.{jose.b64(bytes(64))}"
    raising = VerificationKey("ES256", None, _RaisingKey())
    # the raising key first: the next key is still tried
    both = _verifier(KeySet([raising, *real]), {"ES256"})
    assert both.verify(good).claims["sub"] == "u"
    with pytest.raises(TokenRejectedError) as caught:
        both.verify(forged)
    assert caught.value.code == "invalid_signature"
    # only the raising key: the token is refused, never taken as verified
    alone = _verifier(KeySet([raising]), {"ES256"})
    for token in (good, forged):
        with pytest.raises(TokenRejectedError) as refused:
            alone.verify(token)
        assert refused.value.code == "invalid_signature"


def test_the_verified_token_names_its_algorithm_and_an_open_start(jose: Any) -> None:
    secret = b"a-test-hmac-secret-that-is-long-enough-0123456789"
    keys = KeySet(keys_from_secret(secret, frozenset({"HS384"})))
    token = jose.mint({"alg": "HS384"}, CLAIMS, jose.hmac_signer(secret, "sha384"))
    verified = _verifier(keys, {"HS384"}).verify(token)
    assert verified.alg == "HS384"
    assert verified.validity.not_before == -math.inf  # no nbf, no iat
    assert verified.validity.holds_at(0.0)
    assert not verified.validity.holds_at(NOW + 300.0)


@pytest.mark.parametrize("segment", ["ab+c", "ab/c", "ab=c", "ab c", "a"], ids=str)
def test_a_segment_outside_base64url_is_malformed(segment: str) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        b64url_decode(segment)
    assert caught.value.code == "malformed_token"


def _rsa_jwk(jose: Any, exponent: int) -> dict[str, Any]:
    jwk = dict(jose.public_jwk(jose.keys.rsa))
    jwk["e"] = jose.b64(exponent.to_bytes((exponent.bit_length() + 7) // 8 or 1, "big"))
    return jwk


def test_rsa_exponents(jose: Any) -> None:
    for usable in (3, 5, 65537):
        assert [k.alg for k in keys_from_jwk(_rsa_jwk(jose, usable), frozenset({"RS256"}))] == [
            "RS256"
        ]
    for unusable in (0, 1, 2, 4, 6, 9 + 1, 65536):
        with pytest.raises(UnusableKeyError):
            keys_from_jwk(_rsa_jwk(jose, unusable), frozenset({"RS256"}))


@pytest.mark.parametrize("crv", [["P-256"], 256, "P-999", "p-256"], ids=str)
def test_an_unknown_or_malformed_curve_is_unusable(jose: Any, crv: object) -> None:
    jwk = {**jose.public_jwk(jose.keys.p256), "crv": crv}
    with pytest.raises(UnusableKeyError):
        keys_from_jwk(jwk, frozenset({"ES256"}))


def test_ec_coordinates_must_have_the_full_length(jose: Any) -> None:
    # a key whose x starts with a zero byte: the short (non-canonical) encoding names the
    # same point, and must still be refused (RFC 7518 6.2.1.2: the full 32 bytes)
    for _ in range(5000):
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        if numbers.x < 2**248:
            break
    else:
        pytest.fail("no key with a leading zero byte in x")
    full = jose.public_jwk(key)
    assert [k.alg for k in keys_from_jwk(full, frozenset({"ES256"}))] == ["ES256"]
    short_x = {**full, "x": jose.b64(numbers.x.to_bytes(31, "big"))}
    with pytest.raises(UnusableKeyError):
        keys_from_jwk(short_x, frozenset({"ES256"}))


@pytest.mark.parametrize(
    ("extra", "usable"),
    [
        ({"kid": "k1"}, True),
        ({"kid": ""}, False),
        ({"use": "sig"}, True),
        ({"use": "enc"}, False),
        ({"key_ops": ["verify"]}, True),
        ({"key_ops": ["sign", "verify"]}, True),
        ({"key_ops": ["sign"]}, False),
        ({"key_ops": "verify"}, False),
        ({"alg": "RS256"}, True),
        ({"alg": 7}, False),
    ],
    ids=[
        "kid",
        "empty-kid",
        "use-sig",
        "use-enc",
        "ops-verify",
        "ops-both",
        "ops-sign",
        "ops-not-a-list",
        "alg",
        "alg-not-a-string",
    ],
)
def test_jwk_members_that_restrict_use(jose: Any, extra: dict[str, Any], usable: bool) -> None:
    jwk = {**jose.public_jwk(jose.keys.rsa), **extra}
    if usable:
        assert [k.alg for k in keys_from_jwk(jwk, frozenset({"RS256"}))] == ["RS256"]
    else:
        with pytest.raises(UnusableKeyError):
            keys_from_jwk(jwk, frozenset({"RS256"}))


def _typed_verifier(keys: KeySet, accepted: set[str], remote: RemoteJwks | None) -> TokenVerifier:
    return TokenVerifier(
        allowed=frozenset({"ES256"}),
        static_keys=keys,
        remote=remote,
        rules=ClaimRules.build(
            issuers=[ISSUER],
            audiences=["api"],
            additional_audiences=[],
            leeway=0,
            max_age=None,
            required=[],
        ),
        accepted_types=frozenset(accepted),
        require_type=False,
        max_token_bytes=8192,
        clock=lambda: float(NOW),
    )


@pytest.mark.parametrize("typ", ["at+jwt", "application/AT+JWT"], ids=["bare", "media-type"])
def test_an_access_token_with_a_nonce_is_refused_beside_other_types(jose: Any, typ: str) -> None:
    """RFC 9068: a token typed as an access token carries no nonce, whatever else is accepted."""
    keys = KeySet(keys_from_jwk(jose.public_jwk(jose.keys.p256), frozenset({"ES256"})))
    verifier = _typed_verifier(keys, {"at+jwt", "jwt"}, None)
    sign = jose.ec_signer(jose.keys.p256, hashes.SHA256)
    token = jose.mint({"alg": "ES256", "typ": typ}, {**CLAIMS, "nonce": "n-1"}, sign)
    assert verifier.parse(token).typ == "at+jwt"
    with pytest.raises(TokenRejectedError) as caught:
        verifier.verify(token)
    assert caught.value.code == "nonce_in_access_token"
    plain = jose.mint({"alg": "ES256", "typ": "JWT"}, {**CLAIMS, "nonce": "n-1"}, sign)
    assert verifier.parse(plain).typ == "jwt"
    assert verifier.verify(plain).claims["nonce"] == "n-1"


@pytest.mark.anyio
async def test_a_fetch_another_request_already_made_is_not_made_again(
    jose: Any, loopback: Any
) -> None:
    """Two tokens parsed before the first fetch: completing the second fetches nothing more."""
    server = loopback()
    server.documents["/jwks"] = {"keys": [jose.public_jwk(jose.keys.p256, kid="k1")]}
    remote = RemoteJwks(
        server.url_for("/jwks"),
        allowed=frozenset({"ES256"}),
        ttl=600.0,
        refetch_interval=60.0,
        timeout=5.0,
        max_bytes=65536,
    )
    verifier = _typed_verifier(KeySet([]), {"jwt"}, remote)
    sign = jose.ec_signer(jose.keys.p256, hashes.SHA256)
    first, second = (
        verifier.attempt(jose.mint({"alg": "ES256", "kid": "k1"}, {**CLAIMS, "sub": sub}, sign))
        for sub in ("u1", "u2")
    )
    assert isinstance(first, ParsedToken)
    assert isinstance(second, ParsedToken)
    assert (await verifier.complete_async(first)).claims["sub"] == "u1"
    assert (await verifier.complete_async(second)).claims["sub"] == "u2"
    assert remote.fetch_count == 1
    assert server.requests == ["/jwks"]

"""JwtProvider: accepted tokens for every algorithm, token sources, the user it
builds, the 401 details, validate/refresh, and what it logs."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization

from authplug.errors import ForceUserToReauthenticateError, NotAuthenticatedError
from authplug.provider import AuthProvider
from authplug.results import Authenticated
from authplug_jwt import JwtProvider, JwtSettings, TokenRejectedError

SECRET = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _cases(kit: Any) -> list[tuple[str, Any, Any]]:
    k = kit.keys
    return [
        ("RS256", k.rsa, kit.rsa_signer(k.rsa)),
        ("RS384", k.rsa, kit.rsa_signer(k.rsa, hashes.SHA384)),
        ("RS512", k.rsa, kit.rsa_signer(k.rsa, hashes.SHA512)),
        ("PS256", k.rsa, kit.pss_signer(k.rsa)),
        ("PS384", k.rsa, kit.pss_signer(k.rsa, hashes.SHA384)),
        ("PS512", k.rsa, kit.pss_signer(k.rsa, hashes.SHA512)),
        ("ES256", k.p256, kit.ec_signer(k.p256, hashes.SHA256)),
        ("ES384", k.p384, kit.ec_signer(k.p384, hashes.SHA384)),
        ("ES512", k.p521, kit.ec_signer(k.p521, hashes.SHA512)),
        ("EdDSA", k.ed, kit.ed_signer(k.ed)),
    ]


ASYMMETRIC = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]


@pytest.mark.parametrize("alg", ASYMMETRIC)
@pytest.mark.parametrize("source", ["jwks", "pem", "pem-with-kid"])
def test_every_asymmetric_algorithm_verifies(kit: Any, alg: str, source: str) -> None:
    _, key, signer = next(c for c in _cases(kit) if c[0] == alg)
    if source == "jwks":
        cfg: dict[str, Any] = {"jwks": {"keys": [kit.public_jwk(key, kid="k1")]}}
    elif source == "pem":
        cfg = {"public_keys": [_pem(key)]}
    else:
        cfg = {"public_keys": {"k1": _pem(key)}}
    provider = JwtProvider(kit.settings(algorithms=[alg], **cfg))
    token = kit.mint({"alg": alg, "kid": "k1", "typ": "JWT"}, kit.claims(), signer)
    assert provider.verify(token)["sub"] == "user-1"
    # The same key signing under another algorithm of the family is refused.
    other = kit.mint({"alg": alg, "kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa_other))
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(other)
    assert info.value.code == "invalid_signature"


@pytest.mark.parametrize(
    ("alg", "digest"), [("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")]
)
def test_hmac(kit: Any, alg: str, digest: str) -> None:
    provider = JwtProvider(kit.settings(algorithms=[alg], hmac_secret=SECRET.decode()))
    token = kit.mint({"alg": alg}, kit.claims(), kit.hmac_signer(SECRET, digest))
    assert provider.verify(token)["iss"] == kit.ISSUER
    wrong = kit.mint({"alg": alg}, kit.claims(), kit.hmac_signer(SECRET[::-1], digest))
    with pytest.raises(TokenRejectedError) as info:
        provider.verify(wrong)
    assert info.value.code == "invalid_signature"


def test_pem_key_without_kid_matches_any_kid_and_none(kit: Any) -> None:
    provider = JwtProvider(kit.settings(public_keys=[_pem(kit.keys.rsa)]))
    assert provider.verify(kit.rs256({"kid": "whatever"}))["sub"] == "user-1"
    token = kit.mint({"alg": "RS256"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    assert provider.verify(token)["sub"] == "user-1"


def test_token_without_kid_tries_each_key(kit: Any) -> None:
    provider = JwtProvider(
        kit.settings(
            jwks={
                "keys": [
                    kit.public_jwk(kit.keys.rsa_other, kid="a"),
                    kit.public_jwk(kit.keys.rsa, kid="b"),
                ]
            }
        )
    )
    token = kit.mint({"alg": "RS256"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    assert provider.verify(token)["sub"] == "user-1"


def test_unusable_keys_before_the_real_one_are_skipped(kit: Any) -> None:
    provider = JwtProvider(
        kit.settings(
            jwks={
                "keys": [
                    {"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"},
                    {"kty": "made-up", "kid": "x"},
                    {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"},
                    "not an object",
                    kit.public_jwk(kit.keys.rsa, kid="k1"),
                ]
            }
        )
    )
    assert provider.verify(kit.rs256())["sub"] == "user-1"


def test_leeway_accepts_small_skew(kit: Any) -> None:
    now = int(time.time())
    provider = kit.rsa_provider(leeway=60)
    assert provider.verify(kit.rs256(exp=now - 30, nbf=now + 30, iat=now + 30))


def test_typ_comparison_follows_rfc7515(kit: Any) -> None:
    provider = kit.rsa_provider(accepted_types=["at+jwt"], require_type=True)
    for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"):
        assert provider.verify(kit.rs256({"typ": typ}))


def test_audience_list_and_additional_audiences(kit: Any) -> None:
    provider = kit.rsa_provider(
        audience=["https://api.example", "https://other-api.example"],
        additional_audiences=["https://issuer.example/userinfo"],
    )
    assert provider.verify(kit.rs256(aud=["https://api.example"]))
    assert provider.verify(kit.rs256(aud="https://other-api.example"))
    assert provider.verify(
        kit.rs256(aud=["https://api.example", "https://issuer.example/userinfo"])
    )


def test_several_issuers(kit: Any) -> None:
    provider = kit.rsa_provider(issuer=[kit.ISSUER, "https://second.example"])
    assert provider.verify(kit.rs256(iss="https://second.example"))


# -- authenticate -------------------------------------------------------------------


def test_authenticate_builds_the_user(kit: Any) -> None:
    provider = kit.rsa_provider(
        claims={
            "role_map": {"reader": "app:reader"},
            "internal_when": {"groups": ["staff"]},
            "custom_data": {"email": "email"},
        }
    )
    token = kit.rs256(groups=["staff"], email="ada@example.com")
    result = provider.authenticate(kit.request(token))
    assert isinstance(result, Authenticated)
    user = result.user
    assert (user.user_id, user.first_name, user.last_name) == ("user-1", "Ada", "Lovelace")
    assert user.user_type == "internal-user"
    assert user.roles == ("app:reader",)
    assert user.custom_data == {"email": "ada@example.com"}
    assert user.auth_data is not None
    assert set(user.auth_data) == {"exp", "iss"}
    assert token not in repr(user)


def test_claims_not_fitting_the_user_model(kit: Any) -> None:
    provider = kit.rsa_provider()
    for token in (kit.rs256(given_name=123), kit.rs256(sub="x" * 600)):
        with pytest.raises(TokenRejectedError) as info:
            provider.authenticate(kit.request(token))
        assert info.value.code == "invalid_claims"
        assert "www_authenticate" in vars(info.value)


def test_token_sources(kit: Any) -> None:
    provider = kit.rsa_provider(token_header="X-Forwarded-Access-Token", token_cookie="access")
    token = kit.rs256()
    assert isinstance(
        provider.authenticate(kit.request(x_forwarded_access_token=token)), Authenticated
    )
    assert isinstance(
        provider.authenticate(kit.request(x_forwarded_access_token=f"Bearer {token}")),
        Authenticated,
    )
    assert isinstance(provider.authenticate(kit.request(cookie=f"access={token}")), Authenticated)
    assert isinstance(
        provider.authenticate(kit.request(authorization=f"bEaReR   {token}  ")), Authenticated
    )


def test_missing_token(kit: Any) -> None:
    provider = kit.rsa_provider()
    for request in (
        kit.request(),
        kit.request(authorization="Basic dXNlcjpwYXNz"),
        kit.request(cookie=f"access={kit.rs256()}"),
        kit.request(x_forwarded_access_token=kit.rs256()),
    ):
        with pytest.raises(NotAuthenticatedError) as info:
            provider.authenticate(request)
        assert info.value.code == "missing_token"
        assert info.value.status == 401
        assert info.value.www_authenticate == "Bearer"  # type: ignore[attr-defined]


def test_empty_bearer_credential(kit: Any) -> None:
    with pytest.raises(TokenRejectedError) as info:
        kit.rsa_provider().authenticate(kit.request(authorization="Bearer    "))
    assert info.value.code == "malformed_token"


def test_rejection_carries_rfc6750_challenge_and_no_token_content(kit: Any) -> None:
    token = kit.rs256(aud="https://evil.example", sub="secret-subject")
    with pytest.raises(TokenRejectedError) as info:
        kit.rsa_provider().authenticate(kit.request(token))
    error = info.value
    assert error.status == 401
    assert error.code == "invalid_audience"
    assert error.www_authenticate.startswith('Bearer error="invalid_token", error_description="')
    text = f"{error} {error.www_authenticate} {error.args!r}"
    for fragment in (*token.split("."), "evil.example", "secret-subject"):
        assert fragment not in text


def test_nothing_secret_is_logged(kit: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = kit.rsa_provider()
    tokens = [
        kit.rs256(sub="secret-subject"),
        kit.rs256(aud="https://evil.example", sub="secret-subject"),
        kit.rs256({"kid": "secret-kid"}),
        kit.rs256({"alg": "none"}),
        kit.rs256() + "=",
        kit.rs256(exp=1),
    ]
    for token in tokens:
        with contextlib.suppress(NotAuthenticatedError):
            provider.authenticate(kit.request(token))
    assert any("rejected" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for token in tokens:
        for fragment in token.split("."):
            assert fragment not in logged
    assert "secret-subject" not in logged
    assert "secret-kid" not in logged


# -- validate / refresh ---------------------------------------------------------------


def test_validate_rechecks_expiry(kit: Any) -> None:
    provider = kit.rsa_provider(leeway=0)
    exp = int(time.time()) + 100
    result = provider.authenticate(kit.request(kit.rs256(exp=exp)))
    assert isinstance(result, Authenticated)
    assert provider.validate_user(kit.request(), result.user) is None
    with (
        time_machine.travel(exp + 1, tick=False),
        pytest.raises(ForceUserToReauthenticateError) as info,
    ):
        provider.validate_user(kit.request(), result.user)
    assert info.value.code == "token_expired"
    assert info.value.status == 401


def test_validate_without_expiry_fails_closed(kit: Any) -> None:
    provider = kit.rsa_provider()
    result = provider.authenticate(kit.request(kit.rs256()))
    assert isinstance(result, Authenticated)
    stripped = result.user.model_copy(update={"auth_data": None})
    with pytest.raises(ForceUserToReauthenticateError):
        provider.validate_user(kit.request(), stripped)


def test_refresh_is_impossible(kit: Any) -> None:
    provider = kit.rsa_provider()
    result = provider.authenticate(kit.request(kit.rs256()))
    assert isinstance(result, Authenticated)
    with pytest.raises(ForceUserToReauthenticateError) as info:
        provider.refresh(result.user)
    assert info.value.code == "refresh_unsupported"
    assert info.value.status == 401


def test_provider_contract_shape(kit: Any) -> None:
    provider = kit.rsa_provider()
    assert isinstance(provider, AuthProvider)
    assert JwtProvider.stateless is True
    assert JwtProvider.settings_model is JwtSettings
    assert provider.routes() == ()


def test_entry_point_is_registered() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="authplug.providers") if e.name == "jwt"]
    assert ep.load() is JwtProvider

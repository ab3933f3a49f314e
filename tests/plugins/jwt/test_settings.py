"""Bad ``[jwt]`` settings are errors at start-up, never at the first request."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from authplug.errors import ConfigError
from authplug_jwt import JwtProvider, JwtSettings


def _invalid(kit: Any, match: str, **overrides: Any) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        kit.settings(**overrides)
    secret = overrides.get("hmac_secret")
    if isinstance(secret, str) and secret:
        assert secret not in str(info.value)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_none_is_refused(kit: Any, alg: str) -> None:
    _invalid(kit, "never accepted", algorithms=[alg], jwks={"keys": []})


def test_algorithms_must_be_a_list(kit: Any) -> None:
    _invalid(kit, "not a string", algorithms="RS256", jwks={"keys": []})
    _invalid(kit, "at least 1", algorithms=[], jwks={"keys": []})


@pytest.mark.parametrize("alg", ["rs256", "RS1", "HS1", "ES256K", "RSA-OAEP", "dir", "Ed25519"])
def test_unknown_algorithms(kit: Any, alg: str) -> None:
    _invalid(kit, "unsupported algorithm", algorithms=[alg], jwks={"keys": []})


def test_hmac_never_mixed_with_asymmetric(kit: Any) -> None:
    _invalid(kit, "cannot be mixed", algorithms=["HS256", "RS256"], hmac_secret="x" * 64)


@pytest.mark.parametrize(("alg", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_short_hmac_secret(kit: Any, alg: str, length: int) -> None:
    _invalid(kit, "needs at least", algorithms=[alg], hmac_secret="k" * length)
    kit.settings(algorithms=[alg], hmac_secret="k" * (length + 1))


def test_empty_hmac_secret(kit: Any) -> None:
    _invalid(kit, "needs at least", algorithms=["HS256"], hmac_secret="")


def test_hmac_algorithms_need_the_secret_only(kit: Any) -> None:
    _invalid(kit, "need hmac_secret", algorithms=["HS256"])
    _invalid(
        kit,
        "hmac_secret only",
        algorithms=["HS256"],
        hmac_secret="k" * 32,
        jwks_url="https://idp.example/jwks",
    )
    _invalid(kit, "only used with HS", hmac_secret="k" * 32, jwks={"keys": []})


def test_a_key_source_is_required(kit: Any) -> None:
    _invalid(kit, "no key source")


@pytest.mark.parametrize("form", ["pem", "der-b64", "jwk", "ssh"])
def test_public_key_as_hmac_secret(kit: Any, form: str) -> None:
    public = kit.keys.rsa.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "der-b64": base64.b64encode(der).decode(),
        "jwk": json.dumps(kit.public_jwk(kit.keys.rsa)),
        "ssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode(),
    }[form]
    with pytest.raises(ConfigError, match="looks like a public key") as info:
        JwtProvider(kit.settings(algorithms=["HS256"], hmac_secret=secret))
    assert secret not in str(info.value)


@pytest.mark.parametrize("leeway", [-1, 301, True, "sixty"])
def test_leeway_range(kit: Any, leeway: Any) -> None:
    with pytest.raises(ValidationError):
        kit.settings(leeway=leeway, jwks={"keys": []})


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example/jwks",
        "ftp://idp.example/jwks",
        "/jwks",
        "https:///jwks",
        "file:///etc/x",
    ],
)
def test_jwks_url_must_be_https(kit: Any, url: str) -> None:
    _invalid(kit, "https://", jwks_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]/j"]
)
def test_http_allowed_on_loopback(kit: Any, url: str) -> None:
    assert kit.settings(jwks_url=url).jwks_url == url


def test_unknown_settings_are_errors(kit: Any) -> None:
    _invalid(kit, "Extra inputs", jwks={"keys": []}, algorithm=["RS256"])
    _invalid(kit, "Extra inputs", jwks={"keys": []}, claims={"userid": "sub"})


def test_strict_bool(kit: Any) -> None:
    _invalid(kit, "boolean", jwks={"keys": []}, require_type="yes")


def test_issuer_and_audience_required(kit: Any) -> None:
    with pytest.raises(ValidationError, match="issuer"):
        JwtSettings.model_validate({"audience": "a", "algorithms": ["RS256"], "jwks": {"keys": []}})
    with pytest.raises(ValidationError, match="audience"):
        JwtSettings.model_validate({"issuer": "i", "algorithms": ["RS256"], "jwks": {"keys": []}})
    single = kit.settings(jwks={"keys": []})
    assert single.issuer == [kit.ISSUER]
    assert single.audience == [kit.AUDIENCE]


def test_algorithms_are_a_set(kit: Any) -> None:
    assert kit.settings(algorithms=["RS256", "ES256", "RS256"], jwks={"keys": []}).algorithms == [
        "ES256",
        "RS256",
    ]


def test_private_or_weak_pem_is_refused(kit: Any) -> None:
    private = kit.keys.rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(ConfigError, match="private key"):
        JwtProvider(kit.settings(public_keys=[private]))
    weak = (
        kit.keys.rsa_weak.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigError, match="1024 bits"):
        JwtProvider(kit.settings(public_keys={"old": weak}))
    with pytest.raises(ConfigError, match="not a PEM"):
        JwtProvider(kit.settings(public_keys=["-----BEGIN PUBLIC KEY-----\nAAAA\n"]))
    ec_pem = (
        kit.keys.p256.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigError, match="fits none"):
        JwtProvider(kit.settings(public_keys=[ec_pem]))


def test_jwks_with_private_members_is_refused(kit: Any) -> None:
    jwk = kit.public_jwk(kit.keys.rsa, kid="k1", d="AAAA")
    with pytest.raises(ConfigError, match="private key members"):
        JwtProvider(kit.settings(jwks={"keys": [jwk]}))


def test_jwks_file(kit: Any, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}))
    provider = JwtProvider(kit.settings(jwks_file=str(path)))
    assert provider.verify(kit.rs256())["sub"] == "user-1"
    with pytest.raises(ConfigError, match="jwks_file"):
        JwtProvider(kit.settings(jwks_file=str(tmp_path / "missing.json")))
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="jwks_file"):
        JwtProvider(kit.settings(jwks_file=str(path)))
    path.write_text('{"no": "keys"}')
    with pytest.raises(ConfigError, match="not a JWKS"):
        JwtProvider(kit.settings(jwks_file=str(path)))


def test_wrong_settings_type(kit: Any) -> None:
    from authplug.provider import NoSettings

    with pytest.raises(ConfigError):
        JwtProvider(NoSettings())


def test_secret_not_in_repr(kit: Any) -> None:
    secret = "s" * 40
    cfg = kit.settings(algorithms=["HS256"], hmac_secret=secret)
    assert secret not in repr(cfg)
    assert secret not in str(cfg.model_dump())

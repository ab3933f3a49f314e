"""Bad ``[oauth]`` settings are refused at start-up, the key named, never at the first request."""

from __future__ import annotations

from typing import Any

import pytest

from authplug.errors import ConfigError
from authplug.loader import load
from authplug.stores.memory import MemoryUserStore

BASE: dict[str, Any] = {
    "issuer": "https://login.example.com/realms/acme",
    "client_id": "app",
    "client_secret": "s3cret-value-never-echoed",
}


def _refused(match: str, **changes: Any) -> ConfigError:
    settings = {**BASE, **changes}
    settings = {k: v for k, v in settings.items() if v is not None}
    with pytest.raises(ConfigError, match=match) as info:
        load(provider="oauth", settings={"oauth": settings}, environ={})
    assert "s3cret-value-never-echoed" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("issuer", "http://login.example.com"),
        ("token_endpoint", "http://login.example.com/token"),
        ("authorization_endpoint", "ftp://login.example.com/auth"),
        ("jwks_uri", "https://user:pw@login.example.com/jwks"),
        ("redirect_uri", "http://app.example.com/auth/callback"),
    ],
)
def test_non_https_outside_loopback(key: str, value: str) -> None:
    error = _refused(key, **{key: value})
    assert "https" in str(error) or "credentials" in str(error)


@pytest.mark.parametrize("value", ["plain", "none", "disabled", ""])
def test_pkce_cannot_be_disabled_or_plain(value: str) -> None:
    _refused("pkce", pkce=value)


@pytest.mark.parametrize("value", [-1, 301, 3600, True, 1.5, "sixty"])
def test_leeway_out_of_range(value: Any) -> None:
    _refused("leeway", leeway=value)


def test_unknown_key() -> None:
    _refused("client_secrte", client_secrte="x")


@pytest.mark.parametrize("name", ["state", "nonce", "redirect_uri", "code_challenge_method"])
def test_reserved_authorization_params(name: str) -> None:
    _refused("sets", authorization_params={name: "x"})


def test_auth_method_and_secret_agree() -> None:
    _refused("public clients", token_endpoint_auth_method="none")
    _refused(
        "needs client_secret", client_secret=None, token_endpoint_auth_method="client_secret_post"
    )


def test_alg_none_and_hs_without_secret() -> None:
    _refused("never accepted", algorithms=["none"])
    _refused("HMAC key", client_secret=None, algorithms=["HS256"])


def test_plain_oauth_needs_its_endpoints() -> None:
    _refused("authorization_endpoint", issuer=None, scopes=["read:user"])
    _refused(
        "openid",
        issuer=None,
        scopes=["openid"],
        authorization_endpoint="https://a.example/authorize",
        token_endpoint="https://a.example/token",
        userinfo_endpoint="https://a.example/me",
    )


def test_loopback_http_is_allowed() -> None:
    host = load(
        provider="oauth",
        settings={"oauth": {**BASE, "issuer": "http://127.0.0.1:8080/realms/dev"}},
        environ={},
        store=MemoryUserStore(),
    )
    try:
        assert host.provider_name == "oauth"
    finally:
        host.close()


def test_public_client_defaults_to_none() -> None:
    host = load(
        provider="oauth",
        settings={"oauth": {**BASE, "client_secret": None}},
        environ={},
        store=MemoryUserStore(),
    )
    try:
        assert host.provider.oauth.auth_method == "none"  # type: ignore[attr-defined]
    finally:
        host.close()

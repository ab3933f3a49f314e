"""``OAuthSettings``: the ``[oauth]`` section, validated when the host loads.

Two shapes:

* **OpenID Connect** (the usual case): set ``issuer``; the endpoints come from
  ``<issuer>/.well-known/openid-configuration``, whose ``issuer`` must equal
  the setting exactly. An explicit endpoint setting overrides the discovered one.
* **Plain OAuth 2.0** (a GitHub-style server without ID tokens): leave
  ``issuer`` unset and give ``authorization_endpoint``, ``token_endpoint`` and
  ``userinfo_endpoint`` (the user API); ``openid`` must not be in ``scopes``.

Refused at start-up with a :class:`~authplug.errors.ConfigError` naming the
key: an issuer or endpoint that is not ``https://`` outside loopback, PKCE
disabled or ``plain``, a leeway outside 0-300 s, a secret with the ``none``
auth method (or none with a secret-based one), authorization parameters the
provider sets itself, ``HS*`` algorithms without a client secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from authplug.claims import ClaimMapping
from authplug.fetch import check_outbound_url
from authplug.jose.algorithms import ASYMMETRIC, HMAC, check_algorithm_names

__all__ = ["RESERVED_PARAMETERS", "OAuthSettings"]

RESERVED_PARAMETERS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
    }
)
"""Authorization parameters the provider sets itself (never from ``authorization_params``)."""

_ENDPOINTS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)


class OAuthSettings(BaseModel):
    """Settings of the OAuth 2.0 / OpenID Connect provider.

    Attributes:
        issuer: The OpenID Provider's issuer URL (discovery; exact ``iss``).
        authorization_endpoint: Explicit authorization endpoint (plain OAuth 2.0,
            or to override discovery).
        token_endpoint: Explicit token endpoint.
        userinfo_endpoint: Explicit UserInfo endpoint (for plain OAuth 2.0: the
            user API, answering JSON about the user).
        jwks_uri: Explicit JWKS URL.
        end_session_endpoint: Explicit RP-initiated logout endpoint.
        revocation_endpoint: Explicit RFC 7009 revocation endpoint.
        client_id: The client id registered at the server.
        client_secret: The client secret (none for a public client).
        token_endpoint_auth_method: ``client_secret_basic`` (default with a
            secret), ``client_secret_post``, or ``none`` (public client).
        scopes: Requested scopes; ``openid`` makes it OpenID Connect.
        authorization_params: Extra authorization request parameters (e.g.
            ``prompt``, ``audience``, ``resource``); the protocol's own are refused.
        redirect_path: The callback route (under ``/auth/``).
        redirect_uri: The absolute callback URL registered at the server;
            default: built from the request's scheme and host and ``redirect_path``.
        post_logout_redirect_uri: Where the server sends the browser after
            RP-initiated logout (absolute URL, or a path on this application).
        response_mode: ``query`` (default) or ``form_post``.
        pkce: ``S256``, always (the default, ``None``, means the same); ``plain``
            and disabling PKCE are refused.
        algorithms: Accepted ID token algorithms (intersected with the server's).
        leeway: Clock skew allowed on ID token times, seconds (0-300).
        timeout: Total seconds for one call to the server (deadline, not per read).
        max_response_bytes: Largest response accepted from the server.
        userinfo: Call UserInfo after login (on by default; always for plain OAuth 2.0).
        trusted_audiences: Other ``aud`` values an ID token may carry besides
            ``client_id``.
        id_token_max_bytes: Keep the ID token in the session (for logout's
            ``id_token_hint``) only up to this size; larger ones are dropped and
            logout sends ``client_id`` instead.
        revoke_on_logout: Revoke the tokens (RFC 7009) at logout when the server
            offers revocation.
        jwks_cache_ttl: Seconds a fetched JWKS is used.
        jwks_refetch_interval: Least seconds between JWKS refetches for an unknown ``kid``.
        metadata_ttl: Seconds the discovery document is used before refetching.
        unreachable_retry: While the server is unreachable during a refresh, the
            session is kept and the refresh retried after this many seconds.
        claims: Claim -> user mapping (the core's :class:`ClaimMapping`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: (
        Literal["client_secret_basic", "client_secret_post", "none"] | None
    ) = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    authorization_params: dict[str, str] = Field(default_factory=dict)
    redirect_path: str = Field(default="/auth/callback", pattern=r"^/auth/[A-Za-z0-9/_.-]+$")
    redirect_uri: str | None = None
    post_logout_redirect_uri: str | None = None
    response_mode: Literal["query", "form_post"] = "query"
    pkce: str | None = None
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256", "ES384", "EdDSA"]
    )
    leeway: int = 60
    timeout: float = Field(default=10.0, gt=0, le=120)
    max_response_bytes: int = Field(default=1024 * 1024, ge=4096, le=16 * 1024 * 1024)
    userinfo: bool = True
    trusted_audiences: list[str] = Field(default_factory=list)
    id_token_max_bytes: int = Field(default=2048, ge=0, le=8192)
    revoke_on_logout: bool = True
    jwks_cache_ttl: float = Field(default=600, ge=0, le=86400)
    jwks_refetch_interval: float = Field(default=30, ge=1, le=3600)
    metadata_ttl: float = Field(default=3600, ge=0, le=86400)
    unreachable_retry: float = Field(default=30, ge=1, le=3600)
    claims: ClaimMapping = Field(default_factory=ClaimMapping)

    @field_validator(*_ENDPOINTS)
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        return None if value is None else check_outbound_url(value)

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        return None if value is None else check_outbound_url(value)

    @field_validator("pkce")
    @classmethod
    def _pkce(cls, value: str | None) -> str | None:
        if value is not None and value != "S256":
            raise ValueError(
                'only "S256" is supported: PKCE cannot be disabled or downgraded to "plain"'
            )
        return value

    @field_validator("leeway", mode="before")
    @classmethod
    def _leeway_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds")
        return value

    @field_validator("leeway")
    @classmethod
    def _leeway(cls, value: int) -> int:
        if not 0 <= value <= 300:
            raise ValueError("must be between 0 and 300 seconds")
        return value

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.split()
        return value

    @field_validator("scopes")
    @classmethod
    def _scope_tokens(cls, value: list[str]) -> list[str]:
        for scope in value:
            if not scope or any(c in scope for c in ' "\\') or not scope.isprintable():
                raise ValueError("each scope must be a non-empty token without spaces or quotes")
        return list(dict.fromkeys(value))

    @field_validator("authorization_params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(set(value) & RESERVED_PARAMETERS)
        if reserved:
            raise ValueError(f"the provider sets {', '.join(reserved)} itself")
        return value

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        check_algorithm_names(value, signed="ID tokens")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> OAuthSettings:
        secret = self.client_secret is not None and bool(self.client_secret.get_secret_value())
        method = self.token_endpoint_auth_method
        if method == "none" and secret:
            raise ValueError(
                "token_endpoint_auth_method 'none' is for public clients: remove client_secret"
            )
        if method not in (None, "none") and not secret:
            raise ValueError(f"token_endpoint_auth_method {method!r} needs client_secret")
        if set(self.algorithms) & HMAC:
            if not secret:
                raise ValueError("HS* ID token algorithms need client_secret (the HMAC key)")
            if set(self.algorithms) & ASYMMETRIC:
                raise ValueError("HS* and asymmetric algorithms cannot be mixed")
        if self.issuer is None:
            missing = [
                name
                for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    "set issuer (OpenID Connect discovery), or for plain OAuth 2.0 "
                    f"{', '.join(missing)}"
                )
            if "openid" in self.scopes:
                raise ValueError(
                    "scope 'openid' needs issuer (an OpenID Provider); without issuer this is "
                    "plain OAuth 2.0"
                )
        if self.client_id in self.trusted_audiences:
            raise ValueError("trusted_audiences repeats client_id")
        return self

    @property
    def is_oidc(self) -> bool:
        """Whether this is OpenID Connect (``openid`` requested): an ID token is required."""
        return "openid" in self.scopes

    @property
    def auth_method(self) -> str:
        """The token endpoint auth method in effect (default: basic with a secret, else none)."""
        if self.token_endpoint_auth_method is not None:
            return self.token_endpoint_auth_method
        return "client_secret_basic" if self.secret is not None else "none"

    @property
    def secret(self) -> str | None:
        """The client secret's value, or ``None``."""
        if self.client_secret is None:
            return None
        return self.client_secret.get_secret_value() or None

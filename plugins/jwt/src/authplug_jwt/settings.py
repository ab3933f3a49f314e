"""``JwtSettings``: the ``[jwt]`` section of the authplug configuration.

Example (an API behind Auth0)::

    provider = "jwt"

    [jwt]
    issuer = "https://example.eu.auth0.com/"
    audience = "https://api.example.com"
    algorithms = ["RS256"]
    jwks_url = "https://example.eu.auth0.com/.well-known/jwks.json"

    [jwt.claims]
    roles = "https://example.com/roles"

Key sources (at least one): ``jwks_url``, ``jwks_file``, ``jwks`` (inline),
``public_keys`` (PEM) or ``hmac_secret``. Algorithms are an explicit list;
``none`` does not exist here, and HMAC algorithms are never mixed with
asymmetric ones. Validation is strict: unknown keys, a string where a list is
expected and out-of-range numbers are all configuration errors at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    field_validator,
    model_validator,
)

from authplug.claims import ClaimMapping
from authplug.fetch import is_loopback_url
from authplug.jose.algorithms import (
    ASYMMETRIC,
    HMAC,
    HMAC_MIN_BYTES,
    SUPPORTED,
    check_algorithm_names,
)

__all__ = ["JwtSettings", "is_loopback_url"]

_Name = Annotated[str, Field(min_length=1, max_length=2048)]
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$"


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class JwtSettings(BaseModel):
    """Settings of the bearer-JWT provider.

    Attributes:
        issuer: Trusted issuer(s); the ``iss`` claim must equal one exactly.
        audience: This API's identifier(s); ``aud`` must contain one exactly.
        additional_audiences: Other values ``aud`` may also carry (e.g.
            Auth0's ``https://TENANT/userinfo``). Any ``aud`` value outside
            ``audience`` and this list rejects the token.
        algorithms: Accepted ``alg`` values, e.g. ``["RS256", "ES256"]``.
            Case-sensitive; HS* never mixed with asymmetric algorithms.
        jwks_url: HTTPS URL of the issuer's JWKS (``http://`` only on loopback).
        jwks_file: Path of a JWKS JSON file, read at start-up.
        jwks: An inline JWKS (``{"keys": [...]}``).
        public_keys: PEM public keys (SubjectPublicKeyInfo or X.509
            certificates); a list, or a table ``kid -> PEM`` to pin ``kid``s.
        hmac_secret: Shared secret for HS* (UTF-8 bytes; at least as long as
            the hash output: 32 bytes for HS256).
        leeway: Clock skew allowed on ``exp``/``nbf``/``iat``, seconds (0-300).
        max_age: When set, tokens whose ``iat`` is older are rejected.
        required_claims: Claims that must be present (``exp``, ``iss`` and
            ``aud`` always are).
        accepted_types: Accepted ``typ`` header values, compared
            case-insensitively with an optional ``application/`` prefix
            (RFC 7515 §4.1.9), e.g. ``["at+jwt"]`` for RFC 9068 tokens.
        require_type: Reject tokens without a ``typ`` header.
        max_token_bytes: Longer tokens are rejected before any decoding.
        token_header: Read the raw token from this header (e.g. a gateway's
            ``X-Forwarded-Access-Token``) when no ``Authorization: Bearer``
            header is present.
        token_cookie: Read the raw token from this cookie as a last resort.
        claims: Claim -> user mapping (shared with the OAuth provider).
        jwks_cache_ttl: Seconds a fetched JWKS is used before refetching.
        jwks_refetch_interval: Minimum seconds between two fetches caused
            by an unknown ``kid`` (rate limit against kid-spraying).
        jwks_timeout: Seconds before a JWKS fetch gives up.
        jwks_max_bytes: Largest JWKS response accepted.
        cache_size: Most verified tokens kept (0 disables the cache).
        cache_max_bytes: Memory bound of the verified-token cache.
        cache_ttl: Longest a verified token is served from the cache (it is
            never served past its ``exp``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: list[_Name] = Field(min_length=1, max_length=16)
    audience: list[_Name] = Field(min_length=1, max_length=16)
    additional_audiences: list[_Name] = Field(default_factory=list, max_length=16)
    algorithms: list[str] = Field(min_length=1, max_length=len(SUPPORTED))
    jwks_url: str | None = Field(default=None, max_length=2048)
    jwks_file: Path | None = None
    jwks: dict[str, Any] | None = None
    public_keys: list[str] | dict[str, str] = Field(default_factory=list, max_length=32)
    hmac_secret: SecretStr | None = None
    leeway: int = Field(default=60, ge=0, le=300)
    max_age: int | None = Field(default=None, gt=0, le=366 * 24 * 3600)
    required_claims: list[_Name] = Field(default_factory=lambda: ["sub", "iat"])
    accepted_types: list[_Name] = Field(default_factory=lambda: ["JWT", "at+jwt"])
    require_type: StrictBool = False
    max_token_bytes: int = Field(default=8192, ge=512, le=65536)
    token_header: str | None = Field(default=None, pattern=_HEADER_NAME)
    token_cookie: str | None = Field(default=None, pattern=_HEADER_NAME)
    claims: ClaimMapping = Field(default_factory=ClaimMapping)
    jwks_cache_ttl: int = Field(default=600, ge=30, le=86400)
    jwks_refetch_interval: int = Field(default=30, ge=1, le=3600)
    jwks_timeout: float = Field(default=5.0, gt=0, le=60)
    jwks_max_bytes: int = Field(default=512 * 1024, ge=1024, le=16 * 1024 * 1024)
    cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024, le=1024**3)
    cache_ttl: int = Field(default=300, ge=1, le=3600)

    _normalise_lists = field_validator("issuer", "audience", "additional_audiences", mode="before")(
        _one_or_many
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _algorithms_are_a_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError('must be a list of algorithm names (e.g. ["RS256"]), not a string')
        return value

    @field_validator("algorithms")
    @classmethod
    def _check_algorithms(cls, value: list[str]) -> list[str]:
        check_algorithm_names(value)
        chosen = set(value)
        if chosen & HMAC and chosen & ASYMMETRIC:
            raise ValueError("HMAC (HS*) and asymmetric algorithms cannot be mixed for one issuer")
        return sorted(chosen)

    @field_validator("jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise ValueError("must be an absolute https:// URL")
        if parts.scheme == "http" and not is_loopback_url(value):
            raise ValueError("must use https:// (http:// is allowed on loopback only)")
        return value

    @field_validator("leeway", mode="before")
    @classmethod
    def _leeway_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds")
        return value

    @model_validator(mode="after")
    def _check_key_sources(self) -> JwtSettings:
        chosen = set(self.algorithms)
        asymmetric_sources = (
            self.jwks_url is not None
            or self.jwks_file is not None
            or self.jwks is not None
            or bool(self.public_keys)
        )
        if chosen & HMAC:
            if self.hmac_secret is None:
                raise ValueError("HS* algorithms need hmac_secret")
            if asymmetric_sources:
                raise ValueError(
                    "HS* algorithms take hmac_secret only; remove jwks_url/jwks_file/jwks/"
                    "public_keys"
                )
            length = len(self.hmac_secret.get_secret_value().encode("utf-8"))
            for name in sorted(chosen):
                if length < HMAC_MIN_BYTES[name]:
                    raise ValueError(
                        f"hmac_secret is {length} bytes; {name} needs at least "
                        f"{HMAC_MIN_BYTES[name]}"
                    )
        else:
            if self.hmac_secret is not None:
                raise ValueError("hmac_secret is only used with HS* algorithms")
            if not asymmetric_sources:
                raise ValueError("no key source: set jwks_url, jwks_file, jwks or public_keys")
        overlap = set(self.audience) & set(self.additional_audiences)
        if overlap:
            raise ValueError("additional_audiences repeats a value of audience")
        return self

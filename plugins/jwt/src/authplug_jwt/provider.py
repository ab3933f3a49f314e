"""``JwtProvider``: authenticate every request from a bearer JWT.

No login flow and no session cookie (``stateless = True``): the host calls
:meth:`JwtProvider.authenticate` on every request. The token comes from
``Authorization: Bearer``, else the configured header, else the configured
cookie. A token seen before (and not yet expired) is answered from the
verified-token cache without checking its signature again; a new one goes
through :class:`~authplug.jose.verify.TokenVerifier`. ``authenticate`` stays
synchronous unless the JWKS must be fetched first, in which case it returns a
coroutine that fetches with ``httpx.AsyncClient``.

For benchmarks and programmatic use, :meth:`JwtProvider.verify` verifies one
token and returns its claims.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from authplug.claims import map_claims
from authplug.errors import (
    ConfigError,
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderUnavailableError,
)
from authplug.jose.algorithms import check_backends, register_extension_algorithms
from authplug.jose.cache import VerifiedTokenCache
from authplug.jose.claims import ClaimRules
from authplug.jose.errors import TokenRejectedError, reject
from authplug.jose.jwks import RemoteJwks
from authplug.jose.keys import (
    KeySet,
    UnusableKeyError,
    VerificationKey,
    keys_from_jwks,
    keys_from_pem,
    keys_from_secret,
)
from authplug.jose.verify import ParsedToken, TokenVerifier, VerifiedToken, normalise_type
from authplug.models import AuthenticatedUser, StrMap
from authplug.provider import AuthProvider
from authplug.request import AuthRequest, HeaderLookup
from authplug.results import Authenticated, Remembered
from authplug_jwt.settings import JwtSettings

__all__ = ["JwtProvider"]

_log = logging.getLogger("authplug_jwt")
_CLAIMS_MEMORY_FACTOR = 8
"""Cache accounting: bytes the claims dict and the user take per payload byte.

Measured with tracemalloc at about 3 KB per entry for a 175-byte payload;
``ENTRY_OVERHEAD`` (3 KB) plus 8 bytes per payload byte stays above that."""


@dataclass(frozen=True, slots=True)
class _Cached:
    result: Authenticated
    claims: Mapping[str, Any]
    remembered: Remembered
    """The fast path's answer: the user, for the same window as this cache entry."""


def _static_keys(settings: JwtSettings, allowed: frozenset[str]) -> KeySet:
    """Prepare the configured keys once. :raises ConfigError: any of them is unusable."""
    keys: list[VerificationKey] = []
    problems: list[str] = []
    documents: list[tuple[str, Any]] = []
    if settings.jwks_file is not None:
        try:
            documents.append(
                ("jwt.jwks_file", json.loads(settings.jwks_file.read_text(encoding="utf-8")))
            )
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"jwt.jwks_file: cannot read a JSON JWKS ({type(exc).__name__})")
    if settings.jwks is not None:
        documents.append(("jwt.jwks", settings.jwks))
    for origin, document in documents:
        try:
            found, skipped = keys_from_jwks(document, allowed, origin=origin)
        except UnusableKeyError as exc:
            problems.append(str(exc))
            continue
        if not found:
            problems.append(
                f"{origin}: no key usable with {', '.join(sorted(allowed))}"
                + (f" ({'; '.join(skipped)})" if skipped else "")
            )
        keys.extend(found)
    pems: list[tuple[str | None, str]] = (
        list(settings.public_keys.items())
        if isinstance(settings.public_keys, dict)
        else [(None, pem) for pem in settings.public_keys]
    )
    for index, (kid, pem) in enumerate(pems):
        try:
            keys.extend(keys_from_pem(pem, allowed, kid=kid))
        except UnusableKeyError as exc:
            problems.append(f"jwt.public_keys[{kid if kid is not None else index}]: {exc}")
    if settings.hmac_secret is not None:
        keys.extend(keys_from_secret(settings.hmac_secret.get_secret_value().encode(), allowed))
    if problems:
        raise ConfigError(problems)
    return KeySet(keys)


class JwtProvider(AuthProvider[JwtSettings, StrMap, StrMap]):
    """The bearer-JWT provider (entry point ``jwt``).

    :param settings: The validated ``[jwt]`` section.
    :param clock: Wall clock in seconds (tests may pass their own).
    :param monotonic: Monotonic clock for the JWKS cache timing.
    :raises ConfigError: a configured key is unusable.
    :raises PluginLoadError: python-jose runs on a pure-Python backend, or
        someone else registered PS*/EdDSA key classes with it.
    """

    settings_model: ClassVar[type[BaseModel]] = JwtSettings
    stateless: ClassVar[bool] = True
    challenge: ClassVar[str | None] = "Bearer"

    def __init__(
        self,
        settings: BaseModel,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(settings, JwtSettings):
            raise ConfigError(f"jwt: expected JwtSettings, got {type(settings).__name__}")
        super().__init__(settings)
        self.jwt_settings = settings
        check_backends()
        register_extension_algorithms()
        allowed = frozenset(settings.algorithms)
        remote = None
        if settings.jwks_url is not None:
            remote = RemoteJwks(
                settings.jwks_url,
                allowed=allowed,
                ttl=settings.jwks_cache_ttl,
                refetch_interval=settings.jwks_refetch_interval,
                timeout=settings.jwks_timeout,
                max_bytes=settings.jwks_max_bytes,
                clock=monotonic,
            )
        self._clock = clock
        self.verifier = TokenVerifier(
            allowed=allowed,
            static_keys=_static_keys(settings, allowed),
            remote=remote,
            rules=ClaimRules.build(
                issuers=settings.issuer,
                audiences=settings.audience,
                additional_audiences=settings.additional_audiences,
                leeway=settings.leeway,
                max_age=settings.max_age,
                required=settings.required_claims,
            ),
            accepted_types=frozenset(normalise_type(t) for t in settings.accepted_types),
            require_type=settings.require_type,
            max_token_bytes=settings.max_token_bytes,
            clock=clock,
        )
        self.cache: VerifiedTokenCache[_Cached] | None = (
            VerifiedTokenCache(
                max_entries=settings.cache_size,
                max_bytes=settings.cache_max_bytes,
                ttl=settings.cache_ttl,
            )
            if settings.cache_size
            else None
        )

    def check(self) -> list[str]:
        """For ``authplug check``: fetch the JWKS (when one is configured) and report problems."""
        remote = self.verifier.remote
        if remote is None:
            return []
        try:
            remote.fetch(unknown_kid=False)
        except ProviderUnavailableError as exc:
            return [exc.message]
        if not remote.keys:
            return [
                f"the JWKS of {remote.host} holds no key usable with "
                f"{', '.join(sorted(self.jwt_settings.algorithms))}"
            ]
        return []

    # -- token extraction -----------------------------------------------------

    def _header_token(self, header: HeaderLookup) -> str | None:
        """The token from ``Authorization: Bearer`` or the configured header, else ``None``.

        :raises TokenRejectedError: ``malformed_token`` for an empty ``Bearer`` credential.
        """
        authorization = header("authorization")
        if authorization is not None:
            if authorization[:7] == "Bearer ":  # the usual form: one scheme, no leading blank
                token = authorization[7:].strip()
                if not token:
                    raise reject("malformed_token")
                return token
            scheme, _, credential = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                token = credential.strip()
                if not token:
                    raise reject("malformed_token")
                return token
        settings = self.jwt_settings
        if settings.token_header is not None:
            value = header(settings.token_header)
            if value:
                value = value.strip()
                if value[:7].lower() == "bearer ":
                    value = value[7:].strip()
                if value:
                    return value
        return None

    def token_from(self, request: AuthRequest) -> str:
        """The request's bearer token.

        :raises TokenRejectedError: ``missing_token`` when none was sent,
            ``malformed_token`` for an empty ``Bearer`` credential.
        """
        token = self._header_token(request.header)
        if token is not None:
            return token
        settings = self.jwt_settings
        if settings.token_cookie is not None:
            value = request.cookies.get(settings.token_cookie)
            if value:
                return value.strip()
        raise reject("missing_token")

    # -- verification -----------------------------------------------------------

    def verify(self, token: str, *, use_cache: bool = False) -> Mapping[str, Any]:
        """Verify ``token`` and return its claims (fetching the JWKS, blocking, when due).

        :param use_cache: Answer from (and fill) the verified-token cache.
        :raises TokenRejectedError: the token is rejected (``code`` says why).
        :raises ProviderUnavailableError: the JWKS could never be fetched.
        """
        if use_cache and self.cache is not None:
            hit = self.cache.get(token, self._clock())
            if hit is not None:
                return hit.claims
        try:
            verified = self.verifier.verify(token)
        except TokenRejectedError as exc:
            _log.debug("bearer token rejected: %s", exc.code)
            raise
        if use_cache:
            self._accept(token, verified)
        return verified.claims

    def _accept(self, token: str, verified: VerifiedToken) -> _Cached:
        """Map the verified claims to the user; cache the result when the cache is on."""
        claims = verified.claims
        auth_data: StrMap = {"exp": str(int(verified.exp)), "iss": str(claims["iss"])}
        try:
            user = map_claims(claims, self.jwt_settings.claims, auth_data=auth_data)
        except TokenRejectedError:
            raise
        except NotAuthenticatedError as exc:
            _log.debug("bearer token rejected: %s", exc.code)
            raise TokenRejectedError("invalid_claims", exc.message) from None
        cache = self.cache
        now = self._clock()
        validity = verified.validity
        until = validity.not_after if cache is None else min(validity.not_after, now + cache.ttl)
        accepted = _Cached(
            Authenticated(user=user),
            claims,
            Remembered(user, until=until, not_before=validity.not_before),
        )
        if cache is not None:
            cache.put(
                token,
                accepted,
                size=verified.payload_size * _CLAIMS_MEMORY_FACTOR,
                expires_at=validity.not_after,
                not_before=validity.not_before,
                now=now,
            )
        return accepted

    # -- the provider contract ----------------------------------------------------

    def authenticate_fast(
        self, header: HeaderLookup
    ) -> AuthenticatedUser[StrMap, StrMap] | Remembered | None:
        """The synchronous fast path (``authplug_authenticate_fast``): no I/O, no coroutine.

        A token from ``Authorization`` (or the configured header) that the
        verified-token cache holds, or that verifies with a key already held,
        yields its user — as :class:`~authplug.results.Remembered` for the
        cache entry's window when the cache is on, so the host answers the
        same header from memory until then. Anything else (no token, a token
        only a cookie carries, a rejected token, a key the JWKS must first be
        fetched for) is ``None``: :meth:`authenticate` then decides and answers.
        """
        cache = self.cache
        try:
            token = self._header_token(header)
            if token is None:
                return None
            if cache is not None:
                hit = cache.get(token, self._clock())
                if hit is not None:
                    return hit.remembered
            outcome = self.verifier.attempt(token)
            if isinstance(outcome, ParsedToken):
                return None
            accepted = self._accept(token, outcome)
            return accepted.result.user if cache is None else accepted.remembered
        except TokenRejectedError:
            return None

    def authenticate(self, request: AuthRequest) -> Authenticated | Awaitable[Authenticated]:
        """Authenticate ``request`` from its bearer token.

        :returns: :class:`~authplug.results.Authenticated`, or a coroutine
            resolving to it when the JWKS must be fetched first.
        :raises TokenRejectedError: (a ``NotAuthenticatedError``) missing or
            rejected token; ``code`` names the reason and ``www_authenticate``
            holds the RFC 6750 challenge.
        :raises ProviderUnavailableError: the JWKS could never be fetched.
        """
        try:
            token = self.token_from(request)
            cache = self.cache
            if cache is not None:
                hit = cache.get(token, self._clock())
                if hit is not None:
                    return hit.result
            outcome = self.verifier.attempt(token)
        except TokenRejectedError as exc:
            _log.debug("bearer token rejected: %s", exc.code)
            raise
        if isinstance(outcome, ParsedToken):
            return self._authenticate_after_fetch(token, outcome)
        return self._accept(token, outcome).result

    async def _authenticate_after_fetch(self, token: str, parsed: ParsedToken) -> Authenticated:
        try:
            verified = await self.verifier.complete_async(parsed)
        except TokenRejectedError as exc:
            _log.debug("bearer token rejected: %s", exc.code)
            raise
        return self._accept(token, verified).result

    def validate_user(
        self, request: AuthRequest, user: AuthenticatedUser[StrMap, StrMap]
    ) -> AuthenticatedUser[StrMap, StrMap] | None:
        """Re-check the token's expiry (bearer tokens carry no other state).

        :raises ForceUserToReauthenticateError: the token has expired (or the
            user carries no expiry).
        """
        raw = (user.auth_data or {}).get("exp", "")
        try:
            exp = float(raw)
        except ValueError:
            exp = float("-inf")
        if self._clock() >= exp + self.jwt_settings.leeway:
            raise ForceUserToReauthenticateError(
                "the bearer token has expired",
                code="token_expired",
                www_authenticate=(
                    'Bearer error="invalid_token", error_description="the token has expired"'
                ),
            )
        return None

    def refresh(self, user: AuthenticatedUser[StrMap, StrMap]) -> AuthenticatedUser[StrMap, StrMap]:
        """Bearer tokens cannot be refreshed here: the client must obtain a new one.

        :raises ForceUserToReauthenticateError: always (code ``refresh_unsupported``).
        """
        raise ForceUserToReauthenticateError(
            "a bearer token cannot be refreshed by the API; obtain a new token",
            code="refresh_unsupported",
            www_authenticate='Bearer error="invalid_token", error_description="obtain a new token"',
        )

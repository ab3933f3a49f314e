"""``IdTokenValidator``: ID tokens checked by the shared JOSE machinery plus OIDC's rules.

:mod:`authplug.jose` does the JWS work: size, strict compact form, ``alg`` in
the allow-list (configured algorithms intersected with the server's
``id_token_signing_alg_values_supported``; never ``none``; HS* only when
configured, keyed by the client secret), ``crit`` refused, ``typ`` (absent or
``JWT``; an ``at+jwt`` access token is not an ID token), key selection by
``kid`` from the server's JWKS with one rate-limited refetch for an unknown
``kid``, ``jku``/``x5u``/``jwk``/``x5c`` never followed, the signature, and the
registered claims: ``iss`` exactly the issuer, ``aud`` containing the client id
and nothing outside it and ``trusted_audiences``, ``exp``/``iat``/``nbf`` typed
and in range with the leeway, ``sub`` and ``iat`` required.

OpenID Connect Core §3.1.3.7 adds, checked here: ``azp`` equals the client id
when present, and is required when ``aud`` lists several audiences; ``nonce``
equals the one stored with the login transaction; ``at_hash``, when present,
matches the access token (§3.2.2.9); ``sub`` a non-empty string. After a
refresh (§12.2) ``iss``, ``sub`` and ``aud`` must be those of the login.
Every failure is an :class:`~authplug_oauth.errors.OAuthLoginError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from authplug.errors import ProviderUnavailableError
from authplug.jose import (
    ClaimRules,
    KeySet,
    ParsedToken,
    RemoteJwks,
    TokenRejectedError,
    TokenVerifier,
    check_backends,
    keys_from_secret,
    register_extension_algorithms,
)
from authplug.jose.algorithms import HMAC
from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.metadata import ServerMetadata
from authplug_oauth.settings import OAuthSettings

__all__ = ["MAX_ID_TOKEN_BYTES", "IdTokenValidator", "at_hash"]

MAX_ID_TOKEN_BYTES: Final = 16384
"""Larger ID tokens are rejected before any decoding."""

_HASHES: Final = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def at_hash(access_token: str, alg: str) -> str:
    """The ``at_hash`` of ``access_token`` for an ID token signed with ``alg``.

    The left half of the hash named by the algorithm (SHA-512 for EdDSA with
    Ed25519), base64url without padding.
    """
    digest = _HASHES.get(alg[-3:], hashlib.sha512)(access_token.encode("ascii", "replace"))
    half = digest.digest()[: digest.digest_size // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


class IdTokenValidator:
    """Validates the ID tokens of one server.

    :param settings: The provider settings.
    :param metadata: The server's metadata (``jwks_uri``, algorithms).
    :param clock: Wall clock (seconds since the epoch).
    :param monotonic: Monotonic clock for the JWKS cache.
    :raises ProviderUnavailableError: no configured algorithm is one the
        server signs ID tokens with.
    """

    def __init__(
        self,
        settings: OAuthSettings,
        metadata: ServerMetadata,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        check_backends()
        register_extension_algorithms()
        configured = frozenset(settings.algorithms)
        advertised = frozenset(metadata.id_token_algorithms)
        allowed = configured & advertised if advertised else configured
        if not allowed:
            raise ProviderUnavailableError(
                "it signs ID tokens with none of the configured algorithms "
                f"({', '.join(sorted(configured))})",
                provider=metadata.name,
            )
        self.settings = settings
        self.allowed = allowed
        static = KeySet([])
        secret = settings.secret
        if allowed & HMAC and secret is not None:
            static = KeySet(keys_from_secret(secret.encode("utf-8"), allowed & HMAC))
        remote = None
        if metadata.jwks_uri is not None and allowed - HMAC:
            remote = RemoteJwks(
                metadata.jwks_uri,
                allowed=allowed - HMAC,
                ttl=settings.jwks_cache_ttl,
                refetch_interval=settings.jwks_refetch_interval,
                timeout=settings.timeout,
                max_bytes=settings.max_response_bytes,
                clock=monotonic,
            )
        self.remote = remote
        self.verifier = TokenVerifier(
            allowed=allowed,
            static_keys=static,
            remote=remote,
            rules=ClaimRules.build(
                issuers=[metadata.issuer or ""],
                audiences=[settings.client_id],
                additional_audiences=settings.trusted_audiences,
                leeway=settings.leeway,
                max_age=None,
                required=["sub", "iat"],
            ),
            accepted_types=frozenset({"jwt"}),
            require_type=False,
            max_token_bytes=MAX_ID_TOKEN_BYTES,
            clock=clock,
        )

    async def verify(
        self,
        token: str,
        *,
        nonce: str | None,
        access_token: str | None,
        previous: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Verify ``token`` and return its claims.

        :param nonce: The transaction's nonce (``None`` after a refresh, where
            a nonce is not required; if one is present it is not checked).
        :param access_token: The access token issued with it (for ``at_hash``).
        :param previous: The login's ``iss``/``sub``/``aud`` a refreshed ID
            token must keep.
        :raises OAuthLoginError: any check failed (``detail`` says which).
        :raises ProviderUnavailableError: the JWKS could never be fetched.
        """
        try:
            outcome = self.verifier.attempt(token)
            if isinstance(outcome, ParsedToken):
                verified = await self.verifier.complete_async(outcome)
            else:
                verified = outcome
        except TokenRejectedError as exc:
            raise OAuthLoginError("invalid_id_token", detail=exc.code) from None
        claims = verified.claims
        self._check(claims, nonce=nonce, access_token=access_token, alg=verified.alg)
        if previous is not None:
            for name in ("iss", "sub", "aud"):
                if _normal(claims.get(name)) != _normal(previous.get(name)):
                    raise OAuthLoginError("invalid_id_token", detail=f"refresh changed {name}")
        return claims

    def _check(
        self, claims: Mapping[str, Any], *, nonce: str | None, access_token: str | None, alg: str
    ) -> None:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise OAuthLoginError("missing_sub")
        client_id = self.settings.client_id
        audiences = claims.get("aud")
        several = isinstance(audiences, list) and len(audiences) > 1
        azp = claims.get("azp")
        if (azp is not None or "azp" in claims or several) and azp != client_id:
            raise OAuthLoginError("invalid_azp")
        if nonce is not None:
            sent = claims.get("nonce")
            if not isinstance(sent, str) or not hmac.compare_digest(
                sent.encode("utf-8", "replace"), nonce.encode("utf-8")
            ):
                raise OAuthLoginError("invalid_nonce")
        if "at_hash" in claims and access_token is not None:
            given = claims["at_hash"]
            if not isinstance(given, str) or not hmac.compare_digest(
                given.encode("utf-8", "replace"), at_hash(access_token, alg).encode("ascii")
            ):
                raise OAuthLoginError("invalid_at_hash")


def _normal(value: Any) -> Any:
    """``aud`` as a sorted tuple (a one-element list equals the bare string)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(sorted(str(item) for item in value))
    return value

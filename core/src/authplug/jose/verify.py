"""``TokenVerifier``: every check a bearer JWT passes, in order, before it is trusted.

1. size cap, before any decoding;
2. strict compact form: three non-empty segments of canonical, unpadded
   base64url; header a UTF-8 JSON object without duplicate names;
3. header: ``alg`` exactly one of the configured algorithms (checked here,
   before any library sees the token; ``none`` can never be configured),
   ``crit`` refused (no extension is understood), ``typ`` among the accepted
   types, ``kid`` a string. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are never
   read: keys come only from the configuration and the configured JWKS URL;
4. key selection by (``alg``, ``kid``) in authplug's own index, with one
   rate-limited JWKS refetch for an unknown ``kid``;
5. signature, with python-jose key objects prepared once (including the PS*
   and EdDSA classes authplug registers with python-jose);
6. payload: a JSON object without duplicate names, then the registered
   claims (:mod:`authplug.jose.claims`); a token typed ``at+jwt`` (or any
   token where ``at+jwt`` is the only accepted type) carrying ``nonce`` is
   refused: RFC 9068 access tokens have none, an ID token does.

No step uses ``assert``, so ``python -O`` changes nothing. Every failure is a
:class:`~authplug.jose.errors.TokenRejectedError` carrying a reason code;
library exceptions never escape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from jose.backends.base import Key
from jose.exceptions import JOSEError

from authplug.jose.claims import ClaimRules, Validity, check_claims
from authplug.jose.compact import decode_segment, json_object, split_compact
from authplug.jose.errors import reject
from authplug.jose.jwks import RemoteJwks
from authplug.jose.keys import MAX_KID_LENGTH, KeySet

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "ParsedToken",
    "TokenVerifier",
    "VerifiedToken",
    "normalise_type",
]

ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a media type, not a secret
"""The normalised ``typ`` of an RFC 9068 access token."""
MAX_KEYS_TRIED: Final = 8
"""Most candidate keys tried for one token without a matching ``kid``."""


def normalise_type(value: str) -> str:
    """Compare-ready ``typ``: lower case without an ``application/`` prefix (RFC 7515 §4.1.9)."""
    lowered = value.lower()
    return lowered[12:] if lowered.startswith("application/") else lowered


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token whose structure and header passed; signature not yet checked."""

    alg: str
    kid: str | None
    typ: str | None
    signing_input: bytes
    signature: bytes
    payload_segment: str


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed every check.

    Attributes:
        claims: The verified claims.
        validity: When a fresh verification keeps accepting it (every time bound).
        payload_size: Bytes of its decoded payload (for cache accounting).
        alg: The algorithm it was verified with (e.g. for an ID token's ``at_hash``).
    """

    claims: dict[str, Any]
    validity: Validity
    payload_size: int
    alg: str

    @property
    def exp(self) -> float:
        """Its expiry (seconds since the epoch)."""
        return self.validity.exp


class TokenVerifier:
    """Verifies compact JWS bearer tokens against a fixed policy.

    :param allowed: The configured algorithms.
    :param static_keys: Keys from the configuration.
    :param remote: The JWKS URL's keys, if one is configured.
    :param rules: Registered-claim rules.
    :param accepted_types: Normalised accepted ``typ`` values.
    :param require_type: Whether ``typ`` must be present.
    :param max_token_bytes: Size cap.
    :param clock: Wall clock (seconds since the epoch).
    """

    def __init__(
        self,
        *,
        allowed: frozenset[str],
        static_keys: KeySet,
        remote: RemoteJwks | None,
        rules: ClaimRules,
        accepted_types: frozenset[str],
        require_type: bool,
        max_token_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.allowed = allowed
        self.static_keys = static_keys
        self.remote = remote
        self.rules = rules
        self.accepted_types = accepted_types
        self.require_type = require_type
        self.max_token_bytes = max_token_bytes
        self.clock = clock

    # -- steps --------------------------------------------------------------

    def parse(self, token: str) -> ParsedToken:
        """Check size, structure and header (steps 1-3)."""
        if len(token) > self.max_token_bytes:
            raise reject("token_too_large")
        header_segment, payload_segment, signature_segment = split_compact(token)
        header = json_object(decode_segment(header_segment))
        alg = header.get("alg")
        if type(alg) is not str or alg not in self.allowed:
            raise reject("unsupported_algorithm")
        if "crit" in header:
            raise reject("unsupported_crit")
        typ = header.get("typ")
        if typ is not None or "typ" in header:
            if type(typ) is not str or normalise_type(typ) not in self.accepted_types:
                raise reject("invalid_type")
            typ = normalise_type(typ)
        elif self.require_type:
            raise reject("invalid_type")
        kid = header.get("kid")
        if (kid is not None or "kid" in header) and (
            type(kid) is not str or not 0 < len(kid) <= MAX_KID_LENGTH
        ):
            raise reject("malformed_token")
        signature = decode_segment(signature_segment)
        signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
        return ParsedToken(alg, kid, typ, signing_input, signature, payload_segment)

    def candidates(self, parsed: ParsedToken) -> tuple[tuple[Key, ...], bool]:
        """Keys that may verify ``parsed`` (step 4), and whether a JWKS fetch is due first."""
        found = self.static_keys.candidates(parsed.alg, parsed.kid)
        remote = self.remote
        if remote is None:
            return found, False
        keys = remote.keys
        if keys is not None:
            found += keys.candidates(parsed.alg, parsed.kid)
        unknown = not found or (parsed.kid is not None and not self._kid_known(parsed.kid))
        return found, remote.fetch_due(unknown_kid=unknown)

    def _kid_known(self, kid: str) -> bool:
        remote_keys = self.remote.keys if self.remote is not None else None
        return self.static_keys.knows_kid(kid) or (
            remote_keys is not None and remote_keys.knows_kid(kid)
        )

    def finish(self, parsed: ParsedToken, keys: tuple[Key, ...]) -> VerifiedToken:
        """Check the signature and the claims (steps 5-6)."""
        if not keys:
            raise reject("unknown_key")
        for key in keys[:MAX_KEYS_TRIED]:
            try:
                if key.verify(parsed.signing_input, parsed.signature) is True:
                    break
            except (JOSEError, ValueError, TypeError, OverflowError):
                continue
        else:
            raise reject("invalid_signature")
        payload = decode_segment(parsed.payload_segment)
        claims = json_object(payload)
        validity = check_claims(claims, self.rules, self.clock())
        if "nonce" in claims and (
            parsed.typ == ACCESS_TOKEN_TYPE or self.accepted_types == {ACCESS_TOKEN_TYPE}
        ):
            # RFC 9068 access tokens carry no nonce: this is an ID token replayed as one.
            raise reject("nonce_in_access_token")
        return VerifiedToken(claims, validity, len(payload), parsed.alg)

    # -- whole verifications --------------------------------------------------

    def attempt(self, token: str) -> VerifiedToken | ParsedToken:
        """Verify ``token`` without network I/O.

        :returns: The verified token, or the parsed token when a JWKS fetch
            is due first (finish it with :meth:`verify` or :meth:`complete_async`).
        """
        parsed = self.parse(token)
        keys, fetch = self.candidates(parsed)
        if fetch:
            return parsed
        return self.finish(parsed, keys)

    def verify(self, token: str) -> VerifiedToken:
        """Verify ``token``, fetching the JWKS (blocking) when due."""
        parsed = self.parse(token)
        keys, fetch = self.candidates(parsed)
        if fetch and self.remote is not None:
            self.remote.fetch(unknown_kid=True)
            keys, _ = self.candidates(parsed)
        return self.finish(parsed, keys)

    async def complete_async(self, parsed: ParsedToken) -> VerifiedToken:
        """Fetch the JWKS without blocking, then finish verifying ``parsed``."""
        keys, fetch = self.candidates(parsed)
        if fetch and self.remote is not None:
            await self.remote.fetch_async()
            keys, _ = self.candidates(parsed)
        return self.finish(parsed, keys)

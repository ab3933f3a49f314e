"""Rejected JWTs, as authplug's typed errors.

Every rejected token becomes a :class:`~authplug.errors.NotAuthenticatedError`
whose ``code`` names the reason and whose message comes from a fixed table:
nothing from the token (header, claims, ``kid``) is ever echoed. Each error
also carries ``www_authenticate``, the RFC 6750 challenge the host sends with
the 401 (``Bearer`` alone when no token was sent, ``error="invalid_token"``
otherwise).
"""

from __future__ import annotations

from typing import Final

from authplug.errors import NotAuthenticatedError

__all__ = ["REASONS", "TokenRejectedError", "reject"]

REASONS: Final[dict[str, str]] = {
    "missing_token": "no bearer token was sent",
    "token_too_large": "the token is larger than allowed",
    "malformed_token": "the token is not a well-formed compact JWS",
    "unsupported_algorithm": "the token's algorithm is not accepted",
    "unsupported_crit": "the token requires header extensions that are not supported",
    "invalid_type": "the token's type (typ) is not accepted",
    "unknown_key": "no trusted key matches the token",
    "invalid_signature": "the token's signature is invalid",
    "token_expired": "the token has expired",
    "token_not_yet_valid": "the token is not valid yet",
    "token_issued_in_future": "the token's issue time is in the future",
    "token_too_old": "the token was issued too long ago",
    "invalid_issuer": "the token's issuer is not trusted",
    "invalid_audience": "the token is not meant for this application",
    "missing_claim": "the token lacks a required claim",
    "invalid_claims": "the token's claims are malformed",
    "nonce_in_access_token": "an access token must not carry a nonce",
}
"""Reason code -> fixed, token-free message."""


class TokenRejectedError(NotAuthenticatedError):
    """A bearer token was missing or rejected.

    Attributes:
        code: The reason (a key of :data:`REASONS`).
        www_authenticate: The ``WWW-Authenticate`` header value for the 401.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        description = REASONS.get(code, "the token was rejected")
        super().__init__(
            message or description,
            code=code,
            www_authenticate=(
                "Bearer"
                if code == "missing_token"
                else f'Bearer error="invalid_token", error_description="{description}"'
            ),
        )


def reject(code: str) -> TokenRejectedError:
    """Return the error for reason ``code`` (the caller raises it)."""
    return TokenRejectedError(code)

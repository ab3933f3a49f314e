"""Mock tokens: random strings with expiry times, kept in ``auth_data``.

A real provider stores what its identity provider returned (access token,
refresh token, expiry) in ``AuthenticatedUser.auth_data``. That mapping lives
only in the encrypted session cookie, so the mock needs no server-side state:
a client can neither read nor forge it.

Keep these key names in your own provider when it has expiring tokens: the
host's lifecycle reads ``expires_at`` (epoch seconds, as a decimal string) and
calls ``authplug_refresh`` when it is within ``refresh_margin``.
"""

from __future__ import annotations

import secrets

from authplug.errors import ForceUserToReauthenticateError
from authplug.models import StrMap

__all__ = [
    "ACCESS_TOKEN",
    "EXPIRES_AT",
    "REFRESH_EXPIRES_AT",
    "REFRESH_TOKEN",
    "TOKEN_BYTES",
    "expiry",
    "issue_tokens",
]

ACCESS_TOKEN = "access_token"  # noqa: S105 - a key name, not a secret
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a key name, not a secret
EXPIRES_AT = "expires_at"
REFRESH_EXPIRES_AT = "refresh_expires_at"

TOKEN_BYTES = 32
"""Random bytes per token (``secrets.token_urlsafe`` turns them into ~43 characters)."""

_MAX_DIGITS = 12
"""Longest expiry accepted (epoch seconds fit in 11 digits until the year 5138)."""


def issue_tokens(*, now: int, token_lifetime: int, refresh_expires_at: int) -> StrMap:
    """Mint a fresh access token and refresh token.

    :param now: The current time in epoch seconds (``int(time.time())``).
    :param token_lifetime: Seconds until the access token expires.
    :param refresh_expires_at: When the refresh token expires, in epoch
        seconds. At login: ``now + refresh_token_lifetime``. At refresh the
        first login's value is kept, so rotating the refresh token never
        extends a session beyond that limit.
    :return: ``auth_data`` with ``access_token``, ``refresh_token``,
        ``expires_at`` and ``refresh_expires_at`` (epoch seconds as strings).
    """
    return {
        ACCESS_TOKEN: secrets.token_urlsafe(TOKEN_BYTES),
        REFRESH_TOKEN: secrets.token_urlsafe(TOKEN_BYTES),
        EXPIRES_AT: str(now + token_lifetime),
        REFRESH_EXPIRES_AT: str(refresh_expires_at),
    }


def expiry(auth_data: StrMap | None, key: str) -> int:
    """Read the epoch-seconds expiry ``key`` from ``auth_data``.

    :raises ForceUserToReauthenticateError: the value is missing or not an
        integer; a session whose tokens cannot be read is over. The message
        names the key, never the value.
    """
    raw = (auth_data or {}).get(key, "")
    if not (0 < len(raw) <= _MAX_DIGITS and raw.isascii() and raw.isdigit()):
        raise ForceUserToReauthenticateError(
            f"mock session has no valid {key}", code="invalid_auth_data"
        )
    return int(raw)

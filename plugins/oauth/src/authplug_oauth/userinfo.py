"""UserInfo (OpenID Connect Core §5.3), or a plain OAuth 2.0 server's user API.

A GET with the access token as a bearer credential, through
:mod:`authplug.fetch` (total deadline, size cap, no redirects). The answer must
be HTTP 200 and a JSON object (``application/json``; a signed or encrypted
``application/jwt`` answer is not accepted). For OpenID Connect its ``sub`` must
equal the ID token's (§5.3.4: a substituted UserInfo response is refused).

:func:`merge_claims` combines both sources: the ID token's protocol claims
always win, UserInfo supplies the profile (``oidc-provider``, Keycloak and
others put names, e-mail and groups only there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from authplug.errors import ProviderUnavailableError
from authplug.fetch import FetchError, FetchResponse, OutboundRequest
from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.settings import OAuthSettings

__all__ = ["PROTOCOL_CLAIMS", "merge_claims", "read_userinfo", "userinfo_request"]

PROTOCOL_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time"}
    | {"acr", "amr", "sid", "jti"}
)
"""Claims only the ID token may supply."""


def userinfo_request(settings: OAuthSettings, endpoint: str, access_token: str) -> OutboundRequest:
    """The GET of ``endpoint`` with ``access_token``."""
    return OutboundRequest(
        "GET",
        endpoint,
        deadline=settings.timeout,
        max_bytes=settings.max_response_bytes,
        headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
    )


def read_userinfo(
    response: FetchResponse, *, expected_sub: str | None, server: str
) -> dict[str, Any]:
    """Check a UserInfo answer and return its claims.

    :param expected_sub: The ID token's ``sub`` (``None`` for plain OAuth 2.0).
    :raises OAuthLoginError: refused (4xx), not a JSON object, or another ``sub``.
    :raises ProviderUnavailableError: a 5xx or other unusable status.
    """
    if 400 <= response.status < 500:
        raise OAuthLoginError("invalid_userinfo", detail=f"HTTP {response.status}")
    if response.status != 200:
        raise ProviderUnavailableError(
            f"its UserInfo endpoint answered HTTP {response.status}", provider=server
        )
    try:
        claims = response.json_object()
    except FetchError as exc:
        raise OAuthLoginError("invalid_userinfo", detail=exc.reason) from None
    if expected_sub is not None:
        sub = claims.get("sub")
        if not isinstance(sub, str) or sub != expected_sub:
            raise OAuthLoginError("userinfo_mismatch")
    return claims


def merge_claims(
    id_claims: Mapping[str, Any] | None, userinfo: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The claims the user is mapped from: UserInfo's profile over the ID token's protocol claims.

    For plain OAuth 2.0 (no ID token) a numeric user id (GitHub's ``id``) is
    kept as a number here; the provider turns the mapped id into a string.
    """
    merged: dict[str, Any] = dict(id_claims or {})
    for name, value in (userinfo or {}).items():
        if id_claims is None or name not in PROTOCOL_CLAIMS:
            merged[name] = value
    return merged

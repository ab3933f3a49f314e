"""The OAuth provider's failures, as authplug's typed errors with fixed messages.

A failed login is an :class:`OAuthLoginError` (a
:class:`~authplug.errors.NotAuthenticatedError`, so the host answers 401 with
its plain page and clears the transaction): its ``code`` names the reason and
its message comes from :data:`REASONS`. Nothing the browser or the server sent
(an ``error_description``, a token, a claim value) is ever put in a message.
A server that cannot be reached or answers unusably is a
:class:`~authplug.errors.ProviderUnavailableError` (503) naming its host.
"""

from __future__ import annotations

from typing import Final

from authplug.errors import NotAuthenticatedError

__all__ = ["REASONS", "OAuthLoginError"]

REASONS: Final[dict[str, str]] = {
    "invalid_callback": "the sign-in response is malformed",
    "duplicated_parameter": "the sign-in response repeats a parameter",
    "invalid_state": "the sign-in response matches no sign-in started in this browser",
    "authorization_denied": "the identity provider did not grant the sign-in",
    "missing_code": "the sign-in response carries no authorization code",
    "invalid_iss": "the sign-in response comes from another issuer",
    "missing_iss": "the sign-in response lacks the issuer the server promised to send",
    "token_request_refused": "the identity provider refused to exchange the code",
    "invalid_token_response": "the identity provider's token response is malformed",
    "missing_id_token": "the identity provider sent no ID token",
    "invalid_id_token": "the ID token is invalid",
    "invalid_nonce": "the ID token does not belong to this sign-in (nonce)",
    "invalid_azp": "the ID token was issued to another client (azp)",
    "invalid_at_hash": "the ID token does not match the access token (at_hash)",
    "missing_sub": "the ID token lacks its subject (sub)",
    "userinfo_mismatch": "UserInfo describes another user than the ID token",
    "invalid_userinfo": "the UserInfo response is malformed",
    "invalid_claims": "the identity provider's claims do not describe a user",
}
"""Reason code -> fixed message (nothing from the request or the server)."""


class OAuthLoginError(NotAuthenticatedError):
    """A sign-in through the OAuth / OpenID Connect server failed.

    Attributes:
        code: The reason (a key of :data:`REASONS`).
        detail: A finer reason for logs (e.g. the ID token check that failed,
            or the server's OAuth ``error`` code when it is a plain token).
    """

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(REASONS.get(code, "the sign-in failed"), code=code)
        self.detail = detail

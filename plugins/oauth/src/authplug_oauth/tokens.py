"""Calls to the token and revocation endpoints, and the strict reading of their answers.

Client authentication follows ``token_endpoint_auth_method``:
``client_secret_basic`` (RFC 6749 §2.3.1: id and secret form-encoded, then
HTTP Basic), ``client_secret_post`` (both in the body) or ``none`` (the id in
the body; public clients, protected by PKCE).

A token response is accepted only when it is HTTP 200, ``application/json``, a
JSON object without an ``error`` member, with a non-empty string
``access_token``, ``token_type`` ``Bearer`` (case-insensitively, RFC 6749
§5.1), ``expires_in`` a non-negative integer when present, string
``refresh_token``/``id_token``/``scope`` when present, and an ``id_token``
when ``openid`` was requested. A JSON ``error`` (any status) is a refusal whose
code is kept for logs; anything else is the server answering unusably (503).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote_plus

from authplug.errors import ProviderUnavailableError
from authplug.fetch import FetchError, FetchResponse, OutboundRequest
from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.settings import OAuthSettings

__all__ = ["TokenRefusedError", "TokenSet", "read_token_response", "token_request"]

_ERROR_CODE: Final = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")
"""RFC 6749 §5.2 ``error`` charset, bounded: safe to log."""
_MAX_EXPIRES_IN: Final = 10 * 365 * 24 * 3600


class TokenRefusedError(OAuthLoginError):
    """The token endpoint answered an OAuth error (``invalid_grant``, ...).

    Attributes:
        error: The server's ``error`` code when it is a plain token, else ``"unknown"``.
    """

    def __init__(self, error: str) -> None:
        super().__init__("token_request_refused", detail=error)
        self.error = error


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A checked token response.

    Attributes:
        access_token: The access token.
        expires_in: Its lifetime in seconds, when the server said.
        refresh_token: A refresh token, if one was issued.
        id_token: The ID token, if one was issued.
        scope: The granted scopes, when the server said.
    """

    access_token: str
    expires_in: int | None
    refresh_token: str | None
    id_token: str | None
    scope: str | None


def token_request(
    settings: OAuthSettings, endpoint: str, form: dict[str, str], *, deadline: float | None = None
) -> OutboundRequest:
    """A POST to ``endpoint`` (token or revocation) with the client's authentication."""
    body = dict(form)
    headers = {"accept": "application/json"}
    secret = settings.secret
    method = settings.auth_method
    if method == "client_secret_basic" and secret is not None:
        pair = f"{quote_plus(settings.client_id)}:{quote_plus(secret)}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        body["client_id"] = settings.client_id
        if method == "client_secret_post" and secret is not None:
            body["client_secret"] = secret
    return OutboundRequest(
        "POST",
        endpoint,
        deadline=deadline if deadline is not None else settings.timeout,
        max_bytes=settings.max_response_bytes,
        headers=headers,
        form=body,
    )


def _error_code(document: dict[str, Any]) -> str:
    error = document.get("error")
    if isinstance(error, str) and _ERROR_CODE.fullmatch(error):
        return error
    return "unknown"


def _optional_string(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise OAuthLoginError("invalid_token_response", detail=f"{name} is not a string")
    return value


def read_token_response(
    response: FetchResponse, *, require_id_token: bool, server: str
) -> TokenSet:
    """Check a token endpoint answer.

    :param server: The server's name for 503 messages.
    :raises TokenRefusedError: the server answered an OAuth error (any status).
    :raises OAuthLoginError: a 200 whose content breaks the rules above.
    :raises ProviderUnavailableError: a 5xx, a non-JSON body, or another status
        without an OAuth error.
    """
    try:
        document = response.json_object()
    except FetchError:  # not JSON, or not an object
        document = None
    if document is not None and "error" in document:
        raise TokenRefusedError(_error_code(document))
    if response.status != 200 or document is None:
        raise ProviderUnavailableError(
            f"its token endpoint answered HTTP {response.status}"
            + ("" if document is not None else " without a JSON body"),
            provider=server,
        )
    access_token = document.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthLoginError("invalid_token_response", detail="access_token missing")
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthLoginError("invalid_token_response", detail="token_type is not Bearer")
    expires_in = document.get("expires_in")
    if expires_in is not None and (
        type(expires_in) is not int or not 0 <= expires_in <= _MAX_EXPIRES_IN
    ):
        raise OAuthLoginError("invalid_token_response", detail="expires_in is not an integer")
    id_token = _optional_string(document, "id_token")
    if require_id_token and id_token is None:
        raise OAuthLoginError("missing_id_token")
    return TokenSet(
        access_token=access_token,
        expires_in=expires_in,
        refresh_token=_optional_string(document, "refresh_token"),
        id_token=id_token,
        scope=_optional_string(document, "scope"),
    )

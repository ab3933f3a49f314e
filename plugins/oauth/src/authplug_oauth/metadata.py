"""``ServerMetadata``: the endpoints and features of the authorization server.

For OpenID Connect, fetched from ``<issuer>/.well-known/openid-configuration``
(through :mod:`authplug.fetch`: total deadline, size cap, no redirects) and
checked: its ``issuer`` must equal the configured one exactly (OpenID Connect
Discovery §4.3, a mix-up defence), every endpoint must be ``https://`` (or
loopback), and ``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri``
must be present. Explicit endpoint settings override the discovered ones. For
plain OAuth 2.0 the metadata is built from the settings alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authplug.errors import ProviderUnavailableError
from authplug.fetch import FetchError, OutboundRequest, check_outbound_url, host_of
from authplug_oauth.settings import OAuthSettings

__all__ = ["DISCOVERY_SUFFIX", "ServerMetadata", "discovery_request", "metadata_from"]

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
"""Appended to the issuer (without its trailing slash) to find the discovery document."""

_ENDPOINT_NAMES = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)


@dataclass(frozen=True, slots=True)
class ServerMetadata:
    """What the provider needs to know about the server.

    Attributes:
        issuer: The exact issuer (``None`` for plain OAuth 2.0).
        authorization_endpoint: Where the browser is sent to log in.
        token_endpoint: Where codes and refresh tokens are exchanged.
        userinfo_endpoint: UserInfo (or a plain OAuth 2.0 user API), if any.
        jwks_uri: The server's signing keys, if any.
        end_session_endpoint: RP-initiated logout, if offered.
        revocation_endpoint: RFC 7009 token revocation, if offered.
        id_token_algorithms: ``id_token_signing_alg_values_supported`` (empty:
            not advertised).
        code_challenge_methods: ``code_challenge_methods_supported``.
        auth_methods: ``token_endpoint_auth_methods_supported``.
        response_modes: ``response_modes_supported``.
        iss_parameter: ``authorization_response_iss_parameter_supported`` (RFC 9207).
    """

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    id_token_algorithms: tuple[str, ...] = ()
    code_challenge_methods: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ()
    response_modes: tuple[str, ...] = ()
    iss_parameter: bool = False

    @property
    def name(self) -> str:
        """The server's name for messages: the issuer's host (or the token endpoint's)."""
        return host_of(self.issuer or self.token_endpoint)


def discovery_request(settings: OAuthSettings) -> OutboundRequest:
    """The GET of the discovery document."""
    issuer = settings.issuer or ""
    return OutboundRequest(
        "GET",
        issuer.rstrip("/") + DISCOVERY_SUFFIX,
        deadline=settings.timeout,
        max_bytes=settings.max_response_bytes,
        headers={"accept": "application/json"},
    )


def _strings(document: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _endpoint(
    settings: OAuthSettings, document: Mapping[str, Any], name: str, where: str
) -> str | None:
    explicit = getattr(settings, name)
    if explicit is not None:
        return str(explicit)
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProviderUnavailableError(
            f"its discovery document's {name} is not a string", provider=where
        )
    try:
        return check_outbound_url(value)
    except ValueError as exc:
        raise ProviderUnavailableError(
            f"its discovery document's {name} {exc}", provider=where
        ) from None


def metadata_from(settings: OAuthSettings, document: Mapping[str, Any] | None) -> ServerMetadata:
    """Build the metadata from the discovery ``document`` (``None``: plain OAuth 2.0) and settings.

    :raises ProviderUnavailableError: the document's ``issuer`` differs from the
        configured one, or a required endpoint is missing or not https.
    """
    where = host_of(settings.issuer or settings.token_endpoint or "")
    doc: Mapping[str, Any] = document or {}
    if document is not None and document.get("issuer") != settings.issuer:
        raise ProviderUnavailableError(
            "its discovery document names a different issuer than the configured one "
            "(the issuer setting must equal the document's issuer exactly)",
            provider=where,
        )
    endpoints = {name: _endpoint(settings, doc, name, where) for name in _ENDPOINT_NAMES}
    authorization, token = endpoints["authorization_endpoint"], endpoints["token_endpoint"]
    if authorization is None or token is None:
        raise ProviderUnavailableError(
            "it advertises no authorization_endpoint or token_endpoint", provider=where
        )
    if settings.is_oidc and endpoints["jwks_uri"] is None:
        raise ProviderUnavailableError("it advertises no jwks_uri", provider=where)
    return ServerMetadata(
        issuer=settings.issuer,
        authorization_endpoint=authorization,
        token_endpoint=token,
        userinfo_endpoint=endpoints["userinfo_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        end_session_endpoint=endpoints["end_session_endpoint"],
        revocation_endpoint=endpoints["revocation_endpoint"],
        id_token_algorithms=_strings(doc, "id_token_signing_alg_values_supported"),
        code_challenge_methods=_strings(doc, "code_challenge_methods_supported"),
        auth_methods=_strings(doc, "token_endpoint_auth_methods_supported"),
        response_modes=_strings(doc, "response_modes_supported"),
        iss_parameter=doc.get("authorization_response_iss_parameter_supported") is True,
    )


def unavailable(exc: FetchError, what: str) -> ProviderUnavailableError:
    """A fetch failure as the 503 error naming the host that failed."""
    return ProviderUnavailableError(f"{what} failed ({exc.reason})", provider=exc.host)

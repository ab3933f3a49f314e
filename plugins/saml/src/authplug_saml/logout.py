"""Single logout: the SP-initiated LogoutRequest and the IdP's answer at ``/auth/saml/sls``.

After the core's ``/auth/logout`` has ended the local session, the provider
sends the browser to the IdP's HTTP-Redirect ``SingleLogoutService`` (when
its metadata offers one) with a LogoutRequest naming the NameID and
``SessionIndex`` of the login (signed when the SP has a key). The IdP ends
its session and redirects back to ``/auth/saml/sls`` with a LogoutResponse,
which pysaml2 checks (issuer, destination, status); the browser then lands
on ``/``. Whatever that answer says, the local session is already gone; a
bad answer only changes the page shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from authplug.models import AnyUser
from authplug.request import AuthRequest
from authplug.responses import page
from authplug.results import ProviderResponse, Redirect
from authplug_saml.settings import SIGNING_ALGORITHMS, SamlSettings
from authplug_saml.sp_client import BINDING_HTTP_REDIRECT, SpClient, name_id
from authplug_saml.user import NAME_ID, NAME_ID_FORMAT, SESSION_INDEX

__all__ = ["SingleLogout"]

_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


class SingleLogout:
    """Builds LogoutRequests and answers ``/auth/saml/sls``.

    :param settings: Provider settings.
    :param client: Returns the current :class:`SpClient`.
    """

    __slots__ = ("_client", "_settings")

    def __init__(self, settings: SamlSettings, client: Callable[[], SpClient]) -> None:
        self._settings = settings
        self._client = client

    def redirect(self, user: AnyUser | None) -> Redirect | None:
        """Where to send the browser after local logout; ``None`` without IdP SLO."""
        client = self._client()
        if client.idp.slo_url is None or user is None or not user.auth_data:
            return None
        auth_data = user.auth_data
        subject = auth_data.get(NAME_ID)
        if not subject:
            return None
        _, location = client.logout_request(
            name_id=name_id(subject, auth_data.get(NAME_ID_FORMAT, "")),
            session_index=auth_data.get(SESSION_INDEX),
            relay_state="",
            sign=self._settings.sp_key_file is not None,
            sigalg=SIGNING_ALGORITHMS[self._settings.signing_algorithm],
        )
        return Redirect(location=location)

    async def handle(self, request: AuthRequest) -> Redirect | ProviderResponse:
        """``GET /auth/saml/sls``: the IdP's LogoutResponse; then the home page."""
        encoded = request.query.get("SAMLResponse")
        if not encoded or len(encoded) > self._settings.max_response_bytes:
            return _page(400, "This is not a logout answer from the identity provider.")
        client = self._client()
        try:
            answer = await asyncio.to_thread(
                client.parse_logout_response, encoded, BINDING_HTTP_REDIRECT
            )
        except Exception:  # pysaml2 raises many types; the local session is over anyway
            answer = None
        message = getattr(answer, "response", None)
        issuer = getattr(getattr(message, "issuer", None), "text", None)
        status = getattr(
            getattr(getattr(message, "status", None), "status_code", None), "value", ""
        )
        if issuer != client.idp.entity_id or status != _SUCCESS:
            return _page(
                400,
                "You are signed out of this application, but the identity provider did not"
                " confirm that it ended its own session.",
            )
        return Redirect(location="/")


def _page(status: int, text: str) -> ProviderResponse:
    return ProviderResponse(status=status, body=page("Signed out", text))

"""Starting a login: an AuthnRequest over HTTP-Redirect, its id kept in a flow transaction.

The SP generates the request id itself, begins a cross-site flow transaction
(``SameSite=None; Secure``, since the IdP's answer is a cross-site POST)
holding it (the host has stored the checked ``return_to`` there already), and
sends the transaction id as ``RelayState``: an opaque handle, never a URL.
The request is signed (RSA-SHA256 by default, on the query string as the
HTTP-Redirect binding defines) when the SP has a key.
"""

from __future__ import annotations

import secrets

from authplug.errors import NotAuthenticatedError
from authplug.request import AuthRequest
from authplug.results import Redirect
from authplug_saml.acs import REQUEST_ID
from authplug_saml.settings import SIGNING_ALGORITHMS, SamlSettings
from authplug_saml.sp_client import SpClient

__all__ = ["new_request_id", "start_login"]


def new_request_id() -> str:
    """A fresh AuthnRequest ``ID`` (an NCName: 160 random bits, hex, ``id-`` prefix)."""
    return "id-" + secrets.token_hex(20)


def start_login(request: AuthRequest, settings: SamlSettings, client: SpClient) -> Redirect:
    """The redirect to the IdP that starts a login for ``request``'s browser.

    :raises NotAuthenticatedError: the host offered no login transaction
        (``request.flow``), which a browser login needs.
    """
    flow = request.flow
    if flow is None:
        raise NotAuthenticatedError("no login transaction available", code="no_flow")
    request_id = new_request_id()
    relay_state = flow.begin({REQUEST_ID: request_id}, cross_site=True)
    sign = settings.sp_key_file is not None
    built_id, location = client.authn_request(
        relay_state,
        request_id=request_id,
        sign=sign,
        sigalg=SIGNING_ALGORITHMS[settings.signing_algorithm],
    )
    if built_id != request_id:
        raise RuntimeError("pysaml2 did not use the request id it was given")
    return Redirect(location=location)

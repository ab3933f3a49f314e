"""``SamlProvider``: a SAML 2.0 service provider on pysaml2, hardened.

Routes (paths follow ``acs_path``; defaults shown):

* ``POST /auth/saml/acs``: the assertion consumer service (:mod:`authplug_saml.acs`);
* ``GET /auth/saml/metadata``: this SP's metadata, signed when the SP has a key;
* ``GET /auth/saml/sls``: the IdP's answer to single logout (:mod:`authplug_saml.logout`).

A protected request without a session, or the core's
``/auth/login?return_to=...``, starts a login (:mod:`authplug_saml.login`).
Sessions end at ``SessionNotOnOrAfter`` or after ``session_lifetime``
(``validate_user`` and ``refresh`` raise
:class:`~authplug.errors.ForceUserToReauthenticateError`): a SAML login
cannot be refreshed without the browser.

Loading checks the ``xmlsec1`` binary, reads (or fetches) the IdP metadata,
refreshed on a TTL when it comes from a URL (:mod:`authplug_saml.metadata_refresh`), builds the
pysaml2 client (importing ``saml2.client`` once, here) and refuses an IdP
without a signing certificate. The host then hands over its user store
(:meth:`use_store`), which must hold the assertion replay cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from pydantic import BaseModel

from authplug.errors import ConfigError, ForceUserToReauthenticateError
from authplug.models import AnyUser, StrMap
from authplug.provider import AuthProvider
from authplug.request import AuthRequest
from authplug.results import ProviderResponse, Redirect
from authplug.routes import Route
from authplug.stores.base import UserStore
from authplug_saml.acs import Acs
from authplug_saml.login import start_login
from authplug_saml.logout import SingleLogout
from authplug_saml.metadata_refresh import IdpMetadata
from authplug_saml.replay import ReplayCache
from authplug_saml.settings import SamlSettings
from authplug_saml.sp_client import SpClient
from authplug_saml.user import EXPIRES_AT, SamlUser
from authplug_saml.xmlsec import find_xmlsec

__all__ = ["SamlProvider"]

METADATA_TYPE = "application/samlmetadata+xml"


class SamlProvider(AuthProvider[SamlSettings, StrMap, StrMap]):
    """Log users in through a SAML 2.0 IdP (Web Browser SSO profile, SP-initiated).

    :param settings: The validated ``[saml]`` settings.
    :param clock: Epoch-seconds clock (tests).
    :raises ConfigError: ``xmlsec1`` missing or too old, metadata unreadable
        or unusable, key files unreadable.
    """

    settings_model: ClassVar[type[BaseModel]] = SamlSettings

    settings: SamlSettings

    def __init__(self, settings: SamlSettings, *, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(settings, SamlSettings):
            raise ConfigError(f"saml: settings must be SamlSettings, not {type(settings).__name__}")
        super().__init__(settings)
        self.settings = settings
        self._clock = clock
        for name in ("sp_key_file", "sp_cert_file"):
            path = getattr(settings, name)
            if path is not None and not path.is_file():
                raise ConfigError(f"saml.{name}: {path} does not exist")
        xmlsec = find_xmlsec(settings.xmlsec_binary)
        self._idp_metadata = IdpMetadata(
            settings.idp_metadata, lambda document: SpClient(settings, document, xmlsec)
        )
        self._acs = Acs(settings, self.client, settings.claims, clock)
        self._logout = SingleLogout(settings, self.client)

    def client(self) -> SpClient:
        """The current pysaml2 client (with the IdP metadata it was built from)."""
        return self._idp_metadata.current()

    def check(self) -> list[str]:
        """For ``authplug check``: fetch URL metadata again; one sentence per problem."""
        reason = self._idp_metadata.refresh()
        return [f"saml: the IdP metadata could not be refreshed ({reason})"] if reason else []

    def use_store(self, store: UserStore) -> None:
        """Keep the assertion replay cache in the host's user store.

        :raises ConfigError: the store does not implement ``claim_once``.
        """
        self._acs.replay = ReplayCache(store)

    def authenticate(self, request: AuthRequest) -> Redirect:
        """Send a browser without a session to the IdP (AuthnRequest, HTTP-Redirect)."""
        return start_login(request, self.settings, self.client())

    def routes(self) -> Sequence[Route]:
        """The ACS, the SP metadata and the single-logout return."""
        settings = self.settings
        return (
            Route(settings.acs_path, self._acs, frozenset({"POST"})),
            Route(settings.metadata_path, self._metadata),
            Route(settings.logout_path, self._logout.handle),
        )

    def _metadata(self, request: AuthRequest) -> ProviderResponse:
        body = self.client().metadata_xml(sign=self.settings.sp_key_file is not None)
        return ProviderResponse(
            status=200,
            body=body,
            content_type=METADATA_TYPE,
            headers=(("cache-control", "public, max-age=3600"),),
        )

    def validate_user(self, request: AuthRequest, user: SamlUser) -> None:
        """End the session at ``SessionNotOnOrAfter`` / ``session_lifetime``; else keep it.

        :raises ForceUserToReauthenticateError: the session's end has passed
            (or the session carries no end).
        """
        self._ends(user)

    def refresh(self, user: SamlUser) -> SamlUser:
        """A SAML login cannot be renewed without the browser: always ends the session.

        :raises ForceUserToReauthenticateError: always.
        """
        raise ForceUserToReauthenticateError(
            "a SAML session cannot be refreshed", code="saml_session_ended"
        )

    def logout(self, request: AuthRequest, user: AnyUser | None) -> Redirect | None:
        """SP-initiated single logout when the IdP offers it (see :mod:`authplug_saml.logout`)."""
        return self._logout.redirect(user)

    def _ends(self, user: SamlUser) -> None:
        raw = (user.auth_data or {}).get(EXPIRES_AT)
        try:
            ends = float(raw) if raw is not None else None
        except ValueError:
            ends = None
        if ends is None or self._clock() >= ends:
            raise ForceUserToReauthenticateError(
                "the SAML session has ended", code="saml_session_ended"
            )

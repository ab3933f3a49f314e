"""``MockProvider``: log in as a configured user, for development.

This is the smallest complete authplug provider; copy its shape for your own.
A provider distribution needs:

1. A settings model (:mod:`authplug_mock.settings`), named in
   ``settings_model``. The loader validates the provider's config table with
   it and passes the result to ``__init__``.
2. A subclass of :class:`authplug.AuthProvider` parametrised with the types
   of ``auth_data`` and ``custom_data`` (string maps here), implementing:

   * ``authenticate(request)``: called for a protected request without a
     session. Return :class:`~authplug.results.Redirect` to your login page
     or IdP (the host remembers where the user was going, and answers API
     clients with 401 JSON instead), or
     :class:`~authplug.results.Authenticated` when the request itself proves
     who it is (a bearer token).
   * ``routes()``: your ``/auth/...`` endpoints (:mod:`authplug_mock.routes`).
   * ``validate_user(request, user)``: called now and then (every
     ``validate_interval``) for a live session. Return ``None`` when nothing
     changed, an updated user when something did, or raise
     :class:`~authplug.errors.ForceUserToReauthenticateError` to end it.
   * ``refresh(user)``: called when ``auth_data["expires_at"]`` is near.
     Return the user with new tokens, or raise
     ``ForceUserToReauthenticateError``.

   Methods may be plain or ``async def``; the host awaits what needs awaiting.
   Raise only :mod:`authplug.errors` types, with messages that contain no
   token or other secret.
3. An entry point in your ``pyproject.toml``::

       [project.entry-points."authplug.providers"]
       mock = "authplug_mock.provider:MockProvider"

``development_only = True`` makes the loader refuse this provider when
``env = "production"``, unless ``[mock] allow_in_production = true``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

from pydantic import BaseModel

from authplug.errors import ConfigError, ForceUserToReauthenticateError
from authplug.models import StrMap
from authplug.provider import AuthProvider
from authplug.request import AuthRequest
from authplug.results import Redirect
from authplug.routes import Route
from authplug_mock.login_page import LOGIN_PATH
from authplug_mock.routes import mock_routes
from authplug_mock.settings import MockSettings, MockUser
from authplug_mock.tokens import REFRESH_EXPIRES_AT, REFRESH_TOKEN, expiry, issue_tokens
from authplug_mock.users import MockSessionUser, profile_changed, to_session_user

__all__ = ["MockProvider"]


class MockProvider(AuthProvider[MockSettings, StrMap, StrMap]):
    """A provider whose users are listed in config and picked on a login page.

    Development only: anyone who can reach ``/auth/mock/login`` can become
    any configured user, admins included.
    """

    settings_model: ClassVar[type[BaseModel]] = MockSettings
    development_only: ClassVar[bool] = True

    settings: MockSettings

    def __init__(self, settings: MockSettings | None = None) -> None:
        """Keep ``settings`` (default: :class:`MockSettings` with its three users).

        :raises ConfigError: ``settings`` is not a :class:`MockSettings`.
        """
        if settings is None:
            settings = MockSettings()
        elif not isinstance(settings, MockSettings):
            raise ConfigError(f"mock: settings must be MockSettings, not {type(settings).__name__}")
        super().__init__(settings)
        self.settings = settings

    def authenticate(self, request: AuthRequest) -> Redirect:
        """Send a request without a session to the login page.

        A login transaction is begun when the host offers one
        (``request.flow``): it holds the ``return_to`` the host captured, and
        its id travels through the login page like an OAuth ``state``.
        """
        if request.flow is None:
            return Redirect(location=LOGIN_PATH)
        txn = request.flow.begin({})
        return Redirect(location=f"{LOGIN_PATH}?txn={quote(txn, safe='')}")

    def routes(self) -> Sequence[Route]:
        """The login page (see :mod:`authplug_mock.routes`)."""
        return mock_routes(self.settings)

    def validate_user(self, request: AuthRequest, user: MockSessionUser) -> MockSessionUser | None:
        """Follow configuration changes into live sessions.

        :return: ``None`` when the configured profile still matches; the
            user rebuilt from configuration (same ``auth_data``) when its
            names, type, roles, custom data or features changed.
        :raises ForceUserToReauthenticateError: the user was removed from
            the configuration.
        """
        configured = self._configured(user)
        if not profile_changed(configured, user):
            return None
        return to_session_user(configured, user.auth_data)

    def refresh(self, user: MockSessionUser) -> MockSessionUser:
        """Rotate both tokens; the access token gets a full ``token_lifetime``.

        The refresh token's expiry is kept from the login, so a session ends
        at most ``refresh_token_lifetime`` seconds after the user logged in.

        :raises ForceUserToReauthenticateError: the refresh token is missing
            or expired, or the user was removed from the configuration.
        """
        self._configured(user)
        auth_data = user.auth_data or {}
        if not auth_data.get(REFRESH_TOKEN):
            raise ForceUserToReauthenticateError(
                "mock session has no refresh token", code="refresh_token_missing"
            )
        refresh_expires_at = expiry(auth_data, REFRESH_EXPIRES_AT)
        now = int(time.time())
        if now >= refresh_expires_at:
            raise ForceUserToReauthenticateError(
                "mock refresh token expired", code="refresh_token_expired"
            )
        tokens = issue_tokens(
            now=now,
            token_lifetime=self.settings.token_lifetime,
            refresh_expires_at=refresh_expires_at,
        )
        return user.model_copy(update={"auth_data": tokens})

    def _configured(self, user: MockSessionUser) -> MockUser:
        """The configuration's entry for ``user``, or end the session."""
        configured = self.settings.find_user(user.user_id)
        if configured is None:
            raise ForceUserToReauthenticateError(
                "mock user is no longer configured", code="user_removed"
            )
        return configured

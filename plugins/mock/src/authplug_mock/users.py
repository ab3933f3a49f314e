"""From a configured :class:`~authplug_mock.settings.MockUser` to a session user.

Every provider ends its login by building an
:class:`~authplug.models.AuthenticatedUser` from what its identity provider
said (OIDC claims, SAML attributes, here a config entry). Keep that mapping in
one small module, so ``validate`` can rebuild the profile and compare it with
the session's copy.
"""

from __future__ import annotations

from typing import TypeAlias

from authplug.models import AuthenticatedUser, Feature, StrMap
from authplug_mock.settings import MockUser

__all__ = ["MockSessionUser", "profile_changed", "to_session_user"]

MockSessionUser: TypeAlias = AuthenticatedUser[StrMap, StrMap]
"""The user the mock provider produces: string maps for auth and custom data."""

_PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "user_type",
    "roles",
    "custom_data",
)
"""What the configuration decides about a user (besides features; not id and tokens)."""


def to_session_user(user: MockUser, auth_data: StrMap | None) -> MockSessionUser:
    """Build the session user for ``user`` carrying ``auth_data`` (its tokens)."""
    return MockSessionUser(
        user_id=user.user_id,
        first_name=user.first_name,
        last_name=user.last_name,
        user_type=user.user_type,
        roles=user.roles,
        custom_data=dict(user.custom_data) if user.custom_data is not None else None,
        auth_data=auth_data,
        features=user.features,
    )


def profile_changed(configured: MockUser, session_user: MockSessionUser) -> bool:
    """Whether the configuration now says something else about the user than the session."""
    if any(getattr(configured, name) != getattr(session_user, name) for name in _PROFILE_FIELDS):
        return True
    wanted = {name: Feature.switch(name) for name in configured.features}
    return wanted != session_user.features

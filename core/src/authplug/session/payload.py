"""``SessionData``: what the sealed session cookie holds.

The lifetimes are enforced from these fields, inside the authenticated
payload, never from cookie attributes a client controls.
"""

from __future__ import annotations

import secrets
from typing import Any, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_serializer,
)

from authplug.custom_data import warn_if_secret_looking
from authplug.models import AuthenticatedUser

__all__ = ["SessionData", "SessionUser", "as_session_user", "new_sid"]

SessionUser: TypeAlias = AuthenticatedUser[dict[str, str], dict[str, str]]
"""The user as a session stores it: both data tiers are plain string maps."""
SessionUser.__doc__ = (
    "The user as a session stores it: AuthenticatedUser with both data tiers plain string maps."
)

_Epoch = Field(ge=0, allow_inf_nan=False)


def as_session_user(user: AuthenticatedUser[Any, Any]) -> SessionUser:
    """``user`` as the session holds it, ``auth_data`` kept (read from attributes, not a dump).

    The one conversion from a provider's user to the session's: it also
    warns (once per key) when ``custom_data`` looks like it holds a secret.
    """
    warn_if_secret_looking(user.custom_data)
    return SessionUser.model_validate(user, from_attributes=True)


def new_sid() -> str:
    """A fresh random 128-bit session id (base64url, 22 characters)."""
    return secrets.token_urlsafe(16)


class SessionData(BaseModel):
    """One browser session, sealed into the session cookie.

    Attributes:
        sid: Random 128-bit id (base64url), new at every login so a planted
            pre-login cookie never becomes the session (anti-fixation).
        user: The signed-in user, ``auth_data`` included.
        created_at: Login time, epoch seconds; the absolute lifetime counts
            from here.
        last_seen_at: Epoch seconds of the last request that refreshed the
            cookie; the idle timeout counts from here.
        validated_at: Epoch seconds of the last ``authplug_validate`` (or the
            login).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sid: str = Field(min_length=16, max_length=64)
    user: SessionUser
    created_at: float = _Epoch
    last_seen_at: float = _Epoch
    validated_at: float = _Epoch

    @field_serializer("user", mode="wrap")
    def _user_with_auth_data(
        self, user: SessionUser, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        """The one explicit path that serialises ``auth_data``: into the sealed cookie.

        ``AuthenticatedUser`` excludes ``auth_data`` from every dump; the
        session payload adds it back, and nothing else does.
        """
        data = handler(user)
        if user.auth_data is not None:
            data["authData" if info.by_alias else "auth_data"] = dict(user.auth_data)
        return data

    @classmethod
    def start(cls, user: AuthenticatedUser[Any, Any], now: float) -> SessionData:
        """A new session for ``user`` logged in at ``now``, with a fresh ``sid``."""
        stored = as_session_user(user)
        return cls(sid=new_sid(), user=stored, created_at=now, last_seen_at=now, validated_at=now)

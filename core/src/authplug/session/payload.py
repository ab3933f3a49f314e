"""``SessionData``: what the sealed session cookie holds.

The lifetimes are enforced from these fields, inside the authenticated
payload, never from cookie attributes a client controls.
"""

from __future__ import annotations

import secrets
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from authplug.models import AuthenticatedUser

__all__ = ["SessionData", "SessionUser", "new_sid"]

SessionUser: TypeAlias = AuthenticatedUser[dict[str, str], dict[str, str]]
"""The user as a session stores it: both data tiers are plain string maps."""
SessionUser.__doc__ = (
    "The user as a session stores it: AuthenticatedUser with both data tiers plain string maps."
)

_Epoch = Field(ge=0, allow_inf_nan=False)


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

    @classmethod
    def start(cls, user: AuthenticatedUser[Any, Any], now: float) -> SessionData:
        """A new session for ``user`` logged in at ``now``, with a fresh ``sid``."""
        stored = SessionUser.model_validate(user.model_dump())
        return cls(sid=new_sid(), user=stored, created_at=now, last_seen_at=now, validated_at=now)

"""Role and user-type requirements, shared by the framework layers.

``authplug.flask`` and ``authplug.django`` decorate views with the same rule
``authplug.starlette.requires`` applies to FastAPI dependencies; this module
holds it without importing any framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from authplug.models import AuthenticatedUser, UserType

__all__ = ["Requirement"]


class Requirement:
    """Roles and/or user types a user must have.

    ``any`` (the default): holds one of the roles or is one of the user types
    (a requirement naming nothing allows every signed-in user). ``all``:
    holds every role and (no user types given, or is one of them).

    :raises TypeError: ``roles`` or ``user_types`` is a bare string.
    :raises ValueError: ``mode`` is neither ``"any"`` nor ``"all"``.
    """

    __slots__ = ("mode", "roles", "user_types")

    def __init__(
        self,
        roles: Sequence[str] = (),
        user_types: Sequence[UserType] = (),
        mode: Literal["any", "all"] = "any",
    ) -> None:
        if isinstance(roles, str) or isinstance(user_types, str):
            raise TypeError("roles and user_types must be sequences of names, not a string")
        if mode not in ("any", "all"):
            raise ValueError("mode must be 'any' or 'all'")
        self.roles = tuple(roles)
        self.user_types = tuple(user_types)
        self.mode = mode

    def allows(self, user: AuthenticatedUser[Any, Any]) -> bool:
        """Whether ``user`` satisfies the requirement."""
        held = set(user.roles)
        if self.mode == "all":
            if not held.issuperset(self.roles):
                return False
            return not self.user_types or user.user_type in self.user_types
        if not self.roles and not self.user_types:
            return True
        return bool(held.intersection(self.roles)) or user.user_type in self.user_types

"""The user model and the views of it that tools and agents may see.

:class:`AuthenticatedUser` is what a provider produces and what the session
cookie carries. Its three visibility tiers are enforced by types:

* ``auth_data`` (tokens) lives only in the encrypted session cookie. It is
  excluded from ``repr``, from :meth:`AuthenticatedUser.tool_view` and from
  :meth:`AuthenticatedUser.agent_view`, and the user store's record type has
  no field for it.
* ``custom_data`` is stored and visible to tools (:class:`ToolUserView`), but
  not to the agent (:class:`AgentUserView`).
* everything else is visible to all three.

Serialised field names are camelCase (``userId``, ``authData``) to match the
reference system's JSON; Python code uses snake_case names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "EXTERNAL_USER",
    "INTERNAL_USER",
    "AgentUserView",
    "AnyUser",
    "AuthDataT",
    "AuthenticatedUser",
    "CustomDataT",
    "StrMap",
    "ToolUserView",
    "UserType",
]

UserType: TypeAlias = Literal["internal-user", "external-user"]
"""Who the user is to the application: staff (``internal-user``) or a customer
or partner (``external-user``)."""

INTERNAL_USER: UserType = "internal-user"
EXTERNAL_USER: UserType = "external-user"

StrMap: TypeAlias = dict[str, str]
"""A string-to-string mapping: the shape of ``auth_data`` and ``custom_data``."""

AuthDataT = TypeVar("AuthDataT", bound=Mapping[str, str])
CustomDataT = TypeVar("CustomDataT", bound=Mapping[str, str])

_MODEL_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    frozen=True,
    extra="forbid",
    str_max_length=16384,
)


class AgentUserView(BaseModel):
    """What an AI agent may know about the user: no auth data, no custom data."""

    model_config = _MODEL_CONFIG

    user_id: str = Field(min_length=1, max_length=512)
    first_name: str = Field(default="", max_length=512)
    last_name: str = Field(default="", max_length=512)
    user_type: UserType
    roles: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


class ToolUserView(AgentUserView):
    """What tools may see: everything but auth data (the store holds this too)."""

    custom_data: StrMap | None = None


class AuthenticatedUser(BaseModel, Generic[AuthDataT, CustomDataT]):
    """A signed-in user, as a provider returns it and the session carries it.

    Attributes:
        user_id: Stable identifier of the user at the identity provider.
        first_name: Given name, for display.
        last_name: Family name, for display.
        user_type: ``"internal-user"`` or ``"external-user"``.
        roles: Role names such as ``"pika:content-admin"``.
        custom_data: Application data about the user (company, locale...).
            Saved to the user store and shown to tools; never to the agent.
        auth_data: Credentials (access/refresh tokens, their expiry). Lives
            only inside the encrypted session cookie: never stored, never
            logged (hidden from ``repr``), never in a tool or agent view.
        features: Feature flags enabled for the user (``"instruction"``,
            ``"history"``).
    """

    model_config = _MODEL_CONFIG

    user_id: str = Field(min_length=1, max_length=512)
    first_name: str = Field(default="", max_length=512)
    last_name: str = Field(default="", max_length=512)
    user_type: UserType
    roles: tuple[str, ...] = ()
    custom_data: CustomDataT | None = None
    auth_data: AuthDataT | None = Field(default=None, repr=False)
    features: tuple[str, ...] = ()

    def tool_view(self) -> ToolUserView:
        """Return the user as tools may see it (no ``auth_data``)."""
        return ToolUserView(
            user_id=self.user_id,
            first_name=self.first_name,
            last_name=self.last_name,
            user_type=self.user_type,
            roles=self.roles,
            features=self.features,
            custom_data=dict(self.custom_data) if self.custom_data is not None else None,
        )

    def agent_view(self) -> AgentUserView:
        """Return the user as an agent may see it (no ``auth_data``, no ``custom_data``)."""
        return AgentUserView(
            user_id=self.user_id,
            first_name=self.first_name,
            last_name=self.last_name,
            user_type=self.user_type,
            roles=self.roles,
            features=self.features,
        )

    def has_role(self, role: str) -> bool:
        """Return whether the user holds ``role`` (exact match)."""
        return role in self.roles


AnyUser: TypeAlias = AuthenticatedUser[Any, Any]
AnyUser.__doc__ = "An :class:`AuthenticatedUser` whatever its data types (what the core handles)."

"""The user model and the views of it that tools and agents may see.

:class:`AuthenticatedUser` is what a provider produces and what the session
cookie carries. Its three visibility tiers are enforced by types:

* ``auth_data`` (tokens) lives only in the encrypted session cookie. It is
  excluded from ``repr``, ``str``, ``dict(user)``, ``model_dump`` and
  ``model_dump_json`` (so a FastAPI endpoint returning the user cannot send
  tokens to the browser), from :meth:`AuthenticatedUser.tool_view` and from
  :meth:`AuthenticatedUser.agent_view`, and the user store's record type has
  no field for it. The session codec is the one place that serialises it
  (:mod:`authplug.session.payload`).
* ``custom_data`` is stored in the user store and visible to tools
  (:class:`ToolUserView`), but not to the agent (:class:`AgentUserView`).
  Secrets never belong there: the core warns once per key at login when a
  key looks like one (``token``, ``secret``, ``password``, ``key``).
* everything else is visible to all three.

Serialised field names are camelCase (``userId``, ``authData``) to match the
reference system's JSON; Python code uses snake_case names.

Features are named objects, as the reference system has them::

    {"instruction": {"type": "instruction", "instruction": "Answer in German."},
     "history": {"type": "history", "history": true}}

A plain list of names (``["history"]``, what earlier versions stored and what
a claim or a config file most often holds) is accepted everywhere and means
each named feature switched on: ``{"history": {"type": "history", "history":
true}}``. Features are visible to tools and to the agent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "EXTERNAL_USER",
    "INTERNAL_USER",
    "AgentUserView",
    "AnyUser",
    "AuthDataT",
    "AuthenticatedUser",
    "CustomDataT",
    "Feature",
    "Features",
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

MAX_FEATURES = 64
"""Most features one user may have."""

_FEATURE_NAME_LENGTH = 64
_FEATURE_FIELDS = 16

FeatureValue: TypeAlias = str | bool | int | float | None
"""What a feature's own fields may hold (scalars only)."""


class Feature(BaseModel):
    """One feature enabled for a user: ``{"type": "history", "history": true}``.

    ``type`` names the kind of feature; the other fields are the feature's
    settings (by the reference system's convention, one named like the type:
    the instruction text, ``true`` for a switch). At most 16 fields, each a
    string, number, boolean or null.
    """

    model_config = ConfigDict(frozen=True, extra="allow", str_max_length=16384)

    type: str = Field(min_length=1, max_length=_FEATURE_NAME_LENGTH)

    @model_validator(mode="after")
    def _scalars_only(self) -> Feature:
        extra = self.model_extra or {}
        if len(extra) > _FEATURE_FIELDS:
            raise ValueError(f"a feature has at most {_FEATURE_FIELDS} fields")
        for name, value in extra.items():
            if not isinstance(value, str | bool | int | float | None):
                raise ValueError(f"feature field {name!r} must be a string, number or boolean")
            if isinstance(value, str) and len(value) > 16384:
                raise ValueError(f"feature field {name!r} is too long")
        return self

    @classmethod
    def switch(cls, name: str) -> Feature:
        """The feature ``name`` switched on: ``{"type": name, name: true}``."""
        return cls.model_validate({"type": name, name: True})


def features_from(value: object) -> object:
    """Accept a list of feature names as each named feature switched on (see the module doc).

    Mappings pass through for validation; anything else is left for pydantic
    to refuse.
    """
    if isinstance(value, list | tuple | set | frozenset):
        names = list(dict.fromkeys(value))
        if all(isinstance(n, str) for n in names):
            return {n: {"type": n, n: True} for n in names}
    return value


def _check_names(value: dict[str, Feature]) -> dict[str, Feature]:
    if len(value) > MAX_FEATURES:
        raise ValueError(f"at most {MAX_FEATURES} features")
    for name in value:
        if not 1 <= len(name) <= _FEATURE_NAME_LENGTH:
            raise ValueError(f"a feature name has 1 to {_FEATURE_NAME_LENGTH} characters")
    return value


Features: TypeAlias = Annotated[dict[str, Feature], BeforeValidator(features_from)]
"""A user's features by name (a list of names is accepted: each switched on)."""

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
    features: Features = Field(default_factory=dict)

    @model_validator(mode="after")
    def _feature_names(self) -> AgentUserView:
        _check_names(self.features)
        return self

    def has_feature(self, name: str) -> bool:
        """Whether the user has the feature called ``name``."""
        return name in self.features


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
            Never put a secret here.
        auth_data: Credentials (access/refresh tokens, their expiry). Lives
            only inside the encrypted session cookie: never stored, never
            logged (hidden from ``repr``), never serialised by
            ``model_dump``/``model_dump_json``/``dict()`` (so never in a JSON
            response), never in a tool or agent view. Read it as an attribute.
        features: The user's features by name, each a :class:`Feature`
            (``{"history": {"type": "history", "history": true}}``); a
            list of names is accepted and means each switched on.
    """

    model_config = _MODEL_CONFIG

    user_id: str = Field(min_length=1, max_length=512)
    first_name: str = Field(default="", max_length=512)
    last_name: str = Field(default="", max_length=512)
    user_type: UserType
    roles: tuple[str, ...] = ()
    custom_data: CustomDataT | None = None
    auth_data: AuthDataT | None = Field(default=None, repr=False, exclude=True)
    features: Features = Field(default_factory=dict)

    @model_validator(mode="after")
    def _feature_names(self) -> AuthenticatedUser[AuthDataT, CustomDataT]:
        _check_names(self.features)
        return self

    def __iter__(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        """``(field, value)`` pairs, as ``dict(user)`` sees them: ``auth_data`` left out."""
        for name, value in super().__iter__():
            if name != "auth_data":
                yield name, value

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

    def has_feature(self, name: str) -> bool:
        """Whether the user has the feature called ``name``."""
        return name in self.features


AnyUser: TypeAlias = AuthenticatedUser[Any, Any]
AnyUser.__doc__ = "An :class:`AuthenticatedUser` whatever its data types (what the core handles)."

"""``build_user``: the one audited way to build a user without pydantic validation.

Validating an :class:`~authplug.models.AuthenticatedUser` through pydantic
costs tens of microseconds, which on the bearer-token path is more than the
signature check. A provider that already holds the values (strings from
verified claims) can build the user here instead: :func:`build_user` checks
every constraint the model declares, field by field, in plain Python, and
only then copies a template user validated once at import with the values
(``model_copy(update=...)``, which pydantic documents as not validating;
measured faster than ``model_construct``, whose field loop is Python). Whatever it accepts,
``AuthenticatedUser.model_validate`` accepts and builds equal; whatever the
model refuses, it refuses with :class:`ValueError` naming the field (never
the value). It is stricter than pydantic's lax mode: only real ``str``
values count as text (no bytes decoded). A property test holds the two to
these answers.

The constraints mirrored (keep in step with :mod:`authplug.models`):

* ``user_id``: a string of 1 to 512 characters;
* ``first_name``, ``last_name``: strings of at most 512 characters;
* ``user_type``: ``"internal-user"`` or ``"external-user"``;
* ``roles``: strings, as a tuple;
* ``custom_data``, ``auth_data``: ``None`` or a ``dict`` of strings to strings;
* ``features``: feature names (each switched on), at most
  :data:`~authplug.models.MAX_FEATURES`, each 1 to 64 characters;
* every string at most 16384 characters (the model's ``str_max_length``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from authplug.models import MAX_FEATURES, AuthenticatedUser, Feature, StrMap, UserType

__all__ = ["build_user"]

_NAME_MAX = 512
_STR_MAX = 16384
_FEATURE_NAME_MAX = 64
_USER_TYPES = frozenset({"internal-user", "external-user"})
_User = AuthenticatedUser[StrMap, StrMap]
_TEMPLATE = _User(user_id="template", user_type="external-user")


def _text(value: object, field: str, low: int, high: int) -> str:
    if type(value) is not str or not low <= len(value) <= high:
        raise ValueError(f"{field}: must be a string of {low} to {high} characters")
    return value


def _string_map(value: Mapping[str, str] | None, field: str) -> StrMap | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{field}: must be a mapping of strings to strings")
    out: StrMap = {}
    for key, item in value.items():
        out[_text(key, field, 0, _STR_MAX)] = _text(item, field, 0, _STR_MAX)
    return out


def build_user(
    *,
    user_id: str,
    user_type: UserType,
    first_name: str = "",
    last_name: str = "",
    roles: Iterable[str] = (),
    custom_data: Mapping[str, str] | None = None,
    auth_data: Mapping[str, str] | None = None,
    features: Iterable[str] = (),
) -> AuthenticatedUser[StrMap, StrMap]:
    """A user built from already-checked values, every model constraint checked here.

    :raises ValueError: a value the model would refuse; the message names
        the field and the rule, never the value.
    """
    if user_type not in _USER_TYPES:
        raise ValueError("user_type: must be 'internal-user' or 'external-user'")
    role_tuple = tuple(roles)
    for role in role_tuple:
        _text(role, "roles", 0, _STR_MAX)
    names = tuple(dict.fromkeys(features))
    if len(names) > MAX_FEATURES:
        raise ValueError(f"features: at most {MAX_FEATURES}")
    feature_map: dict[str, Feature] = {}
    for name in names:
        _text(name, "features", 1, _FEATURE_NAME_MAX)
        feature_map[name] = Feature.switch(name)
    values: dict[str, Any] = {
        "user_id": _text(user_id, "user_id", 1, _NAME_MAX),
        "first_name": _text(first_name, "first_name", 0, _NAME_MAX),
        "last_name": _text(last_name, "last_name", 0, _NAME_MAX),
        "user_type": user_type,
        "roles": role_tuple,
        "custom_data": _string_map(custom_data, "custom_data"),
        "auth_data": _string_map(auth_data, "auth_data"),
        "features": feature_map,
    }
    return _TEMPLATE.model_copy(update=values)

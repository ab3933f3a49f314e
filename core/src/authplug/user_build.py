"""``build_user``: the one audited way to build a user without pydantic validation.

Validating an :class:`~authplug.models.AuthenticatedUser` through pydantic
costs tens of microseconds, which on the bearer-token path is more than the
signature check. A provider that already holds the values (strings from
verified claims) can build the user here instead: :func:`build_user` checks
every constraint the model declares, field by field, in plain Python, and
only then sets the instance up as pydantic's own copy does (``BaseModel.__copy__``:
a new instance given its field ``__dict__``, its ``__pydantic_fields_set__``,
and no extra or private values), without validating. That is about a fifth
of the time of ``model_copy(update=...)`` on a template and of
``model_construct``, whose field loops are Python. At import, one user built
this way is compared with the validated one (:func:`_self_check`), so a
pydantic release that sets instances up differently fails at start-up, not
with a malformed user. Whatever it accepts,
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

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from authplug.models import MAX_FEATURES, AuthenticatedUser, Feature, StrMap, UserType

__all__ = ["build_user"]

_NAME_MAX = 512
_STR_MAX = 16384
_FEATURE_NAME_MAX = 64
_USER_TYPES = frozenset({"internal-user", "external-user"})
_User = AuthenticatedUser[StrMap, StrMap]
_FIELDS = frozenset(_User.model_fields)
_new = object.__new__
_set = object.__setattr__  # what pydantic's __copy__ uses on its frozen models


def _text(value: object, field: str, low: int, high: int) -> str:
    if type(value) is not str or not low <= len(value) <= high:
        raise ValueError(f"{field}: must be a string of {low} to {high} characters")
    return value


def _string_map(value: Mapping[str, str] | None, field: str) -> StrMap | None:
    if value is None:
        return None
    if type(value) is not dict and not isinstance(value, Mapping):  # (an ABC check is slow)
        raise ValueError(f"{field}: must be a mapping of strings to strings")
    out: StrMap = {}
    for key, item in value.items():
        # the rule of _text inline (a call per string costs more than the checks);
        # _text then raises with its message
        if (
            type(key) is not str
            or type(item) is not str
            or len(key) > _STR_MAX
            or len(item) > _STR_MAX
        ):
            _text(key, field, 0, _STR_MAX)
            _text(item, field, 0, _STR_MAX)
        out[key] = item
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
        if type(role) is not str or len(role) > _STR_MAX:  # as in _string_map
            _text(role, "roles", 0, _STR_MAX)
    names = tuple(dict.fromkeys(features))
    if len(names) > MAX_FEATURES:
        raise ValueError(f"features: at most {MAX_FEATURES}")
    feature_map: dict[str, Feature] = {}
    for name in names:
        _text(name, "features", 1, _FEATURE_NAME_MAX)
        feature_map[name] = Feature.switch(name)
    return _instance(
        {
            "user_id": _text(user_id, "user_id", 1, _NAME_MAX),
            "first_name": _text(first_name, "first_name", 0, _NAME_MAX),
            "last_name": _text(last_name, "last_name", 0, _NAME_MAX),
            "user_type": user_type,
            "roles": role_tuple,
            "custom_data": _string_map(custom_data, "custom_data"),
            "auth_data": _string_map(auth_data, "auth_data"),
            "features": feature_map,
        }
    )


def _instance(fields: dict[str, Any]) -> AuthenticatedUser[StrMap, StrMap]:
    """A user holding ``fields`` (every field of the model, already checked), not validated.

    The steps of pydantic's ``BaseModel.__copy__``, given the values instead
    of copying them from another instance.
    """
    user = _new(_User)
    _set(user, "__dict__", fields)
    _set(user, "__pydantic_fields_set__", set(_FIELDS))
    _set(user, "__pydantic_extra__", None)
    _set(user, "__pydantic_private__", None)
    return user


_SAMPLE: dict[str, Any] = {
    "user_id": "u",
    "first_name": "f",
    "last_name": "l",
    "user_type": "internal-user",
    "roles": ("r",),
    "custom_data": {"c": "d"},
    "auth_data": {"a": "b"},
    "features": {"x": Feature.switch("x")},
}
"""A value for every field, for :func:`_self_check` (any values the model accepts would do)."""


def _self_check(
    build: Callable[[dict[str, Any]], AuthenticatedUser[StrMap, StrMap]] = _instance,
) -> None:
    """Fail at import when ``build`` (:func:`_instance`) no longer builds what validation builds.

    Compared: pydantic's equality (the class, every field value, ``auth_data``
    included, and the extra and private values) and the fields-set.

    :raises RuntimeError: the model's fields are not the ones ``build`` is
        given, or the installed pydantic sets instances up differently.
    """
    if set(_SAMPLE) != _FIELDS:
        raise RuntimeError(
            f"authplug.user_build: AuthenticatedUser's fields are {sorted(_FIELDS)}; "
            "build_user must set each of them (keep it in step with authplug.models)"
        )
    built, validated = build(dict(_SAMPLE)), _User.model_validate(_SAMPLE)
    if built != validated or built.model_fields_set != validated.model_fields_set:
        raise RuntimeError(
            "authplug.user_build: this pydantic version builds models differently from "
            "BaseModel.__copy__'s steps; pin the pydantic version authplug supports"
        )


_self_check()

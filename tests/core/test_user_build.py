"""``build_user`` builds without pydantic validation, yet never a malformed user (issue #16).

The audited function must accept exactly what ``AuthenticatedUser.model_validate``
accepts (and build an equal user), and refuse what it refuses.
"""

from __future__ import annotations

import pickle
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from authplug import user_build
from authplug.claims import ClaimMapping, map_claims
from authplug.errors import NotAuthenticatedError
from authplug.models import MAX_FEATURES, AuthenticatedUser, StrMap
from authplug.user_build import build_user

User = AuthenticatedUser[StrMap, StrMap]

GOOD: dict[str, Any] = {
    "user_id": "u-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "user_type": "internal-user",
    "roles": ("pika:reader",),
    "custom_data": {"email": "ada@example.com"},
    "auth_data": {"exp": "1700000000", "iss": "https://id.example"},
    "features": ("history",),
}


def _validated(values: dict[str, Any]) -> User | None:
    try:
        return User.model_validate(values)
    except ValidationError:
        return None


def _built(values: dict[str, Any]) -> User | None:
    try:
        return build_user(**values)
    except ValueError:
        return None


def test_a_good_user_is_built_equal_to_the_validated_one() -> None:
    built = build_user(**GOOD)
    validated = User.model_validate(GOOD)
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.tool_view() == validated.tool_view()
    assert "ada@example.com" in built.tool_view().model_dump_json()
    assert "1700000000" not in repr(built)
    assert built.model_fields_set == set(User.model_fields)
    assert built.__pydantic_extra__ is None
    assert built.__pydantic_private__ is None
    with pytest.raises(ValidationError):  # as frozen as a validated user
        built.user_id = "other"  # type: ignore[misc]
    assert built.model_copy(update={"first_name": "Ada B."}).first_name == "Ada B."
    assert pickle.loads(pickle.dumps(built)) == validated  # noqa: S301 - our own bytes


def test_the_import_time_check_accepts_the_builder_it_guards() -> None:
    user_build._self_check()  # the installed pydantic: no error


def _without_auth_data(fields: dict[str, Any]) -> User:
    """A builder whose users differ from validated ones in one field value only."""
    return user_build._instance({**fields, "auth_data": None})


def _with_fewer_fields_set(fields: dict[str, Any]) -> User:
    """A builder whose users are equal to validated ones but report fewer fields set."""
    user = user_build._instance(fields)
    object.__setattr__(user, "__pydantic_fields_set__", {"user_id"})
    return user


@pytest.mark.parametrize("build", [_without_auth_data, _with_fewer_fields_set])
def test_the_import_time_check_refuses_a_builder_that_differs_from_validation(
    build: Any,
) -> None:
    """What a pydantic release that set instances up differently would look like: refused
    at start-up, whether the difference shows in equality or only in the fields set."""
    with pytest.raises(RuntimeError) as info:
        user_build._self_check(build)
    assert str(info.value) == (
        "authplug.user_build: this pydantic version builds models differently from "
        "BaseModel.__copy__'s steps; pin the pydantic version authplug supports"
    )


def test_the_import_time_check_refuses_a_model_with_other_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model whose fields build_user does not set fails at import, naming the fields."""
    monkeypatch.setattr(user_build, "_FIELDS", frozenset({*User.model_fields, "email"}))
    with pytest.raises(RuntimeError) as info:
        user_build._self_check()
    assert str(info.value) == (
        f"authplug.user_build: AuthenticatedUser's fields are "
        f"{sorted({*User.model_fields, 'email'})}; "
        "build_user must set each of them (keep it in step with authplug.models)"
    )


class _Text(str):
    """A ``str`` subclass: build_user takes exact strings only."""


def test_the_defaults_are_the_models() -> None:
    minimal = {"user_id": "u-1", "user_type": "external-user"}
    assert build_user(**minimal) == User.model_validate(minimal)  # type: ignore[arg-type]


def test_as_many_features_as_the_model_allows_are_built() -> None:
    names = tuple(f"f{i}" for i in range(MAX_FEATURES))
    assert build_user(**{**GOOD, "features": names}) == User.model_validate(
        {**GOOD, "features": names}
    )


def test_any_mapping_is_taken_for_string_maps() -> None:
    proxy = MappingProxyType({"email": "ada@example.com"})
    built = build_user(**{**GOOD, "custom_data": proxy})
    assert built.custom_data == {"email": "ada@example.com"}
    assert type(built.custom_data) is dict  # a copy, never the caller's object


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("custom_data", {"": 5}),
        ("auth_data", {"exp": 1700000000}),
        ("custom_data", {7: "v"}),
        ("roles", (3,)),
    ],
)
def test_a_bad_string_is_refused_with_the_rule_of_its_field(field: str, value: object) -> None:
    """The message names the field and its exact bounds (an empty key is allowed)."""
    with pytest.raises(ValueError, match=rf"^{field}: must be a string of 0 to 16384 characters$"):
        build_user(**{**GOOD, field: value})


def test_strings_at_the_longest_the_model_allows_are_built() -> None:
    longest = "x" * 16384
    values = {**GOOD, "roles": (longest,), "custom_data": {longest: longest}}
    assert build_user(**values) == User.model_validate(values)


@pytest.mark.parametrize(
    ("field", "value"),
    [("auth_data", {"exp": _Text("1700000000")}), ("roles", (_Text("pika:reader"),))],
)
def test_a_str_subclass_is_refused_though_the_model_would_take_it(
    field: str, value: object
) -> None:
    """Stricter than pydantic, as with bytes: only exact ``str`` values count as text."""
    with pytest.raises(ValueError, match=rf"^{field}: "):
        build_user(**{**GOOD, field: value})


BAD: list[tuple[str, object]] = [
    ("user_id", ""),
    ("user_id", "x" * 513),
    ("user_id", 7),
    ("user_id", None),
    ("user_id", b"bytes"),  # pydantic's lax mode would decode it; build_user takes only text
    ("first_name", "x" * 513),
    ("first_name", 1.5),
    ("last_name", ["list"]),
    ("user_type", "admin-user"),
    ("user_type", None),
    ("roles", ("ok", 3)),
    ("roles", ("x" * 16385,)),
    ("custom_data", {"k": 1}),
    ("custom_data", {"k": None}),
    ("custom_data", {1: "v"}),
    ("custom_data", {"k": "x" * 16385}),
    ("custom_data", "not a map"),
    ("custom_data", {"k" * 16385: "v"}),
    ("auth_data", {"exp": 1700000000}),
    ("features", ("",)),
    ("features", ("x" * 65,)),
    ("features", tuple(f"f{i}" for i in range(65))),
    ("features", (1,)),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v!r:.20}" for f, v in BAD])
def test_a_bad_value_is_refused_as_the_model_refuses_it(field: str, value: object) -> None:
    values = {**GOOD, field: value}
    if not isinstance(value, bytes):
        assert _validated(values) is None, "the test value should be one the model refuses"
    with pytest.raises(ValueError, match=rf"^{field}: ") as info:
        build_user(**values)
    assert str(value)[:40] not in str(info.value) or str(value) in ("", "None", "1", "7")


def test_a_bad_claim_cannot_produce_a_malformed_user() -> None:
    mapping = ClaimMapping(custom_data={"email": "email"}, features="features")
    base = {"sub": "u-1", "iss": "https://id.example"}
    for claims in (
        {**base, "sub": "x" * 600},
        {**base, "sub": ""},
        {**base, "sub": 12},
        {**base, "given_name": 5},
        {**base, "features": ["ok", "y" * 70]},
        {**base, "email": "e" * 20000},
    ):
        with pytest.raises(NotAuthenticatedError) as info:
            map_claims(claims, mapping)
        assert info.value.code == "invalid_claims"
        assert "x" * 20 not in info.value.message


_text = st.one_of(
    st.text(max_size=20),
    st.text(min_size=500, max_size=520),
    st.integers(),
    st.none(),
    st.binary(max_size=4),
)
_maps = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), st.integers()), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    user_id=_text,
    first_name=_text,
    last_name=_text,
    user_type=st.sampled_from(["internal-user", "external-user", "other", ""]),
    roles=st.lists(st.one_of(st.text(max_size=8), st.integers()), max_size=3),
    custom_data=_maps,
    auth_data=_maps,
    features=st.lists(
        st.one_of(st.text(max_size=8), st.text(min_size=60, max_size=70)), max_size=3
    ),
)
def test_build_user_never_accepts_what_validation_refuses(**values: Any) -> None:
    """What build_user builds, validation builds equal; what validation refuses, it refuses.

    (It may refuse more: pydantic's lax mode turns bytes into text, build_user
    takes only real strings.)
    """
    built, validated = _built(values), _validated(values)
    if validated is None:
        assert built is None, values
    if built is not None:
        assert built == validated
    texts = (values["user_id"], values["first_name"], values["last_name"], *values["roles"])
    maps = [m for m in (values["custom_data"], values["auth_data"]) if m is not None]
    plain = all(isinstance(v, str) for v in texts) and all(
        isinstance(x, str) for m in maps for x in m.values()
    )
    if plain and validated is not None:
        assert built is not None, values  # on plain text the two agree both ways

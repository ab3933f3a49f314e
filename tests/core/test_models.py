"""The user model: camelCase round trip and the visibility tiers."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from authplug.models import AgentUserView, AuthenticatedUser, ToolUserView

TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-access-token.sig"


def make_user() -> AuthenticatedUser[dict[str, str], dict[str, str]]:
    return AuthenticatedUser[dict[str, str], dict[str, str]](
        user_id="u-1",
        first_name="Ada",
        last_name="Lovelace",
        user_type="internal-user",
        roles=["pika:content-admin"],
        custom_data={"company": "Acme"},
        auth_data={"access_token": TOKEN, "refresh_token": "r-secret"},
        features=["instruction", "history"],
    )


def test_camel_case_round_trip() -> None:
    user = make_user()
    data = json.loads(user.model_dump_json(by_alias=True))
    assert set(data) == {
        "userId",
        "firstName",
        "lastName",
        "userType",
        "roles",
        "customData",
        "features",
    }  # no authData: only the session codec serialises it (tests/core/test_auth_data.py)
    assert data["userType"] == "internal-user"
    again = AuthenticatedUser[dict[str, str], dict[str, str]].model_validate_json(json.dumps(data))
    assert again == user.model_copy(update={"auth_data": None})
    by_name = AuthenticatedUser.model_validate(user.model_dump())
    assert by_name == user.model_copy(update={"auth_data": None})


def test_unknown_user_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        AuthenticatedUser(user_id="x", user_type="admin-user")  # type: ignore[arg-type]


def test_data_must_be_string_maps() -> None:
    with pytest.raises(ValidationError):
        AuthenticatedUser(user_id="x", user_type="external-user", custom_data={"n": 1})  # type: ignore[dict-item]


def test_tool_view_has_no_auth_data() -> None:
    view = make_user().tool_view()
    assert isinstance(view, ToolUserView)
    assert "auth_data" not in ToolUserView.model_fields
    dumped = view.model_dump_json(by_alias=True)
    assert TOKEN not in dumped
    assert "r-secret" not in dumped
    assert "authData" not in dumped
    assert view.custom_data == {"company": "Acme"}


def test_agent_view_has_neither_auth_nor_custom_data() -> None:
    view = make_user().agent_view()
    assert type(view) is AgentUserView
    assert "custom_data" not in AgentUserView.model_fields
    assert "auth_data" not in AgentUserView.model_fields
    dumped = view.model_dump_json(by_alias=True)
    assert "Acme" not in dumped
    assert TOKEN not in dumped


def test_views_refuse_auth_data() -> None:
    with pytest.raises(ValidationError):
        ToolUserView(user_id="x", user_type="internal-user", auth_data={"t": "x"})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        AgentUserView(user_id="x", user_type="internal-user", custom_data={"c": "x"})  # type: ignore[call-arg]


def test_auth_data_is_not_in_repr_or_str() -> None:
    user = make_user()
    assert TOKEN not in repr(user)
    assert TOKEN not in str(user)
    assert "r-secret" not in f"{user}"


def test_user_is_immutable() -> None:
    user = make_user()
    with pytest.raises(ValidationError):
        user.user_id = "other"  # type: ignore[misc]


# -- features as named objects (issue #9, item 7) ---------------------------------

SEED_FEATURES = {
    "instruction": {"type": "instruction", "instruction": "Answer in German."},
    "history": {"type": "history", "history": True},
}


def test_features_are_named_objects_as_the_seed_system_has_them() -> None:
    user = AuthenticatedUser(user_id="f", user_type="internal-user", features=SEED_FEATURES)
    assert user.has_feature("instruction")
    assert not user.has_feature("beta")
    dumped = json.loads(user.model_dump_json(by_alias=True))["features"]
    assert dumped == SEED_FEATURES
    assert AuthenticatedUser.model_validate_json(user.model_dump_json()) == user


def test_a_list_of_names_means_each_feature_switched_on() -> None:
    user = AuthenticatedUser(user_id="f", user_type="internal-user", features=["history"])
    assert {k: v.model_dump() for k, v in user.features.items()} == {
        "history": {"type": "history", "history": True}
    }


def test_tools_and_the_agent_see_the_features() -> None:
    user = AuthenticatedUser(
        user_id="f",
        user_type="internal-user",
        features=SEED_FEATURES,
        custom_data={"company": "Acme"},
        auth_data={"access_token": TOKEN},
    )
    tool, agent = user.tool_view(), user.agent_view()
    assert tool.features == user.features == agent.features
    assert tool.custom_data == {"company": "Acme"}
    assert "custom_data" not in AgentUserView.model_fields
    for view in (tool, agent):
        assert TOKEN not in view.model_dump_json()


@pytest.mark.parametrize(
    "features",
    [
        {"x": {"instruction": "no type"}},
        {"x": {"type": ""}},
        {"x": {"type": "x", "nested": {"a": 1}}},
        {"x": {"type": "x", "list": [1, 2]}},
        {"": {"type": "x"}},
        {"x" * 65: {"type": "x"}},
        {f"f{i}": {"type": "t"} for i in range(65)},
        {"x": {"type": "x", **{f"k{i}": True for i in range(17)}}},
        "history",
        [1, 2],
    ],
)
def test_malformed_features_are_refused(features: object) -> None:
    with pytest.raises(ValidationError):
        AuthenticatedUser(user_id="f", user_type="internal-user", features=features)  # type: ignore[arg-type]

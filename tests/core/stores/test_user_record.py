"""Auth data cannot reach a store: no field, no parameter, extra fields forbidden."""

from __future__ import annotations

import inspect
import typing
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from authplug.models import ToolUserView
from authplug.stores import UserRecord, UserStore
from authplug.stores.memory import MemoryUserStore
from authplug.stores.sqlite import SqliteUserStore

T0 = datetime(2024, 5, 1, tzinfo=UTC)
BASE = {"user_id": "u", "user_type": "internal-user", "first_seen": T0, "last_login": T0}


@pytest.mark.parametrize("name", ["authData", "auth_data", "tokens", "accessToken"])
def test_record_rejects_auth_data(name: str) -> None:
    with pytest.raises(ValidationError):
        UserRecord.model_validate({**BASE, name: {"access_token": "t"}})


def test_record_has_no_auth_field() -> None:
    fields = set(UserRecord.model_fields)
    assert "auth_data" not in fields
    assert fields == {
        "user_id",
        "first_name",
        "last_name",
        "user_type",
        "roles",
        "custom_data",
        "features",
        "first_seen",
        "last_login",
    }


def test_record_is_frozen_and_camel_cased() -> None:
    record = UserRecord.model_validate(BASE)
    with pytest.raises(ValidationError):
        record.user_id = "other"  # type: ignore[misc]
    assert set(record.model_dump(by_alias=True)) >= {"userId", "firstSeen", "lastLogin"}


def test_tool_view_cannot_carry_auth_data() -> None:
    with pytest.raises(ValidationError):
        ToolUserView.model_validate(
            {"user_id": "u", "user_type": "internal-user", "authData": {"t": "x"}}
        )


@pytest.mark.parametrize("cls", [UserStore, MemoryUserStore, SqliteUserStore])
@pytest.mark.parametrize("method", ["record_login", "update"])
def test_store_methods_take_a_tool_view(cls: type, method: str) -> None:
    hints = typing.get_type_hints(getattr(cls, method))
    assert hints["user"] is ToolUserView
    assert hints["now"] is datetime
    assert list(inspect.signature(getattr(cls, method)).parameters) == ["self", "user", "now"]


@pytest.mark.parametrize("cls", [MemoryUserStore, SqliteUserStore])
def test_constructors_take_keyword_options_only(cls: type) -> None:
    for parameter in list(inspect.signature(cls).parameters.values()):
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY

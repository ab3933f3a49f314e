"""``MockSettings`` validation: every mistake is an error at start-up."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from authplug.errors import ConfigError
from authplug.provider import NoSettings
from authplug_mock import MockProvider, MockSettings, MockUser


def test_defaults_offer_admin_staff_and_customer() -> None:
    settings = MockSettings()

    users = {u.user_id: u for u in settings.users}
    assert list(users) == ["admin", "staff", "customer"]
    admin, staff, customer = users["admin"], users["staff"], users["customer"]
    assert admin.user_type == "internal-user"
    assert admin.first_name
    assert admin.last_name
    assert admin.roles == ("pika:content-admin",)
    assert admin.features == ("instruction", "history")
    assert staff.user_type == "internal-user"
    assert staff.roles == ()
    assert customer.user_type == "external-user"
    assert customer.custom_data == {"company": "Acme Corp", "companyId": "acme-001"}
    assert settings.token_lifetime == 300
    assert settings.refresh_token_lifetime == 3600
    assert settings.allow_in_production is False


def test_defaults_are_fresh_per_instance() -> None:
    assert MockSettings().users is not MockSettings().users


def test_toml_shaped_input_validates() -> None:
    settings = MockSettings.model_validate(
        {
            "token_lifetime": 60,
            "refresh_token_lifetime": 60,
            "users": [
                {
                    "user_id": "ada",
                    "first_name": "Ada",
                    "user_type": "internal-user",
                    "roles": ["pika:content-admin"],
                    "custom_data": {"team": "core"},
                    "features": ["history"],
                }
            ],
        }
    )

    assert settings.users == [
        MockUser(
            user_id="ada",
            first_name="Ada",
            user_type="internal-user",
            roles=("pika:content-admin",),
            custom_data={"team": "core"},
            features=("history",),
        )
    ]


def test_settings_are_frozen() -> None:
    settings = MockSettings()

    with pytest.raises(ValidationError):
        settings.token_lifetime = 1  # type: ignore[misc]


ADA = {"user_id": "ada", "user_type": "internal-user"}


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        MockSettings.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in caught.value.errors()]


def test_duplicate_user_ids_are_refused() -> None:
    user = {"user_id": "ada", "user_type": "internal-user"}

    with pytest.raises(ValidationError, match=r"users\[1\]\.user_id 'ada' repeats"):
        MockSettings.model_validate({"users": [user, {**user, "first_name": "Other"}]})


@pytest.mark.parametrize(
    "data",
    [
        {"token_lifetime": 0},
        {"token_lifetime": -1},
        {"refresh_token_lifetime": 0},
        {"token_lifetime": 10**12},
        {"token_lifetime": "soon"},
        {"token_lifetime": 1.5},
    ],
)
def test_bad_lifetimes_are_refused(data: dict[str, Any]) -> None:
    assert _problems(data)


def test_refresh_lifetime_shorter_than_token_lifetime_is_refused() -> None:
    with pytest.raises(ValidationError, match="refresh_token_lifetime must not be shorter"):
        MockSettings(token_lifetime=600, refresh_token_lifetime=300)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"tokenlifetime": 300}, "tokenlifetime"),
        (
            {"users": [{"user_id": "a", "user_type": "internal-user", "role": ["x"]}]},
            "users.0.role",
        ),
        (
            {"users": [{"user_id": "a", "user_type": "internal-user", "auth_data": {}}]},
            "users.0.auth_data",
        ),
    ],
)
def test_unknown_keys_are_refused(data: dict[str, Any], where: str) -> None:
    assert (where, "extra_forbidden") in _problems(data)


@pytest.mark.parametrize("value", ["true", "yes", 1, "1"])
def test_allow_in_production_must_be_a_real_boolean(value: object) -> None:
    assert ("allow_in_production", "bool_type") in _problems({"allow_in_production": value})


@pytest.mark.parametrize(
    "user",
    [
        {"user_id": "", "user_type": "internal-user"},
        {"user_id": "a"},
        {"user_id": "a", "user_type": "admin"},
        {"user_id": "a", "user_type": "internal-user", "roles": "pika:content-admin"},
        {"user_id": "a", "user_type": "internal-user", "custom_data": {"n": 1}},
        {"user_id": "a" * 513, "user_type": "internal-user"},
    ],
)
def test_bad_users_are_refused(user: dict[str, Any]) -> None:
    assert _problems({"users": [user]})


def test_an_empty_user_list_is_refused() -> None:
    assert ("users", "too_short") in _problems({"users": []})


def test_provider_defaults_to_default_settings() -> None:
    assert MockProvider().settings == MockSettings()


def test_provider_refuses_settings_of_another_model() -> None:
    with pytest.raises(ConfigError, match="MockSettings"):
        MockProvider(NoSettings())  # type: ignore[arg-type]

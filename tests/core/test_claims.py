"""The shared claim -> user mapping (authplug.claims)."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
from pydantic import ValidationError

import authplug.claims
from authplug.claims import ClaimMapping, claim_at, map_claims
from authplug.errors import NotAuthenticatedError

BASE: dict[str, Any] = {"sub": "u-1", "given_name": "Ada", "family_name": "Lovelace"}


def test_defaults() -> None:
    user = map_claims({**BASE, "roles": ["a", "b", "a"]}, ClaimMapping())
    assert (user.user_id, user.first_name, user.last_name) == ("u-1", "Ada", "Lovelace")
    assert user.user_type == "external-user"
    assert user.roles == ("a", "b")
    assert user.custom_data is None
    assert user.features == {}  # features are named objects (issue #9 item 7)
    assert user.auth_data is None


def test_module_examples_run() -> None:
    failures, tried = doctest.testmod(authplug.claims)
    assert tried > 0
    assert failures == 0


def test_claim_paths() -> None:
    claims = {
        "https://example.com/roles": ["x"],
        "cognito:groups": ["g"],
        "realm_access": {"roles": ["r"]},
        "a.b": "flat wins",
        "a": {"b": "nested"},
    }
    assert claim_at(claims, "https://example.com/roles") == ["x"]
    assert claim_at(claims, "cognito:groups") == ["g"]
    assert claim_at(claims, "realm_access.roles") == ["r"]
    assert claim_at(claims, "a.b") == "flat wins"
    assert claim_at(claims, "realm_access.missing") is None
    assert claim_at(claims, "cognito:groups.0") is None
    assert claim_at(claims, "missing") is None


def test_roles_from_space_separated_string_and_role_map() -> None:
    mapping = ClaimMapping(roles="scope", role_map={"read:docs": "app:reader"})
    user = map_claims({**BASE, "scope": "openid read:docs write:docs"}, mapping)
    assert user.roles == ("app:reader",)
    unmapped = map_claims({**BASE, "scope": "openid profile"}, ClaimMapping(roles="scope"))
    assert unmapped.roles == ("openid", "profile")


def test_non_string_roles_are_dropped() -> None:
    user = map_claims({**BASE, "roles": ["ok", 1, None, {"x": 1}, ""]}, ClaimMapping())
    assert user.roles == ("ok",)
    assert map_claims({**BASE, "roles": 5}, ClaimMapping()).roles == ()


def test_internal_when() -> None:
    mapping = ClaimMapping(internal_when={"groups": ["staff"], "org.kind": ["employee"]})
    assert map_claims({**BASE, "groups": ["x", "staff"]}, mapping).user_type == "internal-user"
    assert map_claims({**BASE, "org": {"kind": "employee"}}, mapping).user_type == "internal-user"
    assert map_claims({**BASE, "groups": ["staffing"]}, mapping).user_type == "external-user"
    assert map_claims({**BASE, "groups": "staff"}, mapping).user_type == "internal-user"
    assert map_claims(BASE, mapping).user_type == "external-user"


def test_custom_data_strings_only() -> None:
    mapping = ClaimMapping(custom_data={"email": "email", "tenant": "org.id", "age": "age"})
    user = map_claims({**BASE, "email": "a@x", "org": {"id": "acme"}, "age": 42}, mapping)
    assert user.custom_data == {"email": "a@x", "tenant": "acme"}


def test_features() -> None:
    mapping = ClaimMapping(features="features")
    features = map_claims({**BASE, "features": ["history", "instruction"]}, mapping).features
    assert tuple(features) == ("history", "instruction")  # named objects (issue #9 item 7)
    assert features["history"].model_dump() == {"type": "history", "history": True}


def test_auth_data_is_passed_through() -> None:
    user = map_claims(BASE, ClaimMapping(), auth_data={"exp": "1"})
    assert user.auth_data == {"exp": "1"}


@pytest.mark.parametrize("sub", [None, "", 123, ["u"], {"id": "u"}, True])
def test_user_id_must_be_a_non_empty_string(sub: Any) -> None:
    claims = {**BASE, "sub": sub} if sub is not None else {"given_name": "Ada"}
    with pytest.raises(NotAuthenticatedError) as info:
        map_claims(claims, ClaimMapping())
    assert info.value.code == "invalid_claims"


@pytest.mark.parametrize("name", [1, ["Ada"], {"x": 1}])
def test_names_must_be_strings(name: Any) -> None:
    with pytest.raises(NotAuthenticatedError) as info:
        map_claims({**BASE, "given_name": name}, ClaimMapping())
    assert info.value.code == "invalid_claims"


def test_values_too_long_for_the_model() -> None:
    with pytest.raises(NotAuthenticatedError) as info:
        map_claims({**BASE, "sub": "x" * 1000}, ClaimMapping())
    assert info.value.code == "invalid_claims"
    assert "x" * 100 not in str(info.value)


def test_custom_user_id_claim() -> None:
    user = map_claims({"oid": "object-id", "sub": "pairwise"}, ClaimMapping(user_id="oid"))
    assert user.user_id == "object-id"


def test_mapping_is_strict() -> None:
    with pytest.raises(ValidationError):
        ClaimMapping.model_validate({"userid": "sub"})
    with pytest.raises(ValidationError):
        ClaimMapping.model_validate({"user_id": ""})
    with pytest.raises(ValidationError):
        ClaimMapping.model_validate({"internal_when": {"groups": "staff"}})


INTERNAL = ClaimMapping(internal_email_domains=["Corp.Example."])


def test_internal_email_domains_are_normalised() -> None:
    assert INTERNAL.internal_email_domains == ["corp.example"]


@pytest.mark.parametrize(
    "domain",
    [
        "",
        "@corp.example",
        "a@corp.example",
        "corp example",
        "-x.example",
        "x..example",
        "café.example",
    ],
)
def test_internal_email_domains_refuse_non_domains(domain: str) -> None:
    with pytest.raises(ValidationError, match="internal_email_domains"):
        ClaimMapping(internal_email_domains=[domain])


@pytest.mark.parametrize("email", ["ada@corp.example", "Ada@CORP.Example", "ada@corp.example."])
def test_internal_email_domain_makes_an_internal_user(email: str) -> None:
    assert map_claims({**BASE, "email": email}, INTERNAL).user_type == "internal-user"


@pytest.mark.parametrize(
    "email",
    [
        "ada@staff.corp.example",  # sub-domains only when listed
        "ada@corp.example.evil.example",
        "ada@evilcorp.example",
        "ada@corp.example@evil.example",
        "ada@evil.example@corp.example",  # a second "@" never matches
        "ada corp@corp.example",
        "ada@corp.example\n",
        "@corp.example",
        "corp.example",
        "ada@corp\u2024example",  # one-dot leader look-alike
    ],
)
def test_other_addresses_stay_external(email: str) -> None:
    assert map_claims({**BASE, "email": email}, INTERNAL).user_type == "external-user"


@pytest.mark.parametrize("email", [None, 1, ["ada@corp.example"], {"a": "ada@corp.example"}])
def test_non_string_email_claims_stay_external(email: Any) -> None:
    assert map_claims({**BASE, "email": email}, INTERNAL).user_type == "external-user"


@pytest.mark.parametrize("verified", [False, "false", None, 0, "yes"])
def test_unverified_email_is_not_trusted(verified: Any) -> None:
    claims = {**BASE, "email": "ada@corp.example", "email_verified": verified}
    assert map_claims(claims, INTERNAL).user_type == "external-user"


@pytest.mark.parametrize("verified", [True, "true"])
def test_verified_email_is_trusted(verified: Any) -> None:
    claims = {**BASE, "email": "ada@corp.example", "email_verified": verified}
    assert map_claims(claims, INTERNAL).user_type == "internal-user"


def test_email_claim_path_is_configurable() -> None:
    mapping = ClaimMapping(internal_email_domains=["corp.example"], email="profile.mail")
    user = map_claims({**BASE, "profile": {"mail": "ada@corp.example"}}, mapping)
    assert user.user_type == "internal-user"
    assert map_claims({**BASE, "email": "ada@corp.example"}, mapping).user_type == "external-user"


def test_either_internal_rule_is_enough() -> None:
    mapping = ClaimMapping(
        internal_when={"groups": ["staff"]}, internal_email_domains=["corp.example"]
    )
    by_group = map_claims({**BASE, "groups": ["staff"], "email": "a@other.example"}, mapping)
    by_mail = map_claims({**BASE, "groups": [], "email": "a@corp.example"}, mapping)
    neither = map_claims({**BASE, "groups": ["x"], "email": "a@other.example"}, mapping)
    assert [by_group.user_type, by_mail.user_type, neither.user_type] == [
        "internal-user",
        "internal-user",
        "external-user",
    ]

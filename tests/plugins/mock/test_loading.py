"""The installed distribution: entry point metadata and loading through ``authplug.load``."""

from __future__ import annotations

import base64
import importlib.metadata as md
import os
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import authplug
from authplug.errors import ConfigError
from authplug.stores.memory import MemoryUserStore
from authplug_mock import MockProvider


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _load(tmp_path: Path, environ: dict[str, str] | None = None, **kwargs: object):
    """Load with no config file and no environment but what the test gives."""
    return authplug.load(environ=environ or {}, cwd=tmp_path, store=MemoryUserStore(), **kwargs)


def test_entry_point_mock_comes_from_authplug_mock() -> None:
    eps = [ep for ep in md.entry_points(group="authplug.providers") if ep.name == "mock"]

    assert len(eps) == 1
    assert eps[0].value == "authplug_mock.provider:MockProvider"
    assert eps[0].dist is not None
    assert eps[0].dist.metadata["Name"] == "authplug-mock"
    assert eps[0].load() is MockProvider


def test_distribution_depends_on_a_range_of_the_core() -> None:
    requirements = [Requirement(text) for text in md.requires("authplug-mock") or []]

    (core,) = [r for r in requirements if r.name == "authplug"]
    assert all(spec.operator not in ("==", "===") for spec in core.specifier)
    assert core.specifier.contains("0.1.0")
    assert not core.specifier.contains("0.2.0")


def test_package_ships_type_information() -> None:
    assert resources.files("authplug_mock").joinpath("py.typed").is_file()


def test_load_in_development_uses_the_mock_section(tmp_path: Path) -> None:
    host = _load(tmp_path, provider="mock", settings={"mock": {"token_lifetime": 60}})
    try:
        assert host.provider_name == "mock"
        assert isinstance(host.provider, MockProvider)
        assert host.provider.settings.token_lifetime == 60
        assert host.provider_info.distribution == "authplug-mock"
    finally:
        host.close()


def test_production_refuses_the_mock_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="development only"):
        _load(tmp_path, provider="mock", env="production", cookie_keys=[_key()])


def test_production_refusal_comes_from_the_environment_too(tmp_path: Path) -> None:
    environ = {
        "AUTHPLUG_PROVIDER": "mock",
        "AUTHPLUG_ENV": "production",
        "AUTHPLUG_COOKIE_KEYS": _key(),
    }

    with pytest.raises(ConfigError, match="development only"):
        _load(tmp_path, environ)


def test_production_accepts_the_mock_when_explicitly_allowed(tmp_path: Path) -> None:
    host = _load(
        tmp_path,
        provider="mock",
        env="production",
        cookie_keys=[_key()],
        settings={"mock": {"allow_in_production": True}},
    )
    try:
        assert isinstance(host.provider, MockProvider)
    finally:
        host.close()


def test_allow_in_production_from_the_environment_is_converted(tmp_path: Path) -> None:
    environ = {"AUTHPLUG_MOCK__ALLOW_IN_PRODUCTION": "true"}

    host = _load(tmp_path, environ, provider="mock", env="production", cookie_keys=[_key()])
    try:
        assert isinstance(host.provider, MockProvider)
    finally:
        host.close()


def test_allow_in_production_as_a_string_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mock\.allow_in_production"):
        _load(
            tmp_path,
            provider="mock",
            env="production",
            cookie_keys=[_key()],
            settings={"mock": {"allow_in_production": "true"}},
        )


def test_bad_mock_settings_are_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, provider="mock", settings={"mock": {"token_lifetime": 0, "colour": "red"}})

    problems = " ".join(caught.value.problems)
    assert "mock.token_lifetime" in problems
    assert "mock.colour: unknown setting" in problems


def test_a_mock_table_in_authplug_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "authplug.toml").write_text(
        'provider = "mock"\n'
        "[mock]\n"
        "token_lifetime = 30\n"
        "refresh_token_lifetime = 30\n"
        "[[mock.users]]\n"
        'user_id = "ada"\n'
        'user_type = "internal-user"\n'
        'roles = ["pika:content-admin"]\n',
        encoding="utf-8",
    )

    host = _load(tmp_path)
    try:
        assert isinstance(host.provider, MockProvider)
        assert [u.user_id for u in host.provider.settings.users] == ["ada"]
        assert host.provider.settings.users[0].roles == ("pika:content-admin",)
    finally:
        host.close()

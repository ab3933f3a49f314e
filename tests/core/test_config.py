"""Configuration: file, environment, explicit values; strict validation; no secret echo."""

from __future__ import annotations

from pathlib import Path

import pytest

from authplug.config import AuthplugConfig, read_config
from authplug.errors import ConfigError
from authplug.session import KeyRing

KEY = "Xq3vJ9mK2pL8nR5tW7yZ1aB4cD6eF0gH2iJ4kL6mN8o"
KEY2 = "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ-_a1B2c"


def write(tmp_path: Path, text: str, name: str = "authplug.toml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def test_defaults_without_any_source(tmp_path: Path) -> None:
    config, source = read_config(environ={}, cwd=tmp_path)
    assert config.provider == "mock"
    assert config.env == "development"
    assert source.file is None
    assert config.secure_cookies is False


def test_toml_is_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        'provider = "jwt"\nvalidate_interval = 120\n[jwt]\nissuer = "https://id.example"\n',
    )
    config, source = read_config(environ={}, cwd=tmp_path, known_sections=frozenset({"jwt"}))
    assert config.provider == "jwt"
    assert config.validate_interval == 120
    assert config.section("jwt") == {"issuer": "https://id.example"}
    assert source.file == tmp_path / "authplug.toml"


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname="x"\n[tool.authplug]\nprovider = "jwt"\n', "pyproject.toml")
    config, _ = read_config(environ={}, cwd=tmp_path)
    assert config.provider == "jwt"


def test_env_overrides_toml(tmp_path: Path) -> None:
    write(tmp_path, 'provider = "jwt"\nvalidate_interval = 120\ndebug = false\n')
    env = {
        "AUTHPLUG_PROVIDER": "mock",
        "AUTHPLUG_VALIDATE_INTERVAL": "30",
        "AUTHPLUG_DEBUG": "1",
        "AUTHPLUG_PUBLIC_PATHS": "/health,/static/",
        "AUTHPLUG_COOKIE_KEYS": f"{KEY},{KEY2}",
    }
    config, source = read_config(environ=env, cwd=tmp_path)
    assert config.provider == "mock"
    assert config.validate_interval == 30
    assert config.debug is True
    assert config.public_paths == ["/health", "/static/"]
    assert [k.get_secret_value() for k in config.cookie_keys] == [KEY, KEY2]
    assert "AUTHPLUG_PROVIDER" in source.env_keys


def test_explicit_overrides_win_over_env(tmp_path: Path) -> None:
    config, _ = read_config(
        overrides={"provider": "jwt"}, environ={"AUTHPLUG_PROVIDER": "mock"}, cwd=tmp_path
    )
    assert config.provider == "jwt"


def test_debug_auth_alias(tmp_path: Path) -> None:
    config, _ = read_config(environ={"DEBUG_AUTH": "true"}, cwd=tmp_path)
    assert config.debug is True
    config, _ = read_config(environ={"DEBUG_AUTH": "false"}, cwd=tmp_path)
    assert config.debug is False


def test_nested_env_section_is_kept_for_the_provider(tmp_path: Path) -> None:
    env = {"AUTHPLUG_OAUTH__CLIENT_ID": "abc"}
    _config, source = read_config(environ=env, cwd=tmp_path, known_sections=frozenset({"oauth"}))
    assert source.env_sections["oauth"]["client_id"] == ("AUTHPLUG_OAUTH__CLIENT_ID", "abc")


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ("valdate_interval = 3\n", "valdate_interval: unknown setting"),
        ("validate_interval = 'soon'\n", "validate_interval:"),
        ("debug = 'false'\n", "debug:"),
        ("[[access]]\npath = '/admin'\nrole = ['x']\n", "access.0.role: unknown setting"),
        ("max_cookie_chunks = 999\n", "max_cookie_chunks:"),
        ("public_paths = ['/']\n", "public_paths:"),
        ("default_redirect = '//evil.example'\n", "default_redirect:"),
    ],
)
def test_unknown_and_mistyped_keys_are_rejected_with_path(
    tmp_path: Path, toml: str, path: str
) -> None:
    write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        read_config(environ={}, cwd=tmp_path)
    assert path in str(info.value)


def test_string_boolean_in_toml_is_never_truthy(tmp_path: Path) -> None:
    write(tmp_path, "cookie_secure = 'false'\n")
    with pytest.raises(ConfigError, match="cookie_secure"):
        read_config(environ={}, cwd=tmp_path)


def test_unknown_env_variable_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUTHPLUG_PROVDER: unknown setting"):
        read_config(environ={"AUTHPLUG_PROVDER": "jwt"}, cwd=tmp_path)


def test_bad_boolean_env_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUTHPLUG_DEBUG"):
        read_config(environ={"AUTHPLUG_DEBUG": "maybe"}, cwd=tmp_path)


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "[ouath]\nclient_id = 'x'\n")
    with pytest.raises(ConfigError, match="ouath: unknown section"):
        read_config(environ={}, cwd=tmp_path, known_sections=frozenset({"oauth", "mock"}))


@pytest.mark.parametrize(
    "bad_key",
    [
        "c2hvcnQ",  # too short
        "A" * 43,  # 32 identical bytes
        "not base64 at all!!",
        "Y2hhbmdlbWVjaGFuZ2VtZWNoYW5nZW1lY2hhbmdlbWU",  # "changeme" * 4
    ],
)
def test_bad_cookie_keys_are_rejected_without_echo(tmp_path: Path, bad_key: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_config(environ={"AUTHPLUG_COOKIE_KEYS": bad_key}, cwd=tmp_path)
    assert "cookie_keys" in str(info.value)
    assert bad_key not in str(info.value)


def test_duplicate_cookie_keys_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeats"):
        read_config(environ={"AUTHPLUG_COOKIE_KEYS": f"{KEY},{KEY}"}, cwd=tmp_path)


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    secret = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"
    with pytest.raises(ConfigError) as info:
        read_config(
            overrides={"cookie_keys": [secret], "validate_interval": "nope-" + secret},
            environ={},
            cwd=tmp_path,
        )
    assert secret not in str(info.value)
    assert "validate_interval" in str(info.value)


def test_production_needs_keys_and_secure_cookies(tmp_path: Path) -> None:
    keyless, _ = read_config(environ={"AUTHPLUG_ENV": "production"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="cookie_keys"):
        KeyRing.from_config(keyless)  # a provider that sets cookies (see test_keyring)
    with pytest.raises(ConfigError, match="insecure cookies"):
        read_config(
            environ={
                "AUTHPLUG_ENV": "production",
                "AUTHPLUG_COOKIE_KEYS": KEY,
                "AUTHPLUG_COOKIE_SECURE": "false",
            },
            cwd=tmp_path,
        )
    config, _ = read_config(
        environ={"AUTHPLUG_ENV": "production", "AUTHPLUG_COOKIE_KEYS": KEY}, cwd=tmp_path
    )
    assert config.secure_cookies is True


def test_lifetimes_must_be_consistent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absolute_lifetime"):
        read_config(
            overrides={"idle_timeout": 100, "absolute_lifetime": 50}, environ={}, cwd=tmp_path
        )


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "provider = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config(environ={}, cwd=tmp_path)


def test_config_model_forbids_unknown_fields() -> None:
    assert AuthplugConfig.model_config.get("extra") == "forbid"

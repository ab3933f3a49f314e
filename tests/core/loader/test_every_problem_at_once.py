"""Every configuration problem is reported at once, each with its path and no pydantic noise.

Against the real first-party providers (mock, jwt): a top-level typo no
longer hides a typo in ``[mock]``, the cookie-key rule no longer hides the
production refusal of the mock, and ``authplug check`` lists them all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import authplug
from authplug.errors import ConfigError
from authplug.stores.memory import MemoryUserStore

NOISE = ("(root)", "Value error,", "Assertion failed,", "list[", "dict[", "function-after")


def problems(tmp_path: Path, toml: str = "", **environ: str) -> list[str]:
    (tmp_path / "authplug.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        authplug.load(environ=environ, cwd=tmp_path, store=MemoryUserStore())
    found = list(caught.value.problems)
    for line in found:
        assert not any(noise in line for noise in NOISE), line
    return found


def test_a_top_level_typo_and_a_section_typo_are_both_reported(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'provider = "mock"\nvalidate_intervall = 60\n[mock]\ntoken_lifetme = 5\n',
    )
    assert found == [
        "validate_intervall: unknown setting (did you mean `validate_interval`?)",
        "mock.token_lifetme: unknown setting (did you mean `token_lifetime`?)",
    ]


def test_production_reports_missing_keys_and_the_mock_refusal_together(tmp_path: Path) -> None:
    found = problems(tmp_path, 'provider = "mock"\nenv = "production"\n')
    assert found[0].startswith("cookie_keys: production needs at least one cookie key")
    assert found[1].startswith("provider: 'mock' is for development only")
    assert len(found) == 2


def test_field_errors_do_not_hide_the_production_rules(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'provider = "mock"\nenv = "production"\nmax_cookie_chunks = 0\n'
        "cookie_secure = false\n[mock]\ntoken_lifetime = -1\n",
    )
    assert [line.split(":")[0] for line in found] == [
        "max_cookie_chunks",
        "cookie_secure",
        "cookie_keys",
        "mock.token_lifetime",
        "provider",
    ]


def test_a_stateless_provider_needs_no_cookie_keys_in_production(tmp_path: Path) -> None:
    found = problems(tmp_path, JWT + "public_keys = 5\n", AUTHPLUG_ENV="production")
    assert found == [
        "jwt.algorithms: Field required",
        "jwt.public_keys: expected a list or a table",
    ]


def test_env_typos_suggest_the_setting(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        AUTHPLUG_VALIDATE_INTERVALL="60",
        AUTHPLUG_PROVIDER="jwt",
        AUTHPLUG_JWT__ISUER="https://id.example/",
    )
    assert (
        "AUTHPLUG_VALIDATE_INTERVALL: unknown setting (did you mean `validate_interval`?)" in found
    )
    assert any(
        line.startswith("AUTHPLUG_JWT__ISUER: unknown setting 'isuer' for [jwt]")
        and "did you mean `issuer`?" in line
        for line in found
    )


def test_an_unknown_store_is_listed_with_the_rest(tmp_path: Path) -> None:
    (tmp_path / "authplug.toml").write_text(
        'provider = "mock"\nstore = "sqlit"\n[mock]\ntoken_lifetme = 5\n'
    )
    with pytest.raises(ConfigError) as caught:
        authplug.load(environ={}, cwd=tmp_path)
    found = list(caught.value.problems)
    assert found[0] == "mock.token_lifetme: unknown setting (did you mean `token_lifetime`?)"
    assert found[1].startswith("store: unknown store 'sqlit' (did you mean `sqlite`?); installed: ")
    assert len(found) == 2


def test_a_misspelt_section_suggests_the_provider(tmp_path: Path) -> None:
    found = problems(tmp_path, 'provider = "mock"\n[mokc]\ntoken_lifetime = 5\n')
    assert found[0].startswith("mokc: unknown section (did you mean `mock`?)")


JWT = """provider = "jwt"
[jwt]
issuer = "https://id.example/"
audience = "api"
"""


def test_a_value_no_union_member_accepts_is_one_line(tmp_path: Path) -> None:
    found = problems(tmp_path, JWT + 'algorithms = ["RS256"]\npublic_keys = 5\n')
    assert found == ["jwt.public_keys: expected a list or a table"]


def test_an_element_error_inside_a_union_names_the_element(tmp_path: Path) -> None:
    found = problems(tmp_path, JWT + 'algorithms = ["RS256"]\npublic_keys = [1]\n')
    assert found == ["jwt.public_keys.0: Input should be a valid string"]


def test_model_rules_are_reported_under_the_section(tmp_path: Path) -> None:
    found = problems(tmp_path, JWT + 'algorithms = ["HS256"]\n')
    assert found == ["jwt: HS* algorithms need hmac_secret"]


def test_nested_unknown_keys_suggest_from_the_nested_model(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        JWT
        + 'algorithms = ["HS256"]\nhmac_secret = "'
        + "s" * 40
        + '"\n[jwt.claims]\nrolez = "x"\n',
    )
    assert found == ["jwt.claims.rolez: unknown setting (did you mean `roles`?)"]


def test_authplug_check_exits_1_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "authplug.toml").write_text(
        'provider = "mock"\nenv = "production"\nvalidate_intervall = 60\n'
        "[mock]\ntoken_lifetme = 5\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_")}
    done = subprocess.run(
        [sys.executable, "-m", "authplug.cli", "check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "AUTHPLUG_STORE": "memory"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    for expected in (
        "validate_intervall: unknown setting (did you mean `validate_interval`?)",
        "cookie_keys: production needs at least one cookie key",
        "mock.token_lifetme: unknown setting (did you mean `token_lifetime`?)",
        "provider: 'mock' is for development only",
    ):
        assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

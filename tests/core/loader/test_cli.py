"""The ``authplug`` command, run as users run it: a subprocess, against fake installed providers."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from authplug.config import decode_cookie_key

from .conftest import FakeDist

PROVIDER = """
import pathlib
from pydantic import BaseModel, ConfigDict
from authplug.provider import AuthProvider
from authplug.results import Redirect

pathlib.Path(__file__).with_suffix(".imported").write_text("imported")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow_in_production: bool = False


class Provider(AuthProvider):
    settings_model = Settings
    development_only = True

    def authenticate(self, request):
        return Redirect("/auth/devauth/login")
"""


@pytest.fixture
def site(fake_dist: FakeDist) -> Path:
    fake_dist(
        "devauth-provider",
        "1.4.2",
        entry_points={"authplug.providers": {"devauth": "devauth_mod:Provider"}},
        modules={"devauth_mod": PROVIDER},
        requires=["authplug>=0.1,<1"],
        summary="A development-only provider for CLI tests",
    )
    return fake_dist(
        "other-provider",
        "2.0",
        entry_points={"authplug.providers": {"other": "other_mod:Provider"}},
        modules={"other_mod": PROVIDER},
    )


def run(
    *args: str, site: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTHPLUG_") and k not in {"DEBUG_AUTH", "PYTHONPATH"}
    }
    base["PYTHONPATH"] = str(site)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "authplug.cli", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_providers_json_lists_installed_providers_without_importing_them(
    site: Path, tmp_path: Path
) -> None:
    result = run("providers", "--json", site=site, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["devauth"]["distribution"] == "devauth-provider"
    assert rows["devauth"]["version"] == "1.4.2"
    assert rows["devauth"]["summary"] == "A development-only provider for CLI tests"
    assert rows["devauth"]["entry_point"] == "devauth_mod:Provider"
    assert "other" in rows
    assert not (site / "devauth_mod.imported").exists()
    assert not (site / "other_mod.imported").exists()


def test_providers_plain_output(site: Path, tmp_path: Path) -> None:
    result = run("providers", site=site, cwd=tmp_path)
    assert result.returncode == 0
    assert "devauth  devauth-provider 1.4.2" in result.stdout
    assert not (site / "devauth_mod.imported").exists()


def test_keygen_prints_a_valid_distinct_key(site: Path, tmp_path: Path) -> None:
    first = run("keygen", site=site, cwd=tmp_path).stdout.strip()
    second = run("keygen", site=site, cwd=tmp_path).stdout.strip()
    assert first != second
    assert len(decode_cookie_key(first)) == 32
    assert len(base64.urlsafe_b64decode(first + "=")) == 32


def test_check_unknown_provider_fails_naming_installed_and_hint(site: Path, tmp_path: Path) -> None:
    result = run("check", site=site, cwd=tmp_path, env={"AUTHPLUG_PROVIDER": "nope"})
    assert result.returncode == 1
    assert "unknown provider 'nope'" in result.stderr
    assert "devauth (devauth-provider 1.4.2)" in result.stderr
    # not a first-party name: no install hint (it would invite installing a squatted name)
    assert "pip install" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (site / "devauth_mod.imported").exists()


def test_check_lists_every_config_problem(site: Path, tmp_path: Path) -> None:
    (tmp_path / "authplug.toml").write_text(
        'provider = "devauth"\nvaldate_interval = 1\nmax_cookie_chunks = 0\n'
    )
    result = run("check", site=site, cwd=tmp_path)
    assert result.returncode == 1
    assert "valdate_interval: unknown setting" in result.stderr
    assert "max_cookie_chunks" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_ok_names_the_provider_and_its_distribution(site: Path, tmp_path: Path) -> None:
    result = run(
        "check",
        site=site,
        cwd=tmp_path,
        env={"AUTHPLUG_PROVIDER": "devauth", "AUTHPLUG_STORE": "memory"},
    )
    assert result.returncode == 0, result.stderr
    assert "provider: devauth (devauth-provider 1.4.2)" in result.stdout
    assert not (site / "other_mod.imported").exists()


def test_check_production_refuses_a_development_only_provider(site: Path, tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    result = run(
        "check",
        site=site,
        cwd=tmp_path,
        env={
            "AUTHPLUG_PROVIDER": "devauth",
            "AUTHPLUG_ENV": "production",
            "AUTHPLUG_COOKIE_KEYS": key,
            "AUTHPLUG_STORE": "memory",
        },
    )
    assert result.returncode == 1
    assert "development only" in result.stderr
    assert key not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_version_names_core_and_each_provider_without_importing_them(
    site: Path, tmp_path: Path
) -> None:
    result = run("--version", site=site, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"authplug \d+\.\d+\.\d+\S*", lines[0])
    assert "  devauth: devauth-provider 1.4.2" in lines
    assert "  other: other-provider 2.0" in lines
    assert not (site / "devauth_mod.imported").exists()
    assert not (site / "other_mod.imported").exists()

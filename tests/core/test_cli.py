"""The ``authplug`` command, run as users run it (a subprocess of the installed script)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from authplug.config import decode_cookie_key


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_") and k != "DEBUG_AUTH"
    }
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


def test_providers_json_lists_installed_providers_without_importing_them() -> None:
    result = run("providers", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    names = {row["name"]: row for row in rows}
    assert "mock" in names
    assert names["mock"]["distribution"] == "authplug-mock"
    assert names["mock"]["version"]
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, io; from authplug import cli; cli.main(['providers']); "
            "print([m for m in sys.modules "
            "if m.startswith(('authplug_', 'jose', 'httpx', 'pydantic'))])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip().splitlines()[-1] == "[]"


def test_providers_plain_output() -> None:
    result = run("providers")
    assert result.returncode == 0
    assert "mock" in result.stdout
    assert "authplug-mock" in result.stdout


def test_keygen_prints_a_valid_distinct_key() -> None:
    first = run("keygen").stdout.strip()
    second = run("keygen").stdout.strip()
    assert first != second
    assert len(decode_cookie_key(first)) == 32
    assert len(base64.urlsafe_b64decode(first + "=")) == 32


def test_check_unknown_provider_fails_naming_installed_and_hint(tmp_path: Path) -> None:
    result = run("check", env={"AUTHPLUG_PROVIDER": "nope"}, cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown provider 'nope'" in result.stderr
    assert "mock (authplug-mock" in result.stderr
    assert "pip install authplug-nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_lists_every_config_problem(tmp_path: Path) -> None:
    (tmp_path / "authplug.toml").write_text("valdate_interval = 1\nmax_cookie_chunks = 0\n")
    result = run("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "valdate_interval: unknown setting" in result.stderr
    assert "max_cookie_chunks" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_ok_with_mock(tmp_path: Path) -> None:
    result = run("check", env={"AUTHPLUG_STORE": "memory"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "provider: mock (authplug-mock" in result.stdout


def test_check_production_refuses_mock(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    result = run(
        "check",
        env={"AUTHPLUG_ENV": "production", "AUTHPLUG_COOKIE_KEYS": key, "AUTHPLUG_STORE": "memory"},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "development only" in result.stderr
    assert key not in result.stderr + result.stdout

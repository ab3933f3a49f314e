"""``authplug check`` changes nothing on disk, and says where the default store lives.

Run as users run it (a subprocess, in a fresh working directory) against a
fake installed provider; every file of the working directory is listed
before and after.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from authplug.stores.sqlite import SCHEMA_VERSION, SqliteUserStore

from .conftest import FakeDist

PROVIDER = """
from authplug.provider import AuthProvider
from authplug.results import Redirect


class Provider(AuthProvider):
    def authenticate(self, request):
        return Redirect("/auth/quiet/login")
"""


@pytest.fixture
def site(fake_dist: FakeDist) -> Path:
    return fake_dist(
        "quiet-provider",
        "1.0",
        entry_points={"authplug.providers": {"quiet": "quiet_mod:Provider"}},
        modules={"quiet_mod": PROVIDER},
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "app"
    path.mkdir()
    return path


def check(site: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTHPLUG_") and k not in {"DEBUG_AUTH", "PYTHONPATH"}
    }
    base.update(PYTHONPATH=str(site), AUTHPLUG_PROVIDER="quiet", **env)
    return subprocess.run(
        [sys.executable, "-m", "authplug.cli", "check"],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def listing(path: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*")
    }


def test_check_with_the_default_store_creates_no_file(site: Path, workdir: Path) -> None:
    result = check(site, workdir)
    assert result.returncode == 0, result.stderr
    assert listing(workdir) == {}
    expected = workdir.resolve() / "authplug-users.sqlite3"
    assert f"store: sqlite ({expected} (created when the application starts))" in result.stdout


def test_check_reads_an_existing_store_without_touching_it(site: Path, workdir: Path) -> None:
    SqliteUserStore(path=workdir / "authplug-users.sqlite3").close()
    before = listing(workdir)
    result = check(site, workdir)
    assert result.returncode == 0, result.stderr
    assert listing(workdir) == before  # no -wal/-shm, no journal, nothing rewritten
    assert f"exists, schema version {SCHEMA_VERSION}" in result.stdout


def test_check_follows_store_options_path(site: Path, workdir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    result = check(site, workdir, AUTHPLUG_STORE_OPTIONS__PATH=str(data / "users.db"))
    assert result.returncode == 0, result.stderr
    assert listing(data) == {}
    assert str(data / "users.db") in result.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing-dir", "does not exist"),
        ("not-a-database", "cannot open"),
        ("newer-schema", "schema version 99"),
    ],
)
def test_check_reports_a_bad_store_and_still_writes_nothing(
    site: Path, workdir: Path, setup: str, message: str
) -> None:
    target = workdir / "users.sqlite3"
    if setup == "missing-dir":
        target = workdir / "nowhere" / "users.sqlite3"
    elif setup == "not-a-database":
        target.write_text("not sqlite " * 100)
    else:
        conn = sqlite3.connect(target)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
    before = listing(workdir)
    result = check(site, workdir, AUTHPLUG_STORE_OPTIONS__PATH=str(target))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert listing(workdir) == before


def test_check_refuses_unknown_store_options(site: Path, workdir: Path) -> None:
    result = check(site, workdir, AUTHPLUG_STORE_OPTIONS__COLOUR="blue")
    assert result.returncode == 1
    assert "store_options: not accepted by store 'sqlite'" in result.stderr
    assert listing(workdir) == {}


def test_an_application_store_logs_where_it_created_the_file(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="authplug.stores")
    SqliteUserStore(path=workdir / "users.sqlite3").close()
    assert f"created the user database {workdir / 'users.sqlite3'}" in caplog.text
    caplog.clear()
    SqliteUserStore(path=workdir / "users.sqlite3").close()
    assert "created" not in caplog.text


def _cookie_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def test_check_with_sqlite_coordination_creates_no_file(site: Path, workdir: Path) -> None:
    result = check(
        site, workdir, AUTHPLUG_COORDINATION="sqlite", AUTHPLUG_COOKIE_KEYS=_cookie_key()
    )
    assert result.returncode == 0, result.stderr
    assert listing(workdir) == {}
    expected = workdir.resolve() / "authplug-coordination.sqlite3"
    assert f"at {expected} (created when the application starts)" in result.stdout
    assert "coordination: sqlite " in result.stdout


def test_check_reads_an_existing_coordination_file_without_touching_it(
    site: Path, workdir: Path
) -> None:
    from authplug.coordination.sqlite import SqliteCoordination

    SqliteCoordination(path=str(workdir / "coordination.db")).close()
    before = listing(workdir)
    assert "coordination.db" in before
    result = check(
        site,
        workdir,
        AUTHPLUG_COORDINATION="sqlite",
        AUTHPLUG_COORDINATION_OPTIONS__PATH=str(workdir / "coordination.db"),
        AUTHPLUG_COOKIE_KEYS=_cookie_key(),
    )
    assert result.returncode == 0, result.stderr
    assert listing(workdir) == before  # no -wal/-shm, no journal, nothing rewritten
    assert f"at {workdir / 'coordination.db'} (exists)" in result.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing-dir", "does not exist"),
        ("not-a-database", "cannot open"),
        ("bad-option", "not accepted by the sqlite backend: colour"),
        ("no-cookie-keys", "cookie_keys: coordination 'sqlite' shares sessions"),
    ],
)
def test_check_reports_a_bad_sqlite_coordination_and_still_writes_nothing(
    site: Path, workdir: Path, setup: str, message: str
) -> None:
    target = workdir / "coordination.db"
    env = {"AUTHPLUG_COORDINATION": "sqlite", "AUTHPLUG_COOKIE_KEYS": _cookie_key()}
    if setup == "missing-dir":
        target = workdir / "nowhere" / "coordination.db"
    elif setup == "not-a-database":
        target.write_text("not sqlite " * 100)
    elif setup == "bad-option":
        env["AUTHPLUG_COORDINATION_OPTIONS__COLOUR"] = "blue"
    else:
        del env["AUTHPLUG_COOKIE_KEYS"]
    env["AUTHPLUG_COORDINATION_OPTIONS__PATH"] = str(target)
    before = listing(workdir)
    result = check(site, workdir, **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert listing(workdir) == before

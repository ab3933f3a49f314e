"""``scripts/apt-install`` and ``scripts/test``'s package list, against a fake ``apt-get``.

The fake records its arguments and answers like apt does when another
process holds the dpkg lock (exit 100, "Could not get lock ... held by
process N"), a given number of times, before succeeding.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APT_INSTALL = ROOT / "scripts" / "apt-install"

FAKE_APT_GET = """#!/usr/bin/env bash
state="{state}"
echo "$*" >> "$state/calls"
count=$(cat "$state/locked" 2>/dev/null || echo 0)
if [ "$count" -gt 0 ]; then
  echo $((count - 1)) > "$state/locked"
  lock=/var/lib/dpkg/lock-frontend
  echo "E: Could not get lock $lock. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to acquire the dpkg frontend lock ($lock), is another process using it?" >&2
  exit 100
fi
if [[ " $* " != *" update "* ]] && [ -n "$FAKE_APT_FAIL" ]; then
  echo "E: Unable to locate package $FAKE_APT_FAIL" >&2
  exit 100
fi
echo "Get:1 http://deb.example/debian bookworm/main amd64 wrk 4.1.0-3+b2"
echo "Unpacking wrk (4.1.0-3+b2) ..."
echo "Setting up wrk (4.1.0-3+b2) ..."
"""


def _run(
    tmp_path: Path, locked: int, *packages: str, **env: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "apt-get"
    fake.write_text(FAKE_APT_GET.format(state=tmp_path))
    fake.chmod(0o755)
    (tmp_path / "locked").write_text(str(locked))
    return subprocess.run(
        [str(APT_INSTALL), *packages],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "APT_LOCK_POLL": "0",
            "FAKE_APT_FAIL": "",
            **env,
        },
    )


def _calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls").read_text().splitlines()


def test_installs_with_progress_when_the_lock_is_free(tmp_path: Path) -> None:
    done = _run(tmp_path, 0, "wrk", "nodejs")
    assert done.returncode == 0, done.stderr
    assert [c.split()[-1] for c in _calls(tmp_path)] == ["update", "nodejs"]
    assert "install -y wrk nodejs" in _calls(tmp_path)[1]
    assert "Unpacking wrk" in done.stderr
    assert "Setting up wrk" in done.stderr


def test_waits_for_a_held_lock_then_installs(tmp_path: Path) -> None:
    done = _run(tmp_path, 3, "wrk")
    assert done.returncode == 0, done.stderr
    assert "held by process 4242" in done.stderr
    assert "waiting up to" in done.stderr
    assert done.stderr.count("waiting up to") == 1
    calls = _calls(tmp_path)
    assert calls.count(calls[0]) == 4  # three refusals of `update`, then success
    assert "install -y wrk" in calls[-1]


def test_gives_up_after_the_bounded_wait(tmp_path: Path) -> None:
    done = _run(tmp_path, 10_000, "wrk", APT_LOCK_WAIT="0")
    assert done.returncode == 1
    assert "gave up after 0s waiting for the apt/dpkg lock" in done.stderr
    assert "held by process 4242" in done.stderr


def test_other_failures_are_reported_at_once(tmp_path: Path) -> None:
    done = _run(tmp_path, 0, "no-such-package", FAKE_APT_FAIL="no-such-package")
    assert done.returncode == 100
    assert "Unable to locate package no-such-package" in done.stderr
    assert len(_calls(tmp_path)) == 2  # update, one install attempt: no lock wait


def test_scripts_test_installs_every_listed_package_including_wrk() -> None:
    text = (ROOT / "scripts" / "test").read_text()
    listed = text[
        text.index("SYSTEM_PACKAGES=(") : text.index(")\n", text.index("SYSTEM_PACKAGES=("))
    ]
    packages = [line.split()[-1].strip('"') for line in listed.splitlines()[1:] if line.strip()]
    assert {"nodejs", "npm", "chromium", "wrk"} <= set(packages)
    assert '"$root/scripts/apt-install" "${need_apt[@]}"' in text
    assert "export WRK_REQUIRED=1" in text

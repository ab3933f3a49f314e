"""The whole negative suite again under ``python -O``: no check relies on ``assert``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_negative_suite_under_python_dash_o() -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-O",
            "-c",
            "import sys; assert False, 'asserts are on'",
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, "python -O did not strip asserts"
    result = subprocess.run(
        [
            sys.executable,
            "-O",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::pytest.PytestConfigWarning",
            str(HERE / "test_negative.py"),
            str(HERE / "test_settings.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parents[2],
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout

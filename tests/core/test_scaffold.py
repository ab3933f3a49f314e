"""``authplug new-provider``: what it renders and what it refuses.

The rendered project's own suite (the contract kit) runs in ``nox -s
contract``, installed into a fresh virtualenv as a third party would.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from authplug.scaffold import _core_range, render


def test_renders_an_installable_src_layout_project(tmp_path: Path) -> None:
    target = render("acme_sso", tmp_path)
    assert target == tmp_path / "authplug-acme-sso"
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "src/authplug_acme_sso/__init__.py",
        "src/authplug_acme_sso/provider.py",
        "src/authplug_acme_sso/py.typed",
        "src/authplug_acme_sso/settings.py",
        "tests/conftest.py",
        "tests/test_contract.py",
    ]
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "authplug-acme-sso"
    assert project["entry-points"]["authplug.providers"] == {
        "acme_sso": "authplug_acme_sso.provider:AcmeSsoProvider"
    }
    assert any(d.startswith("authplug>=") and ",<" in d for d in project["dependencies"])
    assert not any("==" in d for d in project["dependencies"])
    for source in target.rglob("*.py"):
        ast.parse(source.read_text())  # every rendered module is valid Python
    contract = (target / "tests/test_contract.py").read_text()
    assert "class TestAcmeSsoContract(ProviderContract):" in contract
    assert 'entry_point = "acme_sso"' in contract


@pytest.mark.parametrize("name", ["Acme", "1acme", "acme-sso", "", "a" * 41, "acme sso", "../x"])
def test_refuses_invalid_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid provider name"):
        render(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "authplug-acme").mkdir()
    (tmp_path / "authplug-acme" / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="already exists"):
        render("acme", tmp_path)
    assert (tmp_path / "authplug-acme" / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", ">=0.1,<0.2"),
        ("0.12.3", ">=0.12,<0.13"),
        ("1.4.2", ">=1.4,<2"),
        ("2.0", ">=2.0,<3"),
    ],
)
def test_core_range_is_compatible_not_pinned(version: str, expected: str) -> None:
    assert _core_range(version) == expected


def test_the_command_reports_errors_in_one_line(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "authplug.cli", "new-provider"]
    ok = subprocess.run(
        [*run, "acme", "--directory", str(tmp_path)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "created" in ok.stdout
    again = subprocess.run(
        [*run, "acme", "--directory", str(tmp_path)], capture_output=True, text=True
    )
    assert again.returncode == 1
    assert again.stderr.startswith("authplug new-provider: ")
    assert "Traceback" not in again.stderr

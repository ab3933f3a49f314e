"""No security check may rely on ``assert``: it vanishes under ``python -O``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p
    for folder in [ROOT / "core" / "src", *sorted((ROOT / "plugins").glob("*/src"))]
    for p in folder.rglob("*.py")
    # authplug.testing is test code run by pytest (assert is how it reports a failure)
    if "testing" not in p.relative_to(folder).parts[1:2]
)


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_production_code_has_no_assert(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert not lines, f"{path.name} uses assert at lines {lines}"

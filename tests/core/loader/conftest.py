"""Fixtures that install fake distributions into ``sys.path`` for loader tests.

Each fake distribution is a real ``.dist-info`` folder (METADATA and
entry_points.txt) plus its module files, written to ``tmp_path`` at test time
and found by ``importlib.metadata`` exactly as an installed wheel would be.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FakeDist = Callable[..., Path]


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDist]:
    """Write a fake installed distribution; returns its site folder.

    Call as ``fake_dist("acme-auth", "1.2.0", entry_points={"authplug.providers":
    {"acme": "acme_auth_mod:Provider"}}, modules={"acme_auth_mod": "source"},
    requires=["authplug>=0.1,<0.2"])``.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    written_modules: list[str] = []

    def write(
        name: str,
        version: str,
        *,
        entry_points: dict[str, dict[str, str]],
        modules: dict[str, str] | None = None,
        requires: list[str] | None = None,
        summary: str = "A fake distribution for tests",
    ) -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = [
            "Metadata-Version: 2.1",
            f"Name: {name}",
            f"Version: {version}",
            f"Summary: {summary}",
        ]
        meta += [f"Requires-Dist: {r}" for r in requires or []]
        (info / "METADATA").write_text("\n".join(meta) + "\n")
        eps = []
        for group, entries in entry_points.items():
            eps.append(f"[{group}]")
            eps += [f"{k} = {v}" for k, v in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(eps) + "\n")
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            written_modules.append(module)
        return site

    yield write
    for module in written_modules:
        sys.modules.pop(module, None)

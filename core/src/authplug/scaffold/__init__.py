"""``authplug new-provider NAME``: render a provider distribution that passes the kit.

The rendered project (``authplug-NAME/``) has a src layout, a pyproject
declaring the ``authplug.providers`` entry point and a compatible range on
the running core, a typed provider class and its settings model, a README,
and ``tests/test_contract.py`` subclassing
:class:`~authplug.testing.ProviderContract`. It installs and passes the
contract as rendered; its ``authenticate`` is the one method to rewrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from authplug.distributions import core_version

__all__ = ["NAME_PATTERN", "ProviderTemplate", "render"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""A provider name: lower-case letters, digits and ``_``, starting with a letter."""

# template file -> path in the rendered project ({package} is the import name)
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "src/{package}/__init__.py",
    "provider.py.tmpl": "src/{package}/provider.py",
    "settings.py.tmpl": "src/{package}/settings.py",
    "py.typed.tmpl": "src/{package}/py.typed",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_contract.py.tmpl": "tests/test_contract.py",
}


def _core_range(version: str) -> str:
    """``>=0.1,<0.2`` for 0.1.x; ``>=1.4,<2`` from 1.0 on (semantic versioning)."""
    parts = [int(p) if p.isdigit() else 0 for p in [*version.split("."), "0", "0"][:2]]
    major, minor = parts
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


@dataclass(frozen=True)
class ProviderTemplate:
    """The names a rendered provider uses, derived from its provider name."""

    name: str

    @property
    def distribution(self) -> str:
        """``authplug-acme_sso`` -> ``authplug-acme-sso``."""
        return "authplug-" + self.name.replace("_", "-")

    @property
    def package(self) -> str:
        """The import name: ``authplug_acme_sso``."""
        return "authplug_" + self.name

    @property
    def class_prefix(self) -> str:
        """``acme_sso`` -> ``AcmeSso``."""
        return "".join(part.capitalize() for part in self.name.split("_") if part)

    def values(self) -> dict[str, str]:
        """Template substitutions."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "package": self.package,
            "cls": self.class_prefix,
            "core_range": _core_range(core_version()),
            "NAME_UPPER": self.name.upper(),
        }


def render(name: str, directory: Path) -> Path:
    """Write the ``authplug-NAME`` project under ``directory``; return its folder.

    :raises ValueError: ``name`` is not a valid provider name, or the target
        folder already exists (nothing is overwritten).
    """
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid provider name {name!r}: use lower-case letters, digits and '_', "
            "starting with a letter (it becomes the `provider` config value)"
        )
    template = ProviderTemplate(name)
    target = directory / template.distribution
    if target.exists():
        raise ValueError(f"{target} already exists; choose another directory or name")
    values = template.values()
    source = resources.files(__package__) / "templates"
    for file_name, relative in _FILES.items():
        text = Template((source / file_name).read_text(encoding="utf-8")).substitute(values)
        path = target / relative.format(package=template.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target

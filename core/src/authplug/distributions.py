"""What is installed: the entry points of authplug's groups, read from metadata only.

No plugin module is imported here, so ``authplug providers`` and the loader's
"unknown provider" message can list what is installed at the cost of reading
``.dist-info`` folders. The loader imports only the entry point it selects.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from authplug.host import PluginInfo

__all__ = [
    "CORE_DISTRIBUTION",
    "FIRST_PARTY_PROVIDERS",
    "PLUGIN_GROUP",
    "PROVIDER_GROUP",
    "STORE_GROUP",
    "InstalledPlugin",
    "closest_provider",
    "core_version",
    "installed",
]

PROVIDER_GROUP = "authplug.providers"
PLUGIN_GROUP = "authplug.plugins"
STORE_GROUP = "authplug.stores"
CORE_DISTRIBUTION = "authplug"

FIRST_PARTY_PROVIDERS = frozenset({"mock", "jwt", "oauth", "saml"})
"""Providers published by the authplug project as ``authplug-<name>``.

Only these names get a ``pip install`` hint: suggesting ``authplug-<typo>``
would invite installing whatever someone registered under that name.
"""


@dataclass(frozen=True)
class InstalledPlugin:
    """One entry point as installed, read from metadata without importing it."""

    group: str
    name: str
    value: str
    distribution: str | None
    version: str | None
    summary: str | None
    requires: tuple[str, ...]
    entry_point: md.EntryPoint

    @property
    def info(self) -> PluginInfo:
        """Name, distribution and version, for hosts and errors."""
        from authplug.host import PluginInfo

        return PluginInfo(name=self.name, distribution=self.distribution, version=self.version)

    def describe(self) -> str:
        """``name (distribution version)`` for messages."""
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version})"
        return self.name


def core_version() -> str:
    """The installed version of the ``authplug`` core distribution."""
    try:
        return md.version(CORE_DISTRIBUTION)
    except md.PackageNotFoundError:  # running from a source tree without metadata
        return "0"


def installed(group: str) -> dict[str, list[InstalledPlugin]]:
    """All entry points of ``group`` by name (a list: duplicates are kept to be reported).

    Reads metadata only; no plugin module is imported. The same distribution
    seen twice on ``sys.path`` counts once.
    """
    found: dict[str, list[InstalledPlugin]] = {}
    seen: set[tuple[str, str, str | None]] = set()
    for ep in md.entry_points(group=group):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        key = (ep.name, ep.value, dist_name and canonicalize_name(dist_name))
        if key in seen:
            continue
        seen.add(key)
        found.setdefault(ep.name, []).append(
            InstalledPlugin(
                group=group,
                name=ep.name,
                value=ep.value,
                distribution=dist_name,
                version=dist.version if dist is not None else None,
                summary=dist.metadata["Summary"] if dist is not None else None,
                requires=tuple(dist.requires or ()) if dist is not None else (),
                entry_point=ep,
            )
        )
    return found


def closest_provider(name: str, installed_names: frozenset[str] | set[str]) -> str | None:
    """The installed or first-party provider name ``name`` most likely meant, if any."""
    candidates = sorted(set(installed_names) | FIRST_PARTY_PROVIDERS)
    matches = difflib.get_close_matches(name.lower(), candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None

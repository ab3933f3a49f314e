"""Build a real host for tests: fresh plugin manager, memory store, ephemeral keys."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from authplug.config import AuthplugConfig
from authplug.host import Host, PluginInfo, build_host
from authplug.models import AnyUser
from authplug.stores.memory import MemoryUserStore

__all__ = ["make_config", "make_host", "make_key", "session_cookies"]


def make_key() -> str:
    """A fresh random cookie key, as ``authplug keygen`` prints it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def make_config(**overrides: Any) -> AuthplugConfig:
    """A development config with a fresh cookie key and the memory store."""
    values: dict[str, Any] = {"cookie_keys": [make_key()], "store": "memory"}
    values.update(overrides)
    return AuthplugConfig(**values)


def make_host(
    provider: object,
    config: AuthplugConfig | None = None,
    *,
    name: str = "provider",
    extensions: Iterable[object] = (),
) -> Host:
    """A host around ``provider``: its own plugin manager, a memory store, ``config``.

    :param provider: The provider object (an ``AuthProvider`` instance or a
        bare object or module with ``@hookimpl`` functions).
    :param config: Core configuration (default: :func:`make_config`).
    :param name: The provider's name as the host reports it.
    :param extensions: Extension plugin objects registered beside it.
    """
    return build_host(
        provider,
        config if config is not None else make_config(),
        provider_info=PluginInfo(name=name),
        store=MemoryUserStore(),
        extensions=[
            (plugin, PluginInfo(name=f"extension-{index}"))
            for index, plugin in enumerate(extensions)
        ],
    )


def session_cookies(host: Host, user: AnyUser, now: float | None = None) -> Mapping[str, str]:
    """The cookies of a session for ``user`` on ``host``: "already signed in".

    Sealed with the host's own keys exactly as a login would seal them, so a
    client sending them is signed in as ``user`` (``auth_data`` included).
    """
    session = host.sessions.new_session(user, time.time() if now is None else now)
    return {c.name: c.value for c in host.sessions.write(session, previous_chunk_count=0)}

"""``Host``: one loaded authplug instance, as the middleware uses it.

A host is built per application by :func:`authplug.load` (from config and
entry points) or by :func:`build_host` (from a provider object, in tests and
for programmatic use). It owns its own :class:`pluggy.PluginManager`: there is
no process-global plugin state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pluggy

from authplug import hookspecs
from authplug.config import AuthplugConfig
from authplug.errors import PluginLoadError
from authplug.hookcalls import HookCalls
from authplug.request import AuthRequest
from authplug.results import AuthenticateResult
from authplug.routes import Route

if TYPE_CHECKING:
    from authplug.access import AccessPolicy
    from authplug.session import SessionManager
    from authplug.stores import UserStore

__all__ = ["Host", "PluginInfo", "build_host", "host_or_load", "new_plugin_manager"]


def new_plugin_manager() -> pluggy.PluginManager:
    """Create a fresh plugin manager with authplug's hook specs (one per host)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


@dataclass(frozen=True)
class PluginInfo:
    """Where a loaded plugin came from (for errors, ``check`` and debug logs)."""

    name: str
    distribution: str | None = None
    version: str | None = None


@dataclass(eq=False)
class Host:
    """A loaded authplug instance: config, plugins, provider, sessions, store.

    Attributes:
        config: The validated configuration.
        plugin_manager: This host's own pluggy manager.
        hooks: Typed hook calls on ``plugin_manager``.
        provider: The registered provider object.
        provider_info: Name, distribution and version of the provider.
        extensions: The extension plugins loaded alongside it.
        routes: The provider's ``/auth/*`` routes by path.
        store: The user store.
        sessions: Session and flow cookie handling (keys, codec, chunks).
        access: Path access rules.
    """

    config: AuthplugConfig
    plugin_manager: pluggy.PluginManager
    hooks: HookCalls
    provider: object
    provider_info: PluginInfo
    store: UserStore
    sessions: SessionManager
    access: AccessPolicy
    extensions: tuple[PluginInfo, ...] = ()
    routes: Mapping[str, Route] = field(default_factory=dict)

    @property
    def provider_name(self) -> str:
        """The configured provider's name."""
        return self.provider_info.name

    @property
    def stateless(self) -> bool:
        """Whether the provider authenticates each request itself (no session cookie)."""
        return bool(getattr(self.provider, "stateless", False))

    async def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        """Run the provider's ``authplug_authenticate`` for ``request`` (framework-neutral)."""
        return await self.hooks.authenticate(request)

    def close(self) -> None:
        """Release the store and any other resources."""
        self.store.close()


def host_or_load(host: Host | None) -> Host:
    """``host``, or when it is ``None`` the one :func:`authplug.load` builds from config."""
    if host is not None:
        return host
    from authplug.loader import load

    return load()


def _check_provider_hooks(pm: pluggy.PluginManager, provider: object, info: PluginInfo) -> None:
    """The provider implements every required provider hook; nothing else does."""
    for name in hookspecs.REQUIRED_PROVIDER_HOOKS:
        impls = getattr(pm.hook, name).get_hookimpls()
        if not any(impl.plugin is provider for impl in impls):
            raise PluginLoadError(
                f"provider {info.name!r} does not implement required hook {name}",
                distribution=info.distribution,
                version=info.version,
                entry_point=info.name,
            )
    for name in hookspecs.PROVIDER_HOOKS:
        for impl in getattr(pm.hook, name).get_hookimpls():
            if impl.plugin is not provider:
                raise PluginLoadError(
                    f"plugin {impl.plugin_name!r} implements provider hook {name}; "
                    "only the configured provider may answer authentication hooks",
                    entry_point=impl.plugin_name,
                )
            if impl.hookwrapper or impl.wrapper:
                raise PluginLoadError(
                    f"provider {info.name!r}: {name} may not be a hook wrapper",
                    distribution=info.distribution,
                    version=info.version,
                    entry_point=info.name,
                )


def build_host(
    provider: object,
    config: AuthplugConfig | None = None,
    *,
    provider_info: PluginInfo | None = None,
    store: UserStore | None = None,
    extensions: Iterable[tuple[object, PluginInfo]] = (),
) -> Host:
    """Assemble a host around an already-constructed provider object.

    :param provider: An :class:`~authplug.provider.AuthProvider` instance or a
        bare object with ``@hookimpl`` methods.
    :param config: Core configuration (default: development defaults).
    :param provider_info: Where the provider came from (default: its class name).
    :param store: The user store (default: an in-memory store). A provider
        with a ``use_store(store)`` method gets it once, before any request
        (the SAML provider's replay cache lives there); it may raise
        :class:`~authplug.errors.ConfigError` when the store lacks what it needs.
    :param extensions: Extension plugin objects with their origin.
    :raises PluginLoadError: a hookimpl is misspelled, has arguments the spec
        lacks, a required provider hook is missing, or an extension answers a
        provider hook.
    """
    from authplug.access import AccessPolicy
    from authplug.session import SessionManager
    from authplug.stores.memory import MemoryUserStore

    config = config or AuthplugConfig()
    info = provider_info or PluginInfo(name=type(provider).__name__)
    pm = new_plugin_manager()
    loaded: list[PluginInfo] = []
    for plugin, plugin_info in ((provider, info), *extensions):
        try:
            pm.register(plugin, name=f"{plugin_info.name}")
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(
                f"plugin {plugin_info.name!r} has an invalid hook implementation: {exc}",
                distribution=plugin_info.distribution,
                version=plugin_info.version,
                entry_point=plugin_info.name,
            ) from None
        except ValueError as exc:
            raise PluginLoadError(
                f"plugin {plugin_info.name!r} could not be registered: {exc}",
                distribution=plugin_info.distribution,
                version=plugin_info.version,
                entry_point=plugin_info.name,
            ) from None
        if plugin is not provider:
            loaded.append(plugin_info)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(
            f"unknown hook implementation (misspelled hook name?): {exc}",
            distribution=info.distribution,
            version=info.version,
            entry_point=info.name,
        ) from None
    _check_provider_hooks(pm, provider, info)
    hooks = HookCalls(pm)
    routes = {route.path: route for route in hooks.routes()}
    store = store if store is not None else MemoryUserStore()
    # A provider keeping state that must hold across processes (the SAML
    # assertion-ID replay cache) receives the user store once, here.
    use_store = getattr(provider, "use_store", None)
    if callable(use_store):
        use_store(store)
    return Host(
        config=config,
        plugin_manager=pm,
        hooks=hooks,
        provider=provider,
        provider_info=info,
        extensions=tuple(loaded),
        routes=routes,
        store=store,
        sessions=SessionManager(config, cookieless=bool(getattr(provider, "stateless", False))),
        access=AccessPolicy.from_config(config.access),
    )

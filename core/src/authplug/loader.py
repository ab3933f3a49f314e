"""The host loader: config + entry points -> a ready :class:`~authplug.host.Host`.

Three entry-point groups:

* ``authplug.providers``: one entry per provider; its name is the ``provider``
  config value. Only the selected one is imported.
* ``authplug.plugins``: extension plugins (role mapping, audit...). All
  installed ones load unless named in ``plugins_disabled``.
* ``authplug.stores``: user stores (``memory``, ``sqlite``).

Before importing a plugin the loader checks the distribution's declared
requirement on ``authplug`` against the running core (from metadata only),
loads each entry point on its own (one broken plugin cannot abort the loop),
refuses duplicate names, validates the plugin's settings with its own model
and finally runs pluggy's ``check_pending()`` so a misspelled hook fails at
start-up. A missing or broken provider never falls back to another provider:
loading fails closed with a typed error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ValidationError

from authplug.config import (
    AuthplugConfig,
    ConfigReading,
    ConfigSource,
    collect_config,
    did_you_mean,
    format_validation_error,
    read_config,
)
from authplug.distributions import (
    CORE_DISTRIBUTION,
    FIRST_PARTY_PROVIDERS,
    PLUGIN_GROUP,
    PROVIDER_GROUP,
    STORE_GROUP,
    InstalledPlugin,
    closest_provider,
    core_version,
    installed,
)
from authplug.errors import AuthplugError, ConfigError, PluginLoadError
from authplug.host import Host, PluginInfo, build_host
from authplug.provider import NoSettings
from authplug.provider_checks import check_plugin_class, check_settings_model

if TYPE_CHECKING:
    from authplug.coordination import Coordination
    from authplug.stores import UserStore

__all__ = [
    "PLUGIN_GROUP",
    "PROVIDER_GROUP",
    "STORE_GROUP",
    "InstalledPlugin",
    "core_version",
    "host_or_load",
    "installed",
    "load",
    "load_config",
]

_DETAIL_LIMIT = 500


def _detail(exc: BaseException) -> str:
    """``TypeError: the original message`` (capped), kept in load errors."""
    text = str(exc).strip()
    if len(text) > _DETAIL_LIMIT:
        text = text[:_DETAIL_LIMIT] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _single(group: str, name: str, candidates: list[InstalledPlugin]) -> InstalledPlugin:
    if len(candidates) > 1:
        owners = " and ".join(
            f"{c.distribution or '?'} {c.version or '?'} ({c.value})" for c in candidates
        )
        raise PluginLoadError(
            f"{group} entry point {name!r} is provided by more than one distribution: "
            f"{owners}; uninstall one of them",
            plugin=PluginInfo(name=name),
        )
    return candidates[0]


def _check_core_requirement(plugin: InstalledPlugin) -> None:
    """Refuse a plugin whose declared ``authplug`` requirement the running core does not meet."""
    try:
        current = Version(core_version())
    except InvalidVersion:
        return
    for text in plugin.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) != CORE_DISTRIBUTION:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if not req.specifier.contains(current, prereleases=True):
            raise PluginLoadError(
                f"{plugin.group} entry point {plugin.name!r} from {plugin.distribution} "
                f"{plugin.version} requires authplug{req.specifier}, but authplug {current} "
                "is installed; upgrade one of them",
                plugin=plugin.info,
            )


def _import(plugin: InstalledPlugin) -> Any:
    """Load one entry point in isolation; any failure names its distribution."""
    _check_core_requirement(plugin)
    try:
        return plugin.entry_point.load()
    except Exception as exc:
        raise PluginLoadError(
            f"{plugin.group} entry point {plugin.name!r} ({plugin.value}) from "
            f"{plugin.distribution or 'an unknown distribution'} {plugin.version or ''} "
            f"failed to import: {_detail(exc)}",
            plugin=plugin.info,
        ) from exc


def _checked_settings(
    plugin: InstalledPlugin, target: Any, reading: ConfigReading, problems: list[str]
) -> BaseModel | None:
    """Validate a plugin's settings and the production rule, adding problems instead of raising.

    :return: the validated settings (``None`` for a plugin object that takes
        none, or when there are problems).
    """
    if not isinstance(target, type):
        if reading.section(plugin.name) or reading.source.env_sections.get(plugin.name):
            problems.append(f"{plugin.name}: this plugin takes no settings")
        return None
    check_plugin_class(target, plugin.info)
    model = check_settings_model(getattr(target, "settings_model", NoSettings), plugin.info)
    try:
        data = reading.source.section_settings(plugin.name, reading, model)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    try:
        settings = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix=f"{plugin.name}.", model=model))
        settings = None
    allowed = bool(
        data.get("allow_in_production") is True
        if settings is None
        else getattr(settings, "allow_in_production", False)
    )
    if reading.env == "production" and getattr(target, "development_only", False) and not allowed:
        problems.append(
            f"provider: {plugin.name!r} is for development only and is refused when "
            "env = 'production' (set [" + plugin.name + "] allow_in_production = true "
            "only if you really mean it)"
        )
        return None
    return settings


def _instantiate(plugin: InstalledPlugin, target: Any, settings: BaseModel | None) -> object:
    """Build the plugin object: a class gets its validated settings; anything else is used as is.

    The three entry-point forms: a class (called as ``cls(settings)`` with
    its validated settings), an instance, or a module (both used as they are
    and taking no settings).
    """
    if not isinstance(target, type):
        return target
    try:
        return target(settings)
    except AuthplugError:
        raise
    except Exception as exc:
        raise PluginLoadError(
            f"{plugin.describe()} failed to start: {_detail(exc)}", plugin=plugin.info
        ) from exc


def _unknown_provider(name: str, providers: Mapping[str, list[InstalledPlugin]]) -> PluginLoadError:
    """Name the closest installed or first-party provider; an install hint only for first-party."""
    listing = ", ".join(
        c.describe() for cands in sorted(providers.values(), key=lambda c: c[0].name) for c in cands
    )
    text = f"unknown provider {name!r}"
    meant = closest_provider(name, set(providers))
    if meant is not None and meant != name:
        text += f"; did you mean {meant!r}?"
        if meant not in providers:
            text += f" (not installed: `pip install authplug-{meant}`)"
    text += f". Installed providers: {listing or 'none'}."
    if name in FIRST_PARTY_PROVIDERS:
        text += f" Install it with `pip install authplug-{name}`."
    text += " Set AUTHPLUG_PROVIDER or `provider` in authplug.toml to an installed provider."
    return PluginLoadError(text, plugin=PluginInfo(name=name))


def _unknown_store(name: str, stores: Mapping[str, list[InstalledPlugin]]) -> str:
    return (
        f"store: unknown store {name!r}{did_you_mean(name, stores)}; "
        f"installed: {', '.join(sorted(stores)) or 'none'}"
    )


def _load_store(config: AuthplugConfig) -> UserStore:
    stores = installed(STORE_GROUP)
    if config.store not in stores:
        raise ConfigError(_unknown_store(config.store, stores))
    plugin = _single(STORE_GROUP, config.store, stores[config.store])
    factory = _import(plugin)
    try:
        store: UserStore = factory(**config.store_options)
    except TypeError:
        raise ConfigError(
            f"store_options: not accepted by store {config.store!r} "
            f"(given: {', '.join(sorted(config.store_options)) or 'none'})"
        ) from None
    except AuthplugError:
        raise
    except Exception as exc:
        raise PluginLoadError(
            f"store {config.store!r} failed to open: {_detail(exc)}", plugin=plugin.info
        ) from exc
    return store


def _load_coordination(config: AuthplugConfig) -> Coordination:
    """The configured coordination backend (its library imported only when selected)."""
    from authplug.coordination import open_coordination

    return open_coordination(config.coordination, dict(config.coordination_options))


def load_config(
    provider: str | None = None,
    settings: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    known_sections: frozenset[str] | None = None,
    **overrides: Any,
) -> tuple[AuthplugConfig, ConfigSource]:
    """Read and validate the core configuration as :func:`load` does, loading no plugin.

    ``known_sections`` are the table names allowed besides the core fields
    (default: every installed provider and extension plugin name).
    """
    explicit: dict[str, Any] = dict(settings or {})
    explicit.update(overrides)
    if provider is not None:
        explicit["provider"] = provider
    if known_sections is None:
        known_sections = frozenset(installed(PROVIDER_GROUP)) | frozenset(installed(PLUGIN_GROUP))
    return read_config(
        overrides=explicit, environ=environ, cwd=_cwd(cwd), known_sections=known_sections
    )


def _cwd(cwd: object) -> Path | None:
    """``cwd`` as a :class:`~pathlib.Path`: a ``str`` and any path-like are accepted."""
    if cwd is None:
        return None
    if not isinstance(cwd, str | os.PathLike):
        raise TypeError(f"cwd must be a path (str or os.PathLike), not {type(cwd).__name__}")
    return Path(cwd)


def _given_store(store: object) -> UserStore | str | None:
    """The store passed to :func:`load` (an object or a store name), checked now.

    Checked at load rather than at the first login, where a wrong object
    would fail with an unrelated message.
    """
    from authplug.stores import UserStore

    if store is None or isinstance(store, str | UserStore):
        return store
    raise TypeError(
        f"load(store=...) takes a user store object or a store name such as 'sqlite', "
        f"not {type(store).__name__}"
    )


def load(
    provider: str | None = None,
    settings: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    store: UserStore | str | None = None,
    coordination: Coordination | None = None,
    **overrides: Any,
) -> Host:
    """Build a :class:`~authplug.host.Host` from configuration and installed plugins.

    :param provider: Provider name, overriding config (``"jwt"``).
    :param settings: Explicit configuration: top-level keys and provider
        tables (``{"jwt": {"issuer": ...}, "cookie_keys": [...]}``), winning
        over the file and the environment.
    :param environ: Environment to read ``AUTHPLUG_*`` from (default ``os.environ``).
    :param cwd: Directory holding ``authplug.toml`` (default: the working
        directory); a ``str`` or any path-like.
    :param store: A ready user store, instead of the configured one; a
        string names a store entry point (``"memory"``), like ``config.store``.
    :param coordination: A ready coordination backend, instead of opening the
        configured one (``authplug check`` passes a probed, unopened one);
        the host closes it with itself.
    :param overrides: More top-level settings (``env="production"``).
    :raises ConfigError: the configuration or a plugin's settings are invalid.
    :raises PluginLoadError: the provider is unknown, duplicated, incompatible,
        broken, or a hook implementation is invalid.
    :raises TypeError: ``store`` is neither a user store nor a name, or ``cwd`` not a path.
    """
    checked_store = _given_store(store)
    if isinstance(checked_store, str):
        overrides["store"], checked_store = checked_store, None
    providers = installed(PROVIDER_GROUP)
    extension_plugins = installed(PLUGIN_GROUP)
    explicit: dict[str, Any] = dict(settings or {})
    explicit.update(overrides)
    if provider is not None:
        explicit["provider"] = provider
    reading = collect_config(
        overrides=explicit,
        environ=environ,
        cwd=_cwd(cwd),
        known_sections=frozenset(providers) | frozenset(extension_plugins),
    )
    # Every problem is collected before anything is reported: the core's keys,
    # the provider's section, each extension's section and the production rules.
    problems = list(reading.problems)
    name = reading.provider
    chosen = provider_target = provider_settings = None
    if name is not None and name in providers:
        chosen = _single(PROVIDER_GROUP, name, providers[name])
        provider_target = _import(chosen)
        provider_settings = _checked_settings(chosen, provider_target, reading, problems)
        if (
            reading.env == "production"
            and not reading.values.get("cookie_keys")
            and getattr(provider_target, "stateless", False) is not True
        ):
            # The host (KeyRing.from_config) refuses this too; said here, it is
            # listed with every other problem instead of after them.
            problems.insert(
                len(reading.problems),
                "cookie_keys: production needs at least one cookie key "
                "(AUTHPLUG_COOKIE_KEYS, from `authplug keygen`); "
                "ephemeral keys are for development only",
            )
    disabled_value = reading.values.get("plugins_disabled")
    disabled = set(disabled_value) if isinstance(disabled_value, list) else set()
    ready: list[tuple[InstalledPlugin, Any, BaseModel | None]] = []
    for ext_name, candidates in sorted(extension_plugins.items()):
        if ext_name in disabled:
            continue
        plugin = _single(PLUGIN_GROUP, ext_name, candidates)
        target = _import(plugin)
        ready.append((plugin, target, _checked_settings(plugin, target, reading, problems)))
    store_name = reading.values.get("store", "sqlite")
    if store is None and isinstance(store_name, str):
        stores = installed(STORE_GROUP)
        if store_name not in stores:
            problems.append(_unknown_store(store_name, stores))
    if problems:
        if name is not None and name not in providers:
            problems.append(f"provider: {_unknown_provider(name, providers).message}")
        raise ConfigError(problems)
    config = reading.config
    if config is None:  # pragma: no cover - no problems means a validated config
        raise ConfigError("configuration could not be validated")
    if chosen is None:
        raise _unknown_provider(config.provider, providers)
    provider_obj = _instantiate(chosen, provider_target, provider_settings)
    extensions = [
        (_instantiate(plugin, target, ext_settings), plugin.info)
        for plugin, target, ext_settings in ready
    ]

    ready_store = checked_store if checked_store is not None else _load_store(config)
    given_coordination = coordination is not None
    try:
        if coordination is None:
            coordination = _load_coordination(config)
    except BaseException:
        if checked_store is None:  # ours to close; a caller's store stays the caller's
            ready_store.close()
        raise
    try:
        return build_host(
            provider_obj,
            config,
            provider_info=chosen.info,
            store=ready_store,
            extensions=extensions,
            coordination=coordination,
        )
    except BaseException:
        if not given_coordination:  # a caller's backend stays the caller's
            coordination.close()
        raise


def host_or_load(host: Host | None) -> Host:
    """``host``, or when it is ``None`` the one :func:`load` builds from config."""
    if host is not None:
        return host
    return load()

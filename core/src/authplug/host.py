"""``Host``: one loaded authplug instance, as the middleware uses it.

A host is built per application by :func:`authplug.load` (from config and
entry points) or by :func:`build_host` (from a provider object, in tests and
for programmatic use). It owns its own :class:`pluggy.PluginManager`: there is
no process-global plugin state.

The host also owns the state that must be one per process for one
configuration, created once by :func:`build_host`: the hook calls and the
debug tracer they report to, the error answers, the session revocation map,
the logout form's token keys, and the single-flight groups. Every middleware
over one host shares them: an application and a sub-application mounted
with the same host refuse each other's revoked sessions at once.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pluggy

from authplug import hookspecs
from authplug.config import AuthplugConfig
from authplug.coordination.base import Coordination
from authplug.coordination.inprocess import InProcessCoordination
from authplug.debug import NULL_TRACER, Tracer, tracer_for
from authplug.errors import AuthplugError, ConfigError, PluginLoadError
from authplug.hookcalls import HookCalls
from authplug.logout import LogoutTokens
from authplug.provider import AuthProvider
from authplug.request import AuthRequest, HeaderLookup
from authplug.responses import StatusResponses
from authplug.results import AuthenticateResult, Remembered
from authplug.revocation import RevokedSessions, SessionRevocation
from authplug.routes import Route

if TYPE_CHECKING:
    from authplug.access import AccessPolicy
    from authplug.models import AnyUser
    from authplug.session import SessionManager
    from authplug.singleflight import SingleFlight
    from authplug.stores import UserStore

__all__ = ["Host", "PluginInfo", "build_host", "new_plugin_manager"]


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


@dataclass(eq=False, kw_only=True)
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
        stateless: Whether the provider authenticates each request itself and
            keeps no session cookie (read once, from the provider's
            ``stateless`` attribute).
        tracer: Where lifecycle steps and hook calls are traced (a null
            tracer unless ``config.debug``).
        responses: The error answers (with the provider's declared challenge).
        revocation: Revoked sessions, in this process and in the store.
        logout_tokens: The logout form's anti-CSRF token keys.
        fast_authenticate: The provider's ``authplug_authenticate_fast``
            implementation, called directly (one provider answers provider
            hooks, so no dispatch is needed); ``None`` for providers that keep
            sessions or implement none.
        coordination: How this host's processes share refreshes and
            revocations (:mod:`authplug.coordination`; in-process by default).
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
    revocation: SessionRevocation
    logout_tokens: LogoutTokens
    stateless: bool = False
    tracer: Tracer = NULL_TRACER
    responses: StatusResponses = field(default_factory=StatusResponses)
    fast_authenticate: Callable[[HeaderLookup], AnyUser | Remembered | None] | None = None
    coordination: Coordination = field(default_factory=InProcessCoordination)
    _flights: dict[str, SingleFlight[Any]] = field(default_factory=dict, repr=False)
    _flights_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def provider_name(self) -> str:
        """The configured provider's name."""
        return self.provider_info.name

    def single_flight(self, key: str, make: Callable[[], SingleFlight[Any]]) -> SingleFlight[Any]:
        """The host's single-flight group named ``key``, made by ``make`` on first use.

        Hosts of one kind share a group (``"asgi:refresh"``), so one session
        is refreshed once even when two middlewares over this host see it.
        """
        with self._flights_lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = make()
            return flight

    async def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        """Run the provider's ``authplug_authenticate`` for ``request`` (framework-neutral)."""
        return await self.hooks.authenticate(request)

    def close(self) -> None:
        """Release the store, the coordination backend and any other resources."""
        self.store.close()
        self.coordination.close()


def _check_provider_hooks(pm: pluggy.PluginManager, provider: object, info: PluginInfo) -> None:
    """The provider implements every required provider hook; nothing else does."""
    from authplug.provider_checks import describe, missing_hooks_error

    missing = [
        name
        for name in hookspecs.REQUIRED_PROVIDER_HOOKS
        if not any(impl.plugin is provider for impl in getattr(pm.hook, name).get_hookimpls())
    ]
    if missing:
        raise missing_hooks_error(provider, info, missing)
    for name in hookspecs.PROVIDER_HOOKS:
        for impl in getattr(pm.hook, name).get_hookimpls():
            if impl.plugin is not provider:
                raise PluginLoadError(
                    f"plugin {impl.plugin_name!r} implements provider hook {name}; "
                    "only the configured provider may answer authentication hooks",
                    plugin=PluginInfo(name=impl.plugin_name),
                )
            if impl.hookwrapper or impl.wrapper:
                raise PluginLoadError(
                    f"provider {describe(info)}: {name} may not be a hook wrapper",
                    plugin=info,
                )


def _unknown_hook_error(exc: pluggy.PluginValidationError, info: PluginInfo) -> PluginLoadError:
    """pluggy's "unknown hook" with the plugin's origin and the closest real hook name."""
    from authplug.provider_checks import closest_hook, describe

    text = str(exc)
    hook = next(
        (w for w in text.replace("'", " ").replace('"', " ").split() if w.startswith("authplug_")),
        None,
    )
    meant = closest_hook(hook) if hook is not None else None
    return PluginLoadError(
        f"plugin {describe(info)} implements an unknown hook "
        f"{hook or '(unnamed)'} (misspelled hook name?)"
        + (f"; did you mean {meant}?" if meant is not None and meant != hook else "")
        + f" [{text}]",
        plugin=info,
    )


def build_host(
    provider: object,
    config: AuthplugConfig | None = None,
    *,
    provider_info: PluginInfo | None = None,
    store: UserStore | None = None,
    extensions: Iterable[tuple[object, PluginInfo]] = (),
    coordination: Coordination | None = None,
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
    :param coordination: How processes share refreshes and revocations
        (default: in-process only).
    :raises PluginLoadError: a hookimpl is misspelled, has arguments the spec
        lacks, a required provider hook is missing, or an extension answers a
        provider hook.
    """
    from authplug.access import AccessPolicy
    from authplug.provider_checks import check_provider_class, describe
    from authplug.session import SessionManager
    from authplug.stores.memory import MemoryUserStore

    config = config or AuthplugConfig()
    info = provider_info or PluginInfo(name=type(provider).__name__)
    check_provider_class(type(provider), info)
    pm = new_plugin_manager()
    loaded: list[PluginInfo] = []
    origins: dict[int, PluginInfo] = {}
    for plugin, plugin_info in ((provider, info), *extensions):
        origins[id(plugin)] = plugin_info
        try:
            pm.register(plugin, name=f"{plugin_info.name}")
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(
                f"plugin {describe(plugin_info)} has an invalid hook implementation: {exc}",
                plugin=plugin_info,
            ) from None
        except ValueError as exc:
            raise PluginLoadError(
                f"plugin {describe(plugin_info)} could not be registered: {exc}",
                plugin=plugin_info,
            ) from None
        if plugin is not provider:
            loaded.append(plugin_info)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _unknown_hook_error(exc, origins.get(id(exc.plugin), info)) from None
    _check_provider_hooks(pm, provider, info)
    tracer = tracer_for(config.debug)
    hooks = HookCalls(pm, tracer=tracer)
    try:
        routes = {route.path: route for route in hooks.routes()}
        challenge = hooks.challenge()
    except AuthplugError as exc:
        raise PluginLoadError(f"provider {describe(info)}: {exc.message}", plugin=info) from None
    stateless = provider_is_stateless(provider)
    fast = _fast_path(pm, info) if stateless else None
    store = store if store is not None else MemoryUserStore()
    if not stateless:
        SessionRevocation.require_support(store)
    # A provider keeping state that must hold across processes (the SAML
    # assertion-ID replay cache) receives the user store once, here.
    use_store = getattr(provider, "use_store", None)
    if callable(use_store):
        use_store(store)
    coordination = coordination if coordination is not None else InProcessCoordination()
    if coordination.shared and not stateless and not config.cookie_keys:
        raise ConfigError(
            f"cookie_keys: coordination {coordination.name!r} shares sessions between "
            "processes, which needs one key ring for all of them; set AUTHPLUG_COOKIE_KEYS "
            "(`authplug keygen`) instead of the ephemeral per-process key"
        )
    return Host(
        config=config,
        plugin_manager=pm,
        hooks=hooks,
        provider=provider,
        provider_info=info,
        extensions=tuple(loaded),
        routes=routes,
        store=store,
        sessions=SessionManager(config, cookieless=stateless),
        access=AccessPolicy.from_config(config.access),
        stateless=stateless,
        tracer=tracer,
        responses=StatusResponses(tracer, challenge=challenge),
        revocation=SessionRevocation(
            RevokedSessions(config.revocation_capacity),
            store,
            config.absolute_lifetime,
            broadcast=None if stateless else coordination,
        ),
        logout_tokens=LogoutTokens([k.get_secret_value() for k in config.cookie_keys]),
        fast_authenticate=fast,
        coordination=coordination,
    )


def _fast_path(
    pm: pluggy.PluginManager, info: PluginInfo
) -> Callable[[HeaderLookup], AnyUser | Remembered | None] | None:
    """The provider's ``authplug_authenticate_fast``, checked (synchronous, takes ``header``).

    :raises PluginLoadError: it is ``async def`` or takes other arguments.
    """
    impls = pm.hook.authplug_authenticate_fast.get_hookimpls()
    if not impls:
        return None
    impl = impls[-1]  # provider hooks have exactly one implementation (checked above)
    function = cast("Callable[[HeaderLookup], AnyUser | Remembered | None]", impl.function)
    if getattr(function, "__func__", None) is AuthProvider.authplug_authenticate_fast:
        # The base class's hookimpl only delegates: call the method it delegates to.
        provider = cast("AuthProvider[Any, Any, Any]", impl.plugin)
        function = provider.authenticate_fast
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        raise PluginLoadError(
            f"provider {info.name!r}: authplug_authenticate_fast must be synchronous "
            "(no I/O on the fast path; the async work belongs in authplug_authenticate)",
            plugin=info,
        )
    if tuple(impl.argnames) != ("header",):
        raise PluginLoadError(
            f"provider {info.name!r}: authplug_authenticate_fast must take exactly 'header'",
            plugin=info,
        )
    return function


def provider_is_stateless(provider: object) -> bool:
    """Whether ``provider`` declares ``stateless = True`` (the one place this is read).

    :raises PluginLoadError: ``stateless`` is set to something other than a bool.
    """
    value = getattr(provider, "stateless", False)
    if not isinstance(value, bool):
        raise PluginLoadError(
            f"provider {type(provider).__name__}: 'stateless' must be True or False, "
            f"not {type(value).__name__}"
        )
    return value

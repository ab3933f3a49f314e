"""The one place that calls hooks and awaits maybe-async results.

Hook implementations may be plain functions or ``async def``; pluggy returns
whatever they return. :class:`HookCalls` wraps a host's
:class:`pluggy.PluginManager` with one typed method per hook, so the rest of
the core never touches ``pm.hook``. Every call goes through one path,
:meth:`HookCalls._call` (the analogue of pluggy's hook-call monitoring):

1. call the hook (or route handler) and resolve what it returned with the
   host's resolver: the ASGI host awaits awaitables (datasette's "await me
   maybe", :func:`await_me_maybe`); the WSGI host runs them on its background
   event loop (see :mod:`authplug.wsgi`);
2. check the result's type against the contract;
3. report the call, its duration and a secret-free description of its
   outcome to the host's tracer.

An :class:`~authplug.errors.AuthplugError` a hook raises passes through as
it is (a rejected credential, an unreachable IdP). Anything else, and a
result of the wrong type, is a bug in the plugin: a
:class:`~authplug.errors.ProviderError` (HTTP 500, traceback logged), never a
401 that would look like a bad credential.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar, cast

import pluggy

from authplug.debug import NULL_TRACER, Tracer
from authplug.errors import AuthplugError, ProviderError
from authplug.incidents import report_failure
from authplug.models import AnyUser, AuthenticatedUser, UserType
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult, ProviderResponse, Redirect
from authplug.routes import Route

__all__ = ["HookCalls", "Resolver", "await_me_maybe"]

T = TypeVar("T")

Resolver = Callable[[object], Awaitable[object]]
"""How a host turns a hook's awaitable return value into a plain value.

:class:`HookCalls` asks it only for awaitable values; a plain value is used
as it is (every resolver would return it unchanged)."""

_RESULT_TYPES = (Authenticated, Redirect, ProviderResponse)
_USER_TYPES: frozenset[str] = frozenset({"internal-user", "external-user"})


async def await_me_maybe(value: T | Awaitable[T]) -> T:
    """Return ``value``, awaiting it first when it is awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def describe(value: object) -> str:
    """A secret-free one-word description of a hook's result, for traces."""
    if value is None:
        return "None"
    if isinstance(value, AuthenticatedUser):
        return "user"
    return type(value).__name__


# -- result checks: a wrong type is a bug in the plugin ------------------------------


def _violation(hook: str, value: object, expected: str) -> ProviderError:
    return ProviderError(
        f"{hook} returned {type(value).__name__}, not {expected}",
        hook=hook,
        code="provider_contract_violation",
    )


def _result(value: object, hook: str) -> AuthenticateResult:
    """Only a well-formed result counts as success; truthiness never does."""
    if isinstance(value, _RESULT_TYPES):
        return value
    raise _violation(hook, value, "an authenticate result (Authenticated, Redirect, ...)")


def _user(value: object, hook: str) -> AnyUser:
    if isinstance(value, AuthenticatedUser):
        return value
    raise _violation(hook, value, "an AuthenticatedUser")


def _user_or_none(value: object, hook: str) -> AnyUser | None:
    return None if value is None else _user(value, hook)


def _redirect_or_none(value: object, hook: str) -> Redirect | None:
    if value is None or isinstance(value, Redirect):
        return value
    raise _violation(hook, value, "a Redirect or None")


def _problems(value: object, hook: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | list | tuple):
        raise _violation(hook, value, "a sequence of problem sentences")
    return tuple(str(p) for p in cast("Sequence[object]", value))


def _user_types(values: object, hook: str) -> frozenset[str]:
    answered = {v for v in cast("list[object]", values) if v is not None}
    for v in answered:
        if v not in _USER_TYPES:
            raise ProviderError(
                f"{hook} returned an unknown user type", hook=hook, code="plugin_contract_violation"
            )
    return frozenset(cast("set[str]", answered))


def _roles(values: object, hook: str) -> tuple[str, ...]:
    extra: list[str] = []
    for roles in cast("list[object]", values):
        if roles is None:
            continue
        if isinstance(roles, str) or not isinstance(roles, Sequence | set | frozenset | list):
            raise ProviderError(
                f"{hook} returned {type(roles).__name__}, not a list of roles",
                hook=hook,
                code="plugin_contract_violation",
            )
        extra.extend(str(r) for r in cast("Sequence[object]", roles))
    return tuple(extra)


def _ignored(values: object, hook: str) -> None:
    return None


class HookCalls:
    """Typed, maybe-async calls of every hook on one plugin manager.

    :param pm: The host's plugin manager.
    :param tracer: Where calls are reported (debug tracing).
    :param resolve: How awaitable return values are resolved (default:
        :func:`await_me_maybe`); plain values are used as they are. A host
        whose resolver never suspends (WSGI) gets coroutines from these
        methods that never suspend either.
    """

    __slots__ = ("_hook", "_resolve", "_tracer", "pm")

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        tracer: Tracer = NULL_TRACER,
        resolve: Resolver = await_me_maybe,
    ) -> None:
        self.pm = pm
        self._hook = pm.hook
        self._tracer = tracer
        self._resolve = resolve

    def with_resolver(self, resolve: Resolver) -> HookCalls:
        """The same calls, resolving raw values with ``resolve`` (a host's runtime)."""
        return HookCalls(self.pm, tracer=self._tracer, resolve=resolve)

    async def _call(
        self,
        name: str,
        invoke: Callable[[], object],
        check: Callable[[object, str], T],
        *,
        each: bool = False,
    ) -> T:
        """Call, resolve, check and trace one hook (``each``: resolve every answer of a list)."""
        tracer = self._tracer
        started = time.perf_counter() if tracer.enabled else 0.0
        try:
            raw = invoke()
            if each:
                value: object = [
                    await self._resolve(v) if inspect.isawaitable(v) else v
                    for v in cast("list[object]", raw)
                ]
            else:
                value = await self._resolve(raw) if inspect.isawaitable(raw) else raw
            result = check(value, name)
        except AuthplugError as exc:
            tracer.hook(name, started, f"raised {type(exc).__name__}")
            raise
        except Exception as exc:
            tracer.hook(name, started, f"raised {type(exc).__name__}")
            raise ProviderError(f"{name} raised {type(exc).__name__}", hook=name) from exc
        if tracer.enabled:
            tracer.hook(name, started, describe(result))
        return result

    # -- provider hooks -----------------------------------------------------
    # Each returns :meth:`_call`'s coroutine itself (to be awaited), not a
    # coroutine of its own awaiting it: one coroutine per hook call, not two.

    def authenticate(self, request: AuthRequest) -> Coroutine[Any, Any, AuthenticateResult]:
        """Run ``authplug_authenticate`` and check its result's type."""
        hook = self._hook.authplug_authenticate
        return self._call("authplug_authenticate", lambda: hook(request=request), _result)

    def validate(self, request: AuthRequest, user: AnyUser) -> Coroutine[Any, Any, AnyUser | None]:
        """Run ``authplug_validate``: ``None`` means still valid."""
        hook = self._hook.authplug_validate
        return self._call(
            "authplug_validate", lambda: hook(request=request, user=user), _user_or_none
        )

    def refresh(self, user: AnyUser) -> Coroutine[Any, Any, AnyUser]:
        """Run ``authplug_refresh`` and check it returned a user."""
        hook = self._hook.authplug_refresh
        return self._call("authplug_refresh", lambda: hook(user=user), _user)

    def route(self, route: Route, request: AuthRequest) -> Coroutine[Any, Any, AuthenticateResult]:
        """Run one provider route handler and check its result."""
        return self._call(f"route {route.path}", lambda: route.handler(request), _result)

    def logout(
        self, request: AuthRequest, user: AnyUser | None
    ) -> Coroutine[Any, Any, Redirect | None]:
        """Run ``authplug_logout``; ``None`` when the provider has no IdP logout."""
        hook = self._hook.authplug_logout
        return self._call(
            "authplug_logout", lambda: hook(request=request, user=user), _redirect_or_none
        )

    def check(self) -> Coroutine[Any, Any, tuple[str, ...]]:
        """Run ``authplug_check`` (for ``authplug check``): the problems found, empty when ready."""
        hook = self._hook.authplug_check
        return self._call("authplug_check", hook, _problems)

    def routes(self) -> Sequence[Route]:
        """Collect the provider's routes (called once at start-up, synchronously).

        :raises ProviderError: something other than a :class:`Route` was returned.
        """
        value = self._hook.authplug_routes()
        if value is None:
            return ()
        routes = tuple(value)
        for route in routes:
            if not isinstance(route, Route):
                raise _violation("authplug_routes", route, "a Route")
        return routes

    def challenge(self) -> str | None:
        """The provider's declared ``WWW-Authenticate`` challenge (called once at start-up).

        :raises ProviderError: the answer is not a string without control characters.
        """
        value = self._hook.authplug_challenge()
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise _violation("authplug_challenge", value, "a printable challenge string")
        return value

    # -- extension hooks ----------------------------------------------------

    async def map_user(self, user: AnyUser) -> AnyUser:
        """Apply the user-type and extra-role hooks; return the (maybe) updated user."""
        type_hook = self._hook.authplug_user_type
        answered = await self._call(
            "authplug_user_type", lambda: type_hook(user=user), _user_types, each=True
        )
        new_type: UserType = user.user_type
        if answered:
            new_type = "external-user" if "external-user" in answered else "internal-user"
        if new_type != user.user_type:
            user = user.model_copy(update={"user_type": new_type})
        roles_hook = self._hook.authplug_extra_roles
        mapped = user
        extra = await self._call(
            "authplug_extra_roles", lambda: roles_hook(user=mapped), _roles, each=True
        )
        if extra:
            merged = tuple(dict.fromkeys((*user.roles, *extra)))
            if merged != user.roles:
                user = user.model_copy(update={"roles": merged})
        return user

    async def logged_in(self, request: AuthRequest, user: AnyUser) -> None:
        """Fire ``authplug_logged_in`` on every plugin; a failing listener is only logged."""
        hook = self._hook.authplug_logged_in
        try:
            await self._call(
                "authplug_logged_in", lambda: hook(request=request, user=user), _ignored, each=True
            )
        except AuthplugError as exc:
            report_failure(exc, "an authplug_logged_in listener (the login stands)")

    async def logged_out(self, request: AuthRequest, user: AnyUser | None) -> None:
        """Fire ``authplug_logged_out`` on every plugin; a failing listener is only logged."""
        hook = self._hook.authplug_logged_out
        try:
            await self._call(
                "authplug_logged_out", lambda: hook(request=request, user=user), _ignored, each=True
            )
        except AuthplugError as exc:
            report_failure(exc, "an authplug_logged_out listener (the logout stands)")

    @property
    def has_extensions(self) -> bool:
        """Whether any plugin implements an extension hook (skip the calls otherwise)."""
        return any(
            getattr(self._hook, name).get_hookimpls()
            for name in ("authplug_user_type", "authplug_extra_roles")
        )

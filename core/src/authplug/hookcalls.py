"""The one place that calls hooks and awaits maybe-async results.

Hook implementations may be plain functions or ``async def``; pluggy returns
whatever they return. :func:`await_me_maybe` (datasette's pattern) resolves
both. :class:`HookCalls` wraps a host's :class:`pluggy.PluginManager` with one
typed method per hook, so the rest of the core never touches ``pm.hook``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import pluggy

from authplug.errors import AuthplugError, NotAuthenticatedError
from authplug.models import AnyUser, AuthenticatedUser, UserType
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult, ProviderResponse, Redirect
from authplug.routes import Route

__all__ = ["HookCalls", "await_me_maybe"]

T = TypeVar("T")
_log = logging.getLogger("authplug.hooks")

_RESULT_TYPES = (Authenticated, Redirect, ProviderResponse)


async def await_me_maybe(value: T | Awaitable[T]) -> T:
    """Return ``value``, awaiting it first when it is awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def _check_result(value: object, hook: str) -> AuthenticateResult:
    """Only a well-formed result counts as success; truthiness never does."""
    if isinstance(value, _RESULT_TYPES):
        return value
    raise NotAuthenticatedError(
        f"{hook} returned {type(value).__name__}, not an authenticate result",
        code="provider_contract_violation",
    )


def _check_user(value: object, hook: str) -> AnyUser:
    if isinstance(value, AuthenticatedUser):
        return value
    raise NotAuthenticatedError(
        f"{hook} returned {type(value).__name__}, not an AuthenticatedUser",
        code="provider_contract_violation",
    )


def _wrap(exc: Exception, hook: str) -> AuthplugError:
    """Map an unexpected exception from a hook onto a typed error (no message leak)."""
    if isinstance(exc, AuthplugError):
        return exc
    return NotAuthenticatedError(f"{hook} failed with {type(exc).__name__}", code="provider_error")


def _identity(value: object) -> object:
    return value


class HookCalls:
    """Typed, maybe-async calls of every hook on one plugin manager.

    Every raw value a hook implementation or route handler returns first goes
    through ``resolve`` (default: unchanged). The WSGI host passes a function
    that runs awaitables to completion on its background event loop, so
    synchronous implementations run in the request thread and the ``async``
    methods here never suspend; the ASGI host awaits them as they are.
    """

    __slots__ = ("_hook", "_resolve", "pm")

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        resolve: Callable[[object], object] | None = None,
    ) -> None:
        self.pm = pm
        self._hook = pm.hook
        self._resolve = resolve or _identity

    # -- provider hooks -----------------------------------------------------

    async def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        """Run ``authplug_authenticate`` and check its result's type."""
        try:
            value = await await_me_maybe(
                self._resolve(self._hook.authplug_authenticate(request=request))
            )
        except Exception as exc:
            raise _wrap(exc, "authplug_authenticate") from exc
        return _check_result(value, "authplug_authenticate")

    async def validate(self, request: AuthRequest, user: AnyUser) -> AnyUser | None:
        """Run ``authplug_validate``: ``None`` means still valid."""
        try:
            value = await await_me_maybe(
                self._resolve(self._hook.authplug_validate(request=request, user=user))
            )
        except Exception as exc:
            raise _wrap(exc, "authplug_validate") from exc
        if value is None:
            return None
        return _check_user(value, "authplug_validate")

    async def refresh(self, user: AnyUser) -> AnyUser:
        """Run ``authplug_refresh`` and check it returned a user."""
        try:
            value = await await_me_maybe(self._resolve(self._hook.authplug_refresh(user=user)))
        except Exception as exc:
            raise _wrap(exc, "authplug_refresh") from exc
        return _check_user(value, "authplug_refresh")

    def routes(self) -> Sequence[Route]:
        """Collect the provider's routes (called once at start-up)."""
        value = self._hook.authplug_routes()
        if value is None:
            return ()
        routes = tuple(value)
        for route in routes:
            if not isinstance(route, Route):
                raise NotAuthenticatedError(
                    "authplug_routes returned something that is not a Route",
                    code="provider_contract_violation",
                )
        return routes

    async def route(self, route: Route, request: AuthRequest) -> AuthenticateResult:
        """Run one provider route handler and check its result."""
        try:
            value = await await_me_maybe(self._resolve(route.handler(request)))
        except Exception as exc:
            raise _wrap(exc, f"route {route.path}") from exc
        return _check_result(value, f"route {route.path}")

    async def logout(self, request: AuthRequest, user: AnyUser | None) -> Redirect | None:
        """Run ``authplug_logout``; ``None`` when the provider has no IdP logout."""
        try:
            value = await await_me_maybe(
                self._resolve(self._hook.authplug_logout(request=request, user=user))
            )
        except Exception as exc:
            raise _wrap(exc, "authplug_logout") from exc
        if value is None or isinstance(value, Redirect):
            return value
        raise NotAuthenticatedError(
            "authplug_logout returned something that is not a Redirect",
            code="provider_contract_violation",
        )

    # -- extension hooks ----------------------------------------------------

    async def map_user(self, user: AnyUser) -> AnyUser:
        """Apply the user-type and extra-role hooks; return the (maybe) updated user."""
        types: list[Any] = [
            await await_me_maybe(self._resolve(v)) for v in self._hook.authplug_user_type(user=user)
        ]
        answered = {t for t in types if t is not None}
        for t in answered:
            if t not in ("internal-user", "external-user"):
                raise NotAuthenticatedError(
                    "authplug_user_type returned an unknown user type",
                    code="plugin_contract_violation",
                )
        new_type: UserType = user.user_type
        if answered:
            new_type = "external-user" if "external-user" in answered else "internal-user"
        if new_type != user.user_type:
            user = user.model_copy(update={"user_type": new_type})
        extra: list[str] = []
        for v in self._hook.authplug_extra_roles(user=user):
            roles = await await_me_maybe(self._resolve(v))
            if roles is None:
                continue
            if isinstance(roles, str):
                raise NotAuthenticatedError(
                    "authplug_extra_roles returned a string, not a list of roles",
                    code="plugin_contract_violation",
                )
            extra.extend(str(r) for r in cast("Sequence[object]", roles))
        if extra:
            merged = tuple(dict.fromkeys((*user.roles, *extra)))
            if merged != user.roles:
                user = user.model_copy(update={"roles": merged})
        return user

    async def logged_in(self, request: AuthRequest, user: AnyUser) -> None:
        """Fire ``authplug_logged_in`` on every plugin; a failing listener is only logged."""
        try:
            for v in self._hook.authplug_logged_in(request=request, user=user):
                await await_me_maybe(self._resolve(v))
        except Exception as exc:
            _log.error("authplug_logged_in listener failed: %s", type(exc).__name__)

    async def logged_out(self, request: AuthRequest, user: AnyUser | None) -> None:
        """Fire ``authplug_logged_out`` on every plugin; a failing listener is only logged."""
        try:
            for v in self._hook.authplug_logged_out(request=request, user=user):
                await await_me_maybe(self._resolve(v))
        except Exception as exc:
            _log.error("authplug_logged_out listener failed: %s", type(exc).__name__)

    @property
    def has_extensions(self) -> bool:
        """Whether any plugin implements an extension hook (skip the calls otherwise)."""
        return any(
            getattr(self._hook, name).get_hookimpls()
            for name in ("authplug_user_type", "authplug_extra_roles")
        )

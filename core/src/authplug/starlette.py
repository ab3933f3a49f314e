"""FastAPI and Starlette conveniences: the current user and role requirements.

This is the only core module that imports Starlette (install it with your
framework); the rest of authplug depends on no web framework.

    from fastapi import Depends, FastAPI
    from authplug.starlette import current_user, requires

    app = FastAPI()

    @app.get("/me")
    def me(user: AuthenticatedUser = Depends(current_user)):
        return user.agent_view()

    @app.get("/admin", dependencies=[Depends(requires("pika:content-admin"))])
    def admin(): ...

``requires`` also decorates plain Starlette endpoints (``async def
endpoint(request)``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from authplug.models import AuthenticatedUser, UserType
from authplug.requirements import Requirement

__all__ = ["RoleRequirement", "current_user", "optional_user", "requires"]

F = TypeVar("F", bound=Callable[..., Any])


def optional_user(request: HTTPConnection) -> AuthenticatedUser[Any, Any] | None:
    """The user ``AuthMiddleware`` attached to the request, or ``None``."""
    user = request.scope.get("authplug.user")
    return user if isinstance(user, AuthenticatedUser) else None


def current_user(request: HTTPConnection) -> AuthenticatedUser[Any, Any]:
    """FastAPI dependency: the signed-in user.

    :raises HTTPException: 401 when no user is attached (a public path, or
        the middleware is not installed).
    """
    user = optional_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="not_authenticated")
    return user


class RoleRequirement(Requirement):
    """A dependency (and endpoint decorator) that requires roles and/or user types.

    Build it with :func:`requires`. As a dependency it returns the user; it
    raises 401 without a user and 403 when the user does not qualify. The
    rule itself (:meth:`allows`) is :class:`authplug.requirements.Requirement`,
    the one ``authplug.flask`` and ``authplug.django`` decorators apply too.
    """

    def __call__(self, request: HTTPConnection) -> AuthenticatedUser[Any, Any]:
        """FastAPI dependency: the user, when allowed.

        :raises HTTPException: 401 without a user, 403 when not allowed.
        """
        user = current_user(request)
        if not self.allows(user):
            raise HTTPException(status_code=403, detail="forbidden")
        return user

    def protect(self, endpoint: F) -> F:
        """Decorate a Starlette endpoint taking ``request`` first."""
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError("requires(...).protect decorates async endpoints")
        call: Callable[..., Awaitable[Any]] = endpoint

        @functools.wraps(endpoint)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            self(request)
            return await call(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]


def requires(
    *roles: str,
    user_types: Sequence[UserType] = (),
    mode: Literal["any", "all"] = "any",
) -> RoleRequirement:
    """Require roles and/or user types: ``Depends(requires("pika:content-admin"))``.

    The returned object is a FastAPI dependency and, via ``.protect``, a
    decorator for Starlette endpoints; it answers 401 without a user and 403
    when the user does not qualify.

    :param roles: Role names.
    :param user_types: ``"internal-user"``/``"external-user"``.
    :param mode: ``"any"`` (default): one role or one user type suffices;
        ``"all"``: every role and one of the user types.
    """
    return RoleRequirement(roles, user_types, mode)

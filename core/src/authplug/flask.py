"""Flask integration: the ``AuthPlug`` extension, ``current_user`` and view decorators.

A thin layer over the WSGI host (:class:`authplug.wsgi.AuthMiddleware`): the
extension wraps ``app.wsgi_app``, so every request is authenticated before
Flask routes it, and puts the signed-in user in ``g.authplug_user``::

    from flask import Flask
    from authplug.flask import AuthPlug, current_user, login_required, roles_required

    app = Flask(__name__)
    AuthPlug(app)  # settings: app.config["AUTHPLUG"], else authplug.toml + AUTHPLUG_*

    @app.get("/me")
    def me():
        return current_user.tool_view().model_dump(mode="json", by_alias=True)

    @app.get("/admin")
    @roles_required("pika:content-admin")
    def admin(): ...

It reads like ``authplug.starlette``'s ``current_user`` / ``requires`` for
FastAPI: without a user a protected view answers 401, a user who does not
qualify gets 403. This is the only core module that imports Flask (install it
with ``pip install 'authplug[flask]'``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from flask import Flask, abort, g, request
from werkzeug.local import LocalProxy

from authplug.models import AuthenticatedUser, UserType
from authplug.requirements import Requirement
from authplug.wsgi import AuthMiddleware

if TYPE_CHECKING:
    from authplug.host import Host

__all__ = [
    "CONFIG_KEY",
    "USER_ENVIRON_KEY",
    "AuthPlug",
    "current_user",
    "login_required",
    "optional_user",
    "roles_required",
]

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_KEY = "AUTHPLUG"
"""``app.config`` key holding authplug settings (as ``authplug.load(settings=...)`` takes)."""

USER_ENVIRON_KEY = "authplug.user"
"""Where the WSGI host puts the user in the WSGI environ."""


class AuthPlug:
    """The Flask extension: authenticate every request of ``app`` through authplug.

    ``AuthPlug(app)`` or, with an application factory, ``ext = AuthPlug()``
    then ``ext.init_app(app)``. The host comes from ``host=``, else from
    ``app.config["AUTHPLUG"]`` (settings for :func:`authplug.load`), else
    from ``authplug.toml`` and the ``AUTHPLUG_*`` environment.

    :param app: The application (optional with ``init_app``).
    :param host: A loaded :class:`~authplug.host.Host` (tests, shared hosts).
    """

    def __init__(self, app: Flask | None = None, *, host: Host | None = None) -> None:
        self.host = host
        self.middleware: AuthMiddleware | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app`` with the WSGI host and register the extension.

        :raises ConfigError: the configuration is invalid.
        :raises PluginLoadError: the provider cannot be loaded.
        """
        host = self.host
        if host is None:
            import authplug

            settings = app.config.get(CONFIG_KEY)
            if settings is not None and not isinstance(settings, Mapping):
                raise TypeError(f"app.config[{CONFIG_KEY!r}] must be a mapping of settings")
            host = authplug.load(settings=settings)
            self.host = host
        middleware = AuthMiddleware(app.wsgi_app, host=host)
        self.middleware = middleware
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions["authplug"] = self
        app.before_request(_attach_user)

    def close(self) -> None:
        """Stop the WSGI host's background loop (call at shutdown)."""
        if self.middleware is not None:
            self.middleware.close()


def _attach_user() -> None:
    g.authplug_user = optional_user()


def optional_user() -> AuthenticatedUser[Any, Any] | None:
    """The signed-in user of the current request, or ``None`` (a public path)."""
    user = request.environ.get(USER_ENVIRON_KEY)
    return user if isinstance(user, AuthenticatedUser) else None


def _current_user() -> AuthenticatedUser[Any, Any] | None:
    return optional_user()


current_user = cast("AuthenticatedUser[Any, Any]", LocalProxy(_current_user))
"""The signed-in user of the current request (a proxy; falsy on a public path)."""


def login_required(view: F) -> F:
    """Decorate a view: 401 when the request has no signed-in user."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if optional_user() is None:
            abort(401, description="not_authenticated")
        return view(*args, **kwargs)

    return cast("F", wrapper)


def roles_required(
    *roles: str,
    user_types: Sequence[UserType] = (),
    mode: Literal["any", "all"] = "any",
) -> Callable[[F], F]:
    """Decorate a view: 401 without a user, 403 when the user does not qualify.

    :param roles: Role names (``"pika:content-admin"``).
    :param user_types: ``"internal-user"``/``"external-user"``.
    :param mode: ``"any"`` (default): one role or one user type suffices;
        ``"all"``: every role and one of the user types.
    """
    requirement = Requirement(roles, user_types, mode)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = optional_user()
            if user is None:
                abort(401, description="not_authenticated")
            if not requirement.allows(user):
                abort(403, description="forbidden")
            return view(*args, **kwargs)

        return cast("F", wrapper)

    return decorate

"""Django integration: a middleware, a ``request.user``-compatible user, view decorators.

A thin layer over the WSGI host (:class:`authplug.wsgi.AuthMiddleware`): the
middleware hands each request's WSGI environ to the host, which answers
``/auth/*`` routes, login redirects and 401s itself and otherwise lets the
request through to Django with the user attached::

    # settings.py
    MIDDLEWARE = [
        ...,
        "authplug.django.AuthPlugMiddleware",  # after AuthenticationMiddleware, if any
    ]
    AUTHPLUG = {"provider": "mock", "store": "memory"}  # optional: else authplug.toml + AUTHPLUG_*

    # views.py
    from authplug.django import login_required, roles_required

    @roles_required("pika:content-admin")
    def admin(request):
        return JsonResponse({"hello": request.authplug_user.user_id})

``request.authplug_user`` is the :class:`~authplug.models.AuthenticatedUser`
(``None`` on a public path); ``request.user`` is an :class:`AuthPlugUser`
wrapper with ``is_authenticated``, ``username``, ``get_full_name()`` and
``has_role()``, or an :class:`AnonymousAuthPlugUser` on a public path.
Decorated views answer 401 without a user and 403 when the user does not
qualify, like ``authplug.starlette``'s ``requires`` for FastAPI.

This is the only core module that imports Django (install it with
``pip install 'authplug[django]'``); it needs no Django app in
``INSTALLED_APPS``, no database and no ``django.contrib.auth``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from authplug.models import AuthenticatedUser, UserType
from authplug.requirements import Requirement
from authplug.wsgi import AuthMiddleware

if TYPE_CHECKING:
    from authplug.host import Host

__all__ = [
    "SETTINGS_NAME",
    "AnonymousAuthPlugUser",
    "AuthPlugMiddleware",
    "AuthPlugUser",
    "login_required",
    "roles_required",
]

F = TypeVar("F", bound=Callable[..., Any])

SETTINGS_NAME = "AUTHPLUG"
"""The Django setting holding authplug settings (as ``authplug.load(settings=...)`` takes)."""

_USER_KEY = "authplug.user"


class AuthPlugUser:
    """A ``request.user``-compatible view of an :class:`AuthenticatedUser`.

    Attributes:
        user: The authplug user.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, user: AuthenticatedUser[Any, Any]) -> None:
        self.user = user

    @property
    def pk(self) -> str:
        """The user id (Django code often reads ``pk`` or ``id``)."""
        return self.user.user_id

    id = pk
    username = pk

    @property
    def first_name(self) -> str:
        """Given name."""
        return self.user.first_name

    @property
    def last_name(self) -> str:
        """Family name."""
        return self.user.last_name

    @property
    def roles(self) -> Sequence[str]:
        """Role names the user holds."""
        return self.user.roles

    @property
    def user_type(self) -> UserType:
        """``"internal-user"`` or ``"external-user"``."""
        return self.user.user_type

    def get_username(self) -> str:
        """The user id, as Django's ``AbstractBaseUser.get_username``."""
        return self.user.user_id

    def get_full_name(self) -> str:
        """``"First Last"``, or the user id when both are empty."""
        return f"{self.user.first_name} {self.user.last_name}".strip() or self.user.user_id

    def get_short_name(self) -> str:
        """The given name, or the user id."""
        return self.user.first_name or self.user.user_id

    def has_role(self, role: str) -> bool:
        """Whether the user holds ``role``."""
        return role in self.user.roles

    def __str__(self) -> str:
        return self.user.user_id

    def __repr__(self) -> str:
        return f"<AuthPlugUser {self.user.user_id!r}>"


class AnonymousAuthPlugUser:
    """``request.user`` on a public path: not authenticated, holds no roles."""

    is_authenticated = False
    is_anonymous = True
    is_active = False
    pk = id = None
    username = ""
    first_name = ""
    last_name = ""
    roles: Sequence[str] = ()

    def get_username(self) -> str:
        """The empty string, as Django's ``AnonymousUser``."""
        return ""

    def has_role(self, role: str) -> bool:
        """Always ``False``."""
        return False

    def __str__(self) -> str:
        return "AnonymousUser"


def _load_host() -> Host:
    import authplug

    configured = getattr(django_settings, SETTINGS_NAME, None)
    if configured is not None and not isinstance(configured, Mapping):
        raise TypeError(f"settings.{SETTINGS_NAME} must be a mapping of settings")
    return authplug.load(settings=configured)


class AuthPlugMiddleware:
    """Django middleware running every request through the authplug WSGI host.

    The host is built once per middleware instance from ``settings.AUTHPLUG``
    (else ``authplug.toml`` and ``AUTHPLUG_*``), or given as ``host=``.

    :param get_response: The next handler (Django passes it).
    :param host: A loaded host (tests, shared hosts).
    """

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase], host: Host | None = None
    ) -> None:
        self.get_response = get_response
        self.host = host if host is not None else _load_host()
        self.wsgi = AuthMiddleware(self._through, host=self.host)

    def close(self) -> None:
        """Stop the WSGI host's background loop."""
        self.wsgi.close()

    @staticmethod
    def _through(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI 'application' behind the host: it only marks that the request went through."""
        environ["authplug.django.passed"] = True
        start_response("200 OK", [])
        return []

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Authenticate ``request``; answer for the host, or call the view with the user."""
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        environ = dict(request.META)
        if request.path_info.startswith("/auth/"):
            # The host reads /auth/* bodies (logout's form) from the WSGI stream; hand it
            # Django's copy so the request works under ASGI too and Django can still read it.
            environ["wsgi.input"] = io.BytesIO(request.body)
            environ["CONTENT_LENGTH"] = str(len(request.body))
        body = b"".join(self.wsgi(environ, start_response))
        headers: list[tuple[str, str]] = captured.get("headers", [])
        if not environ.get("authplug.django.passed"):
            return _host_response(
                captured.get("status", "500 Internal Server Error"), headers, body
            )
        user = environ.get(_USER_KEY)
        authplug_user = user if isinstance(user, AuthenticatedUser) else None
        request.authplug_user = authplug_user
        request.user = (
            AuthPlugUser(authplug_user) if authplug_user is not None else AnonymousAuthPlugUser()
        )
        response = self.get_response(request)
        _add_cookies(response, headers)
        return response


def _add_cookies(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> None:
    """Copy the host's ``Set-Cookie`` headers onto a Django response."""
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                response.cookies[key] = morsel


def _host_response(status: str, headers: Iterable[tuple[str, str]], body: bytes) -> HttpResponse:
    """A Django response carrying what the host answered (redirect, 401, auth route)."""
    code = int(status.split(" ", 1)[0])
    response = HttpResponse(body, status=code)
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            _add_cookies(response, [(name, value)])
        elif lower != "content-length":
            response[name] = value
    return response


def _unauthenticated() -> HttpResponse:
    return JsonResponse({"error": "not_authenticated"}, status=401)


def _user_of(request: HttpRequest) -> AuthenticatedUser[Any, Any] | None:
    user = getattr(request, "authplug_user", None)
    return user if isinstance(user, AuthenticatedUser) else None


def login_required(view: F) -> F:
    """Decorate a view: 401 JSON when the request has no signed-in user."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if _user_of(request) is None:
            return _unauthenticated()
        return view(request, *args, **kwargs)

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
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = _user_of(request)
            if user is None:
                return _unauthenticated()
            if not requirement.allows(user):
                return JsonResponse({"error": "forbidden"}, status=403)
            return view(request, *args, **kwargs)

        return cast("F", wrapper)

    return decorate

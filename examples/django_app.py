"""authplug on Django: the same small app as ``fastapi_app.py``, in one file.

Run it (mock provider, users kept in memory)::

    pip install 'authplug[django]' authplug-mock
    python examples/django_app.py runserver 127.0.0.1:8000

A real project puts :data:`DJANGO_SETTINGS` in its ``settings.py``: the
middleware ``authplug.django.AuthPlugMiddleware`` runs every request through
authplug and sets ``request.authplug_user`` and ``request.user``; views guard
themselves with ``login_required`` / ``roles_required``.
"""

from __future__ import annotations

import html
import secrets
import sys
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from authplug.django import login_required, roles_required

ACCESS = [{"path": "/admin", "roles": ["pika:content-admin"]}]
"""``/admin`` needs the ``pika:content-admin`` role (everyone else gets 403)."""

DJANGO_SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": secrets.token_urlsafe(48),  # a real project reads its own from the environment
    "ROOT_URLCONF": __name__,
    "ALLOWED_HOSTS": ["127.0.0.1", "localhost", "testserver"],
    "MIDDLEWARE": ["authplug.django.AuthPlugMiddleware"],
    "AUTHPLUG": {"provider": "mock", "store": "memory", "access": ACCESS},
}
"""What this app needs in Django's settings (no database, no django.contrib.auth)."""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Greet the signed-in user (``request.user`` works as in any Django app)."""
    name = html.escape(request.user.get_full_name())
    kind = html.escape(request.authplug_user.user_type)  # type: ignore[attr-defined]
    return HttpResponse(
        f"<p>Hello {name} ({kind}).</p>"
        '<p><a href="/api/me">/api/me</a> | <a href="/admin">admin</a> | '
        '<a href="/auth/logout">sign out</a></p>'
    )


@login_required
def me(request: HttpRequest) -> JsonResponse:
    """The tool view of the signed-in user, as JSON."""
    user = request.authplug_user  # type: ignore[attr-defined]
    return JsonResponse(user.tool_view().model_dump(mode="json", by_alias=True))


@roles_required("pika:content-admin")
def admin(request: HttpRequest) -> JsonResponse:
    """Only for ``pika:content-admin`` (the access rule and the decorator both say so)."""
    return JsonResponse({"message": f"welcome, {request.user.username}"})


urlpatterns = [path("", home), path("api/me", me), path("admin", admin)]


def configure() -> None:
    """Configure Django with :data:`DJANGO_SETTINGS` (once per process)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**DJANGO_SETTINGS)
        django.setup()


def application() -> Any:
    """The WSGI application (what a server such as gunicorn serves)."""
    from django.core.wsgi import get_wsgi_application

    configure()
    return get_wsgi_application()


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    configure()
    execute_from_command_line(sys.argv)

"""authplug on Flask (WSGI): the same small app as ``fastapi_app.py``.

Run it (mock provider, users kept in memory)::

    pip install authplug authplug-mock flask
    python examples/flask_app.py          # http://127.0.0.1:8000

The WSGI middleware wraps ``app.wsgi_app`` and puts the signed-in user in
``request.environ["authplug.user"]``.
"""

from __future__ import annotations

import html
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

import authplug
from authplug.host import Host
from authplug.models import AuthenticatedUser
from authplug.wsgi import AuthMiddleware

ACCESS = [{"path": "/admin", "roles": ["pika:content-admin"]}]
"""``/admin`` needs the ``pika:content-admin`` role (everyone else gets 403)."""


def load_host() -> Host:
    """The mock provider with an in-memory user store and the ``/admin`` rule."""
    return authplug.load(provider="mock", settings={"store": "memory", "access": ACCESS})


def current_user() -> AuthenticatedUser[Any, Any]:
    """The user the middleware attached to this request."""
    user: AuthenticatedUser[Any, Any] = request.environ["authplug.user"]
    return user


def create_app(host: Host | None = None) -> Flask:
    """Build the app; ``host`` defaults to :func:`load_host`.

    The middleware is kept in ``app.extensions["authplug"]``; call its
    ``close()`` at shutdown to stop its background event loop.
    """
    app = Flask(__name__)

    @app.get("/")
    def home() -> ResponseReturnValue:
        user = current_user()
        name = html.escape(f"{user.first_name} {user.last_name}".strip() or user.user_id)
        return (
            f"<p>Hello {name} ({html.escape(user.user_type)}).</p>"
            '<p><a href="/api/me">/api/me</a> | <a href="/admin">admin</a> | '
            '<a href="/auth/logout">sign out</a></p>'
        )

    @app.get("/api/me")
    def me() -> ResponseReturnValue:
        return jsonify(current_user().tool_view().model_dump(mode="json", by_alias=True))

    @app.get("/admin")
    def admin() -> ResponseReturnValue:
        return jsonify(message=f"welcome, {current_user().user_id}")

    middleware = AuthMiddleware(app.wsgi_app, host=host if host is not None else load_host())
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions["authplug"] = middleware
    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000)

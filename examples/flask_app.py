"""authplug on Flask: the same small app as ``fastapi_app.py``, with ``authplug.flask``.

Run it (mock provider, users kept in memory)::

    pip install 'authplug[flask]' authplug-mock
    python examples/flask_app.py          # http://127.0.0.1:8000

``AuthPlug(app)`` wraps the app with the WSGI host; views read
``current_user`` (also in ``g.authplug_user``) and guard themselves with
``login_required`` / ``roles_required``.
"""

from __future__ import annotations

import html

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue

from authplug.flask import AuthPlug, current_user, login_required, roles_required
from authplug.host import Host

ACCESS = [{"path": "/admin", "roles": ["pika:content-admin"]}]
"""``/admin`` needs the ``pika:content-admin`` role (everyone else gets 403)."""

SETTINGS = {"provider": "mock", "store": "memory", "access": ACCESS}
"""The mock provider with an in-memory user store and the ``/admin`` rule."""


def create_app(host: Host | None = None) -> Flask:
    """Build the app; ``host`` defaults to one loaded from :data:`SETTINGS`.

    The extension is kept in ``app.extensions["authplug"]``; call its
    ``close()`` at shutdown to stop the WSGI host's background event loop.
    """
    app = Flask(__name__)
    app.config["AUTHPLUG"] = SETTINGS
    AuthPlug(app, host=host)

    @app.get("/")
    @login_required
    def home() -> ResponseReturnValue:
        name = html.escape(
            f"{current_user.first_name} {current_user.last_name}".strip() or current_user.user_id
        )
        return (
            f"<p>Hello {name} ({html.escape(current_user.user_type)}).</p>"
            '<p><a href="/api/me">/api/me</a> | <a href="/admin">admin</a> | '
            '<a href="/auth/logout">sign out</a></p>'
        )

    @app.get("/api/me")
    @login_required
    def me() -> ResponseReturnValue:
        return jsonify(current_user.tool_view().model_dump(mode="json", by_alias=True))

    @app.get("/admin")
    @roles_required("pika:content-admin")
    def admin() -> ResponseReturnValue:
        return jsonify(message=f"welcome, {g.authplug_user.user_id}")

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000)

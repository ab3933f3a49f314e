"""authplug on FastAPI: the smallest useful app.

Run it (mock provider, users kept in memory)::

    pip install "authplug[demo]" authplug-mock fastapi
    python examples/fastapi_app.py        # http://127.0.0.1:8000

Switching to real sign-in is configuration, not code: install a provider
(``pip install authplug-oauth``), set ``provider = "oauth"`` and its settings
in ``authplug.toml``, and drop the ``provider="mock"`` argument below.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

import authplug
from authplug.asgi import AuthMiddleware
from authplug.host import Host
from authplug.models import AuthenticatedUser
from authplug.starlette import current_user

ACCESS = [{"path": "/admin", "roles": ["pika:content-admin"]}]
"""``/admin`` needs the ``pika:content-admin`` role (everyone else gets 403)."""


def load_host() -> Host:
    """The mock provider with an in-memory user store and the ``/admin`` rule."""
    return authplug.load(provider="mock", settings={"store": "memory", "access": ACCESS})


def create_app(host: Host | None = None) -> FastAPI:
    """Build the app; ``host`` defaults to :func:`load_host`."""
    app = FastAPI(title="authplug + FastAPI")

    @app.get("/", response_class=HTMLResponse)
    def home(user: AuthenticatedUser[Any, Any] = Depends(current_user)) -> str:  # noqa: B008
        import html

        name = html.escape(f"{user.first_name} {user.last_name}".strip() or user.user_id)
        return (
            f"<p>Hello {name} ({html.escape(user.user_type)}).</p>"
            '<p><a href="/api/me">/api/me</a> | <a href="/admin">admin</a> | '
            '<a href="/auth/logout">sign out</a></p>'
        )

    @app.get("/api/me")
    def me(user: AuthenticatedUser[Any, Any] = Depends(current_user)) -> dict[str, Any]:  # noqa: B008
        return user.tool_view().model_dump(mode="json", by_alias=True)

    @app.get("/admin")
    def admin(user: AuthenticatedUser[Any, Any] = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"message": f"welcome, {user.user_id}"}

    app.add_middleware(AuthMiddleware, host=host if host is not None else load_host())
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)

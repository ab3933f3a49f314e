"""The demo application: three pages and a JSON endpoint behind ``AuthMiddleware``."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.demo.pages import admin_page, home_page
from authplug.host import Host
from authplug.models import AuthenticatedUser

__all__ = ["DEFAULT_DATA_DIR", "DEMO_ACCESS", "create_app", "demo_host"]

DEFAULT_DATA_DIR = Path(".authplug-demo")
"""Where the demo keeps its SQLite user database (relative to the working directory)."""

DEMO_ACCESS: list[dict[str, Any]] = [{"path": "/admin", "roles": ["pika:content-admin"]}]
"""The demo's access rules: ``/admin`` needs ``pika:content-admin``."""


def demo_host(data_dir: Path | None = None) -> Host:
    """Load the demo's host: the configured provider, a SQLite store, ``/admin`` guarded.

    The provider is the configured one (``AUTHPLUG_PROVIDER`` or
    ``provider`` in ``authplug.toml``), which defaults to ``mock``: set
    ``AUTHPLUG_PROVIDER=oauth`` with the ``AUTHPLUG_OAUTH__*`` settings (or
    ``saml`` with its settings) and the demo signs in through that identity
    provider. ``authplug.toml`` and ``AUTHPLUG_*`` also apply to everything
    else (cookie keys, timeouts, coordination); the access rule and the
    store win over them, except that ``AUTHPLUG_STORE`` (e.g. ``postgres``,
    to run the demo on many workers) keeps the store it names.

    :raises ConfigError: e.g. ``AUTHPLUG_ENV=production``, which refuses the mock.
    :raises PluginLoadError: the configured provider (by default
        ``authplug-mock``) is not installed.
    """
    import authplug

    settings: dict[str, Any] = {"access": DEMO_ACCESS}
    if "AUTHPLUG_STORE" not in os.environ:
        directory = DEFAULT_DATA_DIR if data_dir is None else data_dir
        directory.mkdir(parents=True, exist_ok=True)
        settings["store"] = "sqlite"
        settings["store_options"] = {"path": str(directory / "users.sqlite3")}
    return authplug.load(settings=settings)


def _user(request: Request) -> AuthenticatedUser[Any, Any]:
    user: AuthenticatedUser[Any, Any] = request.scope["authplug.user"]
    return user


def _cookie_size(host: Host, request: Request) -> int | None:
    read = host.sessions.read(request.headers.raw, time.time())
    if read.session is None:
        return None
    return host.sessions.encoded_size(read.session)


def create_app(host: Host | None = None, *, data_dir: Path | None = None) -> Starlette:
    """Build the demo app.

    :param host: A loaded host; ``None`` loads :func:`demo_host` (and closes
        it when the app shuts down).
    :param data_dir: Where :func:`demo_host` keeps its database (default
        ``./.authplug-demo``); unused when ``host`` is given.
    """
    owned = host is None
    the_host = demo_host(data_dir) if host is None else host

    async def home(request: Request) -> Response:
        user = _user(request)
        record = await run_in_threadpool(the_host.store.get, user.user_id)
        return HTMLResponse(
            home_page(
                user,
                record=record,
                cookie_size=_cookie_size(the_host, request),
                cookie_budget=the_host.sessions.cookie_budget,
                provider=the_host.provider_name,
            )
        )

    async def admin(request: Request) -> Response:
        return HTMLResponse(admin_page(_user(request)))

    async def me(request: Request) -> Response:
        return JSONResponse(_user(request).tool_view().model_dump(mode="json", by_alias=True))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                the_host.close()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/admin", admin),
            Route("/api/me", me),
        ],
        middleware=[Middleware(AuthMiddleware, host=the_host)],
        lifespan=lifespan,
    )
    app.state.provider_name = the_host.provider_name
    return app

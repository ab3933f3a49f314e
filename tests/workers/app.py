"""The application the many-workers tests run under ``uvicorn --workers N --factory``.

A Starlette app behind :class:`authplug.asgi.AuthMiddleware`, configured from
``AUTHPLUG_*`` variables like any deployment, with one test-only difference:
its provider is the mock provider wrapped so that every refresh — the call
that would reach the identity provider — is counted in a file shared by all
processes (``COUNTING_IDP_FILE``, one line per refresh: ``pid``). While the
file named by ``COUNTING_IDP_HOLD`` exists a refresh waits (bounded), so a
test can kill the lease holder in the middle of its refresh.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.coordination import open_coordination
from authplug.host import PluginInfo, build_host
from authplug.loader import load_config
from authplug.stores.base import UserStore
from authplug_mock.provider import MockProvider
from authplug_mock.settings import MockSettings
from authplug_mock.users import MockSessionUser

HOLD_LIMIT = 60.0


def _count_refresh() -> None:
    with open(os.environ["COUNTING_IDP_FILE"], "a", encoding="ascii") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)
        counter.write(f"{os.getpid()}\n")
        counter.flush()


class CountingMock(MockProvider):
    """The mock provider whose refreshes are counted across processes (test only)."""

    async def refresh(self, user: MockSessionUser) -> MockSessionUser:  # type: ignore[override]
        _count_refresh()
        hold = Path(os.environ.get("COUNTING_IDP_HOLD", "/nonexistent"))
        deadline = time.monotonic() + HOLD_LIMIT
        while hold.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(float(os.environ.get("COUNTING_IDP_DELAY", "0.3")))
        return super().refresh(user)


def _store(name: str, options: dict[str, Any]) -> UserStore:
    if name == "postgres":
        from authplug.stores.postgres import PostgresUserStore

        return PostgresUserStore(**options)
    from authplug.stores.sqlite import SqliteUserStore

    return SqliteUserStore(**options)


async def whoami(request: Request) -> JSONResponse:
    user = request.scope["authplug.user"]
    return JSONResponse({"user": user.user_id, "pid": os.getpid()})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


def create_app() -> Any:
    """Build the app from the environment (called in each worker)."""
    config, _ = load_config(provider="mock")
    host = build_host(
        CountingMock(MockSettings(token_lifetime=300, refresh_token_lifetime=3600)),
        config,
        provider_info=PluginInfo(name="mock"),
        store=_store(config.store, dict(config.store_options)),
        coordination=open_coordination(config.coordination, dict(config.coordination_options)),
    )
    app = Starlette(routes=[Route("/whoami", whoami), Route("/health", health)])
    return AuthMiddleware(app, host=host)

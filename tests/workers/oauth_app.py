"""The application the OAuth refresh-storm tests run under ``uvicorn --workers N --factory``.

Nothing test-only: :func:`authplug.load` builds the host from ``AUTHPLUG_*``
variables alone (``provider = "oauth"`` against ``oidc-provider``, the
PostgreSQL store and the configured coordination backend), as a deployment
would. The identity provider itself counts the refresh grants it answers.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import authplug
from authplug.asgi import AuthMiddleware


async def whoami(request: Request) -> JSONResponse:
    user = request.scope["authplug.user"]
    return JSONResponse({"user": user.user_id, "pid": os.getpid()})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


def create_app() -> Any:
    """Build the app from the environment (called in each worker)."""
    app = Starlette(routes=[Route("/whoami", whoami), Route("/health", health)])
    return AuthMiddleware(app, host=authplug.load())

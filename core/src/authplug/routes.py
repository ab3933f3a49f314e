"""Provider endpoints under ``/auth/``.

A provider answers ``authplug_routes`` with :class:`Route` objects. The host
dispatches ``/auth/*`` requests to them (never redirecting to login for those
paths) and turns the handler's :data:`~authplug.results.AuthenticateResult`
into a response: :class:`~authplug.results.Authenticated` opens the session
and redirects to the captured ``return_to``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from authplug.request import AuthRequest
from authplug.results import AuthenticateResult

__all__ = ["Route", "RouteHandler"]

RouteHandler = Callable[[AuthRequest], AuthenticateResult | Awaitable[AuthenticateResult]]
"""A route handler: plain or ``async``, taking the request, returning a result."""


@dataclass(frozen=True, slots=True)
class Route:
    """One provider endpoint.

    Attributes:
        path: Absolute path; must start with ``/auth/`` (``/auth/mock/login``).
        handler: Called with the :class:`~authplug.request.AuthRequest`.
        methods: HTTP methods it answers; others get 405.
    """

    path: str
    handler: RouteHandler
    methods: frozenset[str] = frozenset({"GET"})

    def __post_init__(self) -> None:
        if not self.path.startswith("/auth/"):
            raise ValueError(f"provider route {self.path!r} must live under /auth/")

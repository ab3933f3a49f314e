"""The bearer floor: a hand-written pure-ASGI / WSGI middleware doing python-jose.

What a developer writes instead of authplug for a bearer API: take the token
from ``Authorization: Bearer``, ``jose.jwt.decode`` it with a key prepared
once (same algorithm allow-list, issuer, audience and leeway as the
provider), and turn the claims dict into the same user model with pydantic.
The caching floor adds a dict keyed by the exact token, whose ``exp`` is
checked on every hit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from authplug.models import AuthenticatedUser, StrMap

__all__ = ["BearerAsgiFloor", "BearerWsgiFloor", "TokenUsers"]

_User = AuthenticatedUser[StrMap, StrMap]


class TokenUsers:
    """Token -> user: ``jose.jwt.decode`` + claims -> user, optionally remembered per token.

    :param decode: python-jose's decode with the prepared key and claim checks.
    :param cache: Remember users by exact token (expiry checked on every hit).
    """

    def __init__(self, decode: Callable[[str], dict[str, Any]], *, cache: bool) -> None:
        self._decode = decode
        self._cache: dict[str, tuple[Any, float]] | None = {} if cache else None

    def _user(self, token: str) -> tuple[Any, float]:
        claims = self._decode(token)
        user = _User.model_validate(
            {
                "user_id": claims["sub"],
                "first_name": claims.get("given_name", ""),
                "last_name": claims.get("family_name", ""),
                "user_type": "external-user",
                "roles": claims.get("roles", ()),
                "auth_data": {"exp": str(claims["exp"]), "iss": claims["iss"]},
            }
        )
        return user, float(claims["exp"])

    def user(self, token: str) -> Any:
        """The token's user; raises on a bad token."""
        cache = self._cache
        if cache is None:
            return self._user(token)[0]
        hit = cache.get(token)
        if hit is None:
            hit = cache[token] = self._user(token)
        if time.time() >= hit[1]:
            raise ValueError("expired")
        return hit[0]


class BearerAsgiFloor:
    """The pure-ASGI floor: the user goes to ``scope["authplug.user"]``."""

    def __init__(self, app: Any, users: TokenUsers) -> None:
        self.app = app
        self._users = users

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Authenticate the bearer token when there is one, then call the app."""
        if scope["type"] == "http":
            user = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    if value[:7].lower() == b"bearer ":
                        try:
                            user = self._users.user(value[7:].decode("latin-1"))
                        except Exception:
                            user = None
                    break
            scope["authplug.user"] = user
        await self.app(scope, receive, send)


class BearerWsgiFloor:
    """The same floor as WSGI middleware: the user goes to ``environ["authplug.user"]``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], users: TokenUsers) -> None:
        self.app = app
        self._users = users

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Authenticate the bearer token when there is one, then call the app."""
        user = None
        value = environ.get("HTTP_AUTHORIZATION")
        if value and value[:7].lower() == "bearer ":
            try:
                user = self._users.user(value[7:])
            except Exception:
                user = None
        environ["authplug.user"] = user
        return self.app(environ, start_response)

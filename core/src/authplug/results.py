"""What ``authplug_authenticate`` and provider routes return.

:data:`AuthenticateResult` is a closed union of three frozen dataclasses:

* :class:`Authenticated`: the request's user is known; the host opens a
  session (browsers) or just attaches the user (bearer providers).
* :class:`Redirect`: send the browser elsewhere (the IdP, a login page).
* :class:`ProviderResponse`: a response the provider renders itself (a login
  page, SAML metadata, an error page).

Every result carries its own cookies to set or clear, redirects included: the
reference system lost the session cookie when a provider returned a user and a
redirect together, authplug writes every cookie on every response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

from authplug.models import AnyUser

__all__ = [
    "AuthenticateResult",
    "Authenticated",
    "ProviderResponse",
    "Redirect",
    "Remembered",
    "ResponseCookie",
]

SameSite: TypeAlias = Literal["lax", "strict", "none"]


@dataclass(frozen=True, slots=True)
class ResponseCookie:
    """A cookie to set (or, with :meth:`clear`, to delete) on the response.

    Defaults are the safe ones: ``HttpOnly``, ``Secure``, ``SameSite=Lax``,
    ``Path=/``, no ``Domain``. ``max_age=None`` makes a browser-session cookie.
    ``domain`` shares the cookie with that domain's sub-domains (the core's
    session cookie with ``cookie_domain``); it must not be combined with a
    ``__Host-`` name, which browsers then drop.
    """

    name: str
    value: str
    max_age: int | None = None
    path: str = "/"
    secure: bool = True
    http_only: bool = True
    same_site: SameSite = "lax"
    domain: str | None = None

    @classmethod
    def clear(
        cls, name: str, *, path: str = "/", secure: bool = True, domain: str | None = None
    ) -> ResponseCookie:
        """A cookie that deletes ``name`` (empty value, ``Max-Age=0``)."""
        return cls(name=name, value="", max_age=0, path=path, secure=secure, domain=domain)

    def header_value(self) -> str:
        """Render the ``Set-Cookie`` header value."""
        parts = [f"{self.name}={self.value}", f"Path={self.path}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.secure:
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.same_site.capitalize()}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The user is authenticated.

    Attributes:
        user: The user, with ``auth_data`` holding any tokens to keep.
        redirect_to: Where to send a browser afterwards (a callback route
            sets it; ``None`` means the ``return_to`` captured at login start
            or the default page). Always checked to be same-origin.
        cookies: Extra cookies to set or clear, written on every response.
    """

    user: AnyUser
    redirect_to: str | None = None
    cookies: tuple[ResponseCookie, ...] = ()


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the client to ``location`` (a 302 for browsers).

    When authentication is required and the client is an API client, hosts
    answer 401 JSON instead of following this redirect.
    """

    location: str
    cookies: tuple[ResponseCookie, ...] = ()
    status: int = 302


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """A response the provider renders itself (login page, metadata, error)."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[ResponseCookie, ...] = ()


AuthenticateResult: TypeAlias = Authenticated | Redirect | ProviderResponse
"""The closed union a provider's ``authplug_authenticate`` and routes return."""


@dataclass(frozen=True, slots=True)
class Remembered:
    """A fast-path answer the host may give again without asking the provider.

    ``authplug_authenticate_fast`` returns this instead of the bare user when
    its answer depends on nothing but the values of the request headers it
    read through ``header`` and on time: the same values, byte for byte, get
    the same user while ``not_before <= now < until``. The host then keeps
    the answer (bounded, per process) and serves a request with exactly those
    header values from memory, without calling the provider; outside the
    window, or for any other value, it calls the provider again. Access rules
    are still decided on every request.

    Return it only when that holds: a verified token's answer until its
    ``exp`` (and any cache TTL of your own), never past the moment a fresh
    check would refuse it.

    Attributes:
        user: The user, as the bare answer would be.
        until: First instant (epoch seconds) the answer no longer holds.
        not_before: First instant it holds (a token's ``nbf`` minus leeway).
    """

    user: AnyUser
    until: float
    not_before: float = -math.inf

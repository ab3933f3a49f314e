"""The framework-neutral request every hook receives.

Hosts (ASGI, WSGI) build one :class:`AuthRequest` per request from the raw
scope or environ; providers never see a framework's request type, so one
provider serves Starlette, FastAPI, Flask and Django alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import parse_qsl

__all__ = ["AuthRequest", "FlowAccess", "FlowRecord", "HeaderLookup"]

HeaderLookup = Callable[[str], "str | None"]
"""A request's headers as the synchronous fast path sees them: ``header("authorization")``
returns the first header of that name (case-insensitive), decoded as latin-1, or ``None``."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One login transaction's short-lived state, read back at the callback.

    ``data`` holds what the provider stored when the login started (OAuth
    ``state``/``nonce``/PKCE verifier, a SAML request id). ``return_to`` is
    the same-origin path captured by the host when the login started.
    """

    txn_id: str
    data: Mapping[str, str]
    return_to: str | None


class FlowAccess(Protocol):
    """The login-transaction store a provider uses through ``request.flow``.

    Backed by the encrypted flow cookie; one record per transaction, so two
    tabs logging in at once both succeed; records are single-use.
    """

    def begin(self, data: Mapping[str, str], *, cross_site: bool = False) -> str:
        """Store ``data`` for a new transaction and return its id (use it as OAuth ``state``).

        :param data: What the callback needs (state, nonce, verifier, request id).
        :param cross_site: The transaction ends with a cross-site POST (a SAML
            HTTP-POST ACS, an OIDC ``response_mode=form_post`` callback): its
            cookie is ``SameSite=None; Secure`` so the browser sends it with
            that POST. Default ``False``: ``SameSite=Lax``, for callbacks that
            are top-level GET navigations. The session cookie is always Lax.
        """
        ...

    def consume(self, txn_id: str) -> FlowRecord | None:
        """Return and delete the transaction ``txn_id``; ``None`` when unknown or expired."""
        ...


@dataclass
class AuthRequest:
    """An HTTP request as authplug sees it.

    Attributes:
        method: Upper-case HTTP method.
        path: Decoded URL path, always starting with ``/``.
        query_string: Raw query string bytes (without ``?``).
        headers: Header pairs as raw bytes, names lower-cased (ASGI style).
        scheme: ``"http"`` or ``"https"`` as the host saw it.
        body: The request body; read by hosts only for ``/auth/*`` routes.
        flow: Login-transaction state (set by the host on ``/auth/*`` routes).
        state: Free-form per-request storage for plugins.
        root_path: The prefix the application is mounted under (ASGI
            ``root_path``, WSGI ``SCRIPT_NAME``), without a trailing ``/``;
            ``""`` at the server's root. ``path`` excludes it (paths are
            matched inside the application); URLs sent to the browser include
            it.
        client: The address of the peer that opened the connection, as the
            server reports it (ASGI ``scope["client"]``, WSGI
            ``REMOTE_ADDR``), or ``None`` when the server does not say.
            Forwarding headers (``X-Forwarded-For``) are not applied: they
            are request data anyone can send.
    """

    method: str
    path: str
    query_string: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = ()
    scheme: str = "http"
    body: bytes = b""
    flow: FlowAccess | None = None
    state: dict[str, Any] = field(default_factory=dict)
    root_path: str = ""
    client: str | None = None

    def header(self, name: str) -> str | None:
        """Return the first header called ``name`` (case-insensitive), decoded as latin-1.

        HTTP header values are bytes; latin-1 maps each byte to one character,
        so nothing is lost and nothing fails. A header that carries UTF-8 (a
        proxy's ``X-Forwarded-User: José``) reads back as
        ``value.encode("latin-1").decode("utf-8")``.
        """
        key = name.lower().encode("latin-1")
        for k, v in self.headers:
            if k == key:
                return v.decode("latin-1")
        return None

    @cached_property
    def query(self) -> Mapping[str, str]:
        """Query parameters; for a repeated name the first value wins."""
        result: dict[str, str] = {}
        for k, v in parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True):
            result.setdefault(k, v)
        return result

    @cached_property
    def form(self) -> Mapping[str, str]:
        """URL-encoded form fields of the body; for a repeated name the first value wins."""
        content_type = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return {}
        result: dict[str, str] = {}
        for k, v in parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
            result.setdefault(k, v)
        return result

    @cached_property
    def cookies(self) -> Mapping[str, str]:
        """Cookies sent with the request (all ``Cookie`` headers joined)."""
        jar: SimpleCookie = SimpleCookie()
        for k, v in self.headers:
            if k == b"cookie":
                try:
                    jar.load(v.decode("latin-1"))
                except Exception:  # noqa: S112 - a malformed Cookie header is "no cookies"
                    continue
        return {name: morsel.value for name, morsel in jar.items()}

    @property
    def host(self) -> str:
        """The ``Host`` header, or ``""``."""
        return self.header("host") or ""

    @property
    def wants_json(self) -> bool:
        """Whether the client is an API client (JSON, XHR or bearer) rather than a browser."""
        accept = (self.header("accept") or "").lower()
        if "application/json" in accept and "text/html" not in accept:
            return True
        if (self.header("x-requested-with") or "").lower() == "xmlhttprequest":
            return True
        return (self.header("authorization") or "")[:7].lower() == "bearer "

    @property
    def full_path(self) -> str:
        """The path with its query string, as a same-origin ``return_to`` candidate."""
        if self.query_string:
            return f"{self.path}?{self.query_string.decode('latin-1')}"
        return self.path

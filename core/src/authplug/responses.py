"""The answers the lifecycle gives: :class:`Proceed`, :class:`Respond` and their builders.

Hosts turn these into ASGI messages or a WSGI ``start_response`` call; this
module does no I/O. Everything a browser or an API client can see from
authplug itself is built here:

* HTML pages (:func:`page` + :func:`html_response`) carry ``no-store``,
  ``nosniff``, ``X-Frame-Options: DENY`` and a ``default-src 'none'`` CSP;
* JSON errors (:func:`json_response`) carry ``no-store`` and ``nosniff``;
* redirects (:func:`redirect`) refuse control characters in the location
  (header injection) and percent-encode non-ASCII;
* error statuses (401, 403, 405, 413, 431, 503, 500) come from
  :class:`StatusResponses`: JSON for API clients, a small page for browsers,
  never echoing the request or an exception's text.

Mounted applications (ASGI ``root_path``, WSGI ``SCRIPT_NAME``):
:func:`mount_prefix` sanitises the prefix a host reports and
:func:`app_location` adds it to application-relative paths (a provider's
``/auth/...`` redirect, ``default_redirect``), so the browser is sent to the
URL it can actually reach.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authplug.debug import NULL_TRACER, Tracer
from authplug.errors import (
    AuthplugError,
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderError,
    ProviderUnavailableError,
)
from authplug.incidents import report_failure
from authplug.models import AuthenticatedUser
from authplug.redaction import summarize_user
from authplug.request import AuthRequest
from authplug.results import ProviderResponse, ResponseCookie
from authplug.return_to import safe_return_to

__all__ = [
    "HTML_HEADERS",
    "JSON_HEADERS",
    "Outcome",
    "Proceed",
    "Respond",
    "StatusResponses",
    "app_location",
    "describe",
    "header_safe",
    "html_response",
    "is_bearer",
    "json_response",
    "merge_cookies",
    "mount_prefix",
    "page",
    "provider_response",
    "redirect",
]

_log = logging.getLogger("authplug.lifecycle")

HTML_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ),
)
"""Headers of every HTML page authplug renders (no caching, no framing, no scripts)."""

JSON_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
)
"""Headers of every JSON error authplug answers."""

_REDIRECT_HEADERS: tuple[tuple[str, str], ...] = (("cache-control", "no-store"),)


@dataclass(frozen=True, slots=True)
class Proceed:
    """Call the application with ``user`` attached, appending ``cookies`` to its response."""

    user: AuthenticatedUser[Any, Any]
    cookies: tuple[ResponseCookie, ...] = ()


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer the request without calling the application.

    Attributes:
        status: HTTP status.
        headers: Header pairs (``content-type`` and ``location`` included),
            names lower-case.
        body: The body bytes.
        cookies: ``Set-Cookie`` values to add.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    cookies: tuple[ResponseCookie, ...] = ()


Outcome = Proceed | Respond
"""What :meth:`authplug.lifecycle.Lifecycle.protect` decides."""


# -- small builders -------------------------------------------------------------


def merge_cookies(*groups: Iterable[ResponseCookie]) -> tuple[ResponseCookie, ...]:
    """Concatenate cookie groups; a later cookie with the same name and path replaces an earlier."""
    merged: dict[tuple[str, str], ResponseCookie] = {}
    for group in groups:
        for cookie in group:
            key = (cookie.name, cookie.path)
            merged.pop(key, None)
            merged[key] = cookie
    return tuple(merged.values())


def is_bearer(request: AuthRequest) -> bool:
    """Whether the request carries ``Authorization: Bearer ...``."""
    return (request.header("authorization") or "")[:7].lower() == "bearer "


def page(title: str, text: str, extra: str = "") -> bytes:
    """A tiny self-contained HTML page; ``title`` and ``text`` are escaped, ``extra`` is not."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</body></html>"
    ).encode()


def json_response(
    status: int,
    payload: Mapping[str, object],
    cookies: Sequence[ResponseCookie] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> Respond:
    """A compact JSON answer with :data:`JSON_HEADERS` plus ``headers``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Respond(status, (*JSON_HEADERS, *headers), body, tuple(cookies))


def html_response(
    status: int,
    body: bytes,
    cookies: Sequence[ResponseCookie] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> Respond:
    """An HTML answer with :data:`HTML_HEADERS` plus ``headers``."""
    return Respond(status, (*HTML_HEADERS, *headers), body, tuple(cookies))


def header_safe(value: str) -> bool:
    """No control characters (header injection) in a header name or value."""
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def redirect(location: str, cookies: Sequence[ResponseCookie], status: int = 302) -> Respond:
    """A redirect to ``location`` (a status outside 3xx becomes 302).

    :raises AuthplugError: ``bad_redirect`` when the location contains
        control characters; non-ASCII is percent-encoded.
    """
    if not header_safe(location):
        raise AuthplugError("a redirect location contains control characters", code="bad_redirect")
    if not location.isascii():
        location = quote(location, safe=":/?#[]@!$&'()*+,;=%-._~")
    if not 300 <= status <= 399:
        status = 302
    return Respond(status, (("location", location), *_REDIRECT_HEADERS), b"", tuple(cookies))


def provider_response(result: ProviderResponse, cookies: Sequence[ResponseCookie]) -> Respond:
    """A provider-rendered page, minus ``Set-Cookie`` and unsafe headers, plus ``cookies``."""
    headers = tuple(
        (k.lower(), v)
        for k, v in result.headers
        if k.lower() != "set-cookie" and header_safe(k) and header_safe(v)
    )
    if not any(k == "content-type" for k, _ in headers):
        headers = (("content-type", result.content_type), *headers)
    return Respond(result.status, headers, result.body, tuple(cookies))


def describe(outcome: Outcome) -> str:
    """A secret-free one-line summary of an outcome, for debug traces."""
    if isinstance(outcome, Proceed):
        return f"proceed {summarize_user(outcome.user)} ({len(outcome.cookies)} cookies)"
    return f"respond {outcome.status} ({len(outcome.cookies)} cookies)"


# -- mounted applications ---------------------------------------------------------


def mount_prefix(raw: str) -> str:
    """The mount prefix a host reports (``root_path``/``SCRIPT_NAME``), or ``""``.

    Trailing slashes are dropped; a prefix that is not a safe same-origin
    path (``//evil.example``, control characters, backslashes) is ignored, so
    a misconfigured proxy cannot turn every redirect into an open redirect.
    """
    prefix = raw.rstrip("/")
    if not prefix:
        return ""
    if safe_return_to(quote(prefix, safe="/:@!$&'()*+,;=-._~%")) is None:
        return ""
    return prefix


def app_location(root_path: str, location: str) -> str:
    """``location`` as the browser must see it: an application path gets the mount prefix.

    Paths given by the application's side (a provider's ``Redirect`` to
    ``/auth/...``, ``default_redirect``, the logout form's action) are relative
    to the application's root; absolute URLs are returned unchanged.
    """
    if root_path and location.startswith("/") and not location.startswith(("//", "/\\")):
        return root_path + location
    return location


# -- error statuses ------------------------------------------------------------------


class StatusResponses:
    """The error answers of one host: JSON for API clients, a small page for browsers.

    Process-wide and stateless per request: :func:`~authplug.host.build_host`
    creates one per host.

    :param tracer: Debug tracer.
    :param challenge: The provider's declared ``WWW-Authenticate`` challenge
        (``authplug_challenge``), sent with 401s to API clients; ``None``
        for none.
    """

    __slots__ = ("_challenge", "_tracer")

    def __init__(self, tracer: Tracer = NULL_TRACER, *, challenge: str | None = None) -> None:
        self._tracer = tracer
        self._challenge = challenge if challenge is None or header_safe(challenge) else None

    @property
    def challenge(self) -> str | None:
        """The declared challenge (``None``: the provider declared none)."""
        return self._challenge

    def status(
        self,
        request: AuthRequest,
        status: int,
        code: str,
        title: str,
        text: str,
        headers: Sequence[tuple[str, str]] = (),
        cookies: Sequence[ResponseCookie] = (),
    ) -> Respond:
        """A JSON error ``{"error": code, "message": text}`` or an HTML page titled ``title``."""
        if request.wants_json:
            return json_response(status, {"error": code, "message": text}, cookies, headers)
        return html_response(status, page(title, text), cookies, headers)

    def method_not_allowed(self, request: AuthRequest, allow: str, text: str) -> Respond:
        """405 with ``Allow: allow``."""
        return self.status(
            request, 405, "method_not_allowed", "Method not allowed", text, (("allow", allow),)
        )

    def not_found(self, request: AuthRequest) -> Respond:
        """404: an ``/auth/*`` path no route serves."""
        return self.status(request, 404, "not_found", "Not found", "No such page.")

    def body_too_large(self, request: AuthRequest) -> Respond:
        """413: an ``/auth/*`` request body over :data:`MAX_AUTH_BODY` (declared or read).

        Both hosts apply one rule: a ``Content-Length`` over the limit is
        refused before reading; a body without one is read up to one byte
        past the limit and refused when it gets there.
        """
        return self.status(
            request,
            413,
            "body_too_large",
            "Request too large",
            "The request body is too large.",
        )

    def cookie_too_large(self, request: AuthRequest) -> Respond:
        """431: the Cookie header is over the limit (refused before any decrypt)."""
        return self.status(
            request,
            431,
            "cookie_too_large",
            "Cookies too large",
            "The request carries too many cookies.",
        )

    def _challenge_for(self, request: AuthRequest, exc: AuthplugError | None) -> str | None:
        """The ``WWW-Authenticate`` value of a 401, or ``None``.

        The error's own challenge wins, in any scheme; then, for a request
        that tried a bearer credential, a bearer challenge (unless the
        provider declared another scheme); then the provider's declared one.
        """
        if exc is not None:
            own = exc.www_authenticate
            if own and header_safe(own):
                return own
        declared = self._challenge
        if is_bearer(request) and (
            declared is None or declared.split(" ", 1)[0].lower() == "bearer"
        ):
            return 'Bearer error="invalid_token"' if exc is not None else (declared or "Bearer")
        return declared

    def not_authenticated_json(
        self, request: AuthRequest, cookies: Sequence[ResponseCookie]
    ) -> Respond:
        """401 for an API client that must authenticate (the provider wanted a redirect)."""
        challenge = self._challenge_for(request, None)
        return json_response(
            401,
            {"error": "not_authenticated", "message": "authentication required"},
            cookies,
            (("www-authenticate", challenge),) if challenge else (),
        )

    def forbidden(self, request: AuthRequest, cookies: Sequence[ResponseCookie] = ()) -> Respond:
        """403: signed in, but an access rule denies the path."""
        return self.status(
            request,
            403,
            "forbidden",
            "Access denied",
            "You are signed in but not allowed to see this page.",
            cookies=cookies,
        )

    def unauthenticated(
        self, request: AuthRequest, exc: AuthplugError, cookies: Sequence[ResponseCookie]
    ) -> Respond:
        """401: JSON or a plain page, with the challenge (:meth:`_challenge_for`). No echo."""
        self._tracer.step("authenticate", outcome="rejected", reason=exc.code)
        challenge = self._challenge_for(request, exc)
        headers = (("www-authenticate", challenge),) if challenge else ()
        # A fixed, secret-free explanation the error carries (authplug.cross_site).
        explained = getattr(exc, "page_text", None)
        text = explained if isinstance(explained, str) and explained else None
        if request.wants_json:
            return json_response(
                401,
                {
                    "error": "not_authenticated",
                    "reason": exc.code,
                    "message": text or "authentication failed",
                },
                cookies,
                headers,
            )
        body = page("Not signed in", text or "Your sign-in could not be completed.")
        return html_response(401, body, cookies, headers)

    def error(
        self, request: AuthRequest, exc: AuthplugError, cookies: Sequence[ResponseCookie] = ()
    ) -> Respond:
        """An authplug error as its status (401, 503 with ``Retry-After``, ...); no secrets.

        A :class:`~authplug.errors.ProviderError` (a plugin's bug) is a 500
        with a correlation id and a logged traceback (:meth:`internal_error`).
        """
        if isinstance(exc, NotAuthenticatedError | ForceUserToReauthenticateError):
            return self.unauthenticated(request, exc, cookies)
        if isinstance(exc, ProviderError):
            return self.internal_error(request, exc, cookies)
        self._tracer.step("error", code=exc.code, status=exc.status)
        if isinstance(exc, ProviderUnavailableError):
            _log.warning("identity provider %r unavailable (%s)", exc.provider, exc.code)
            text = f"The identity provider {exc.provider!r} is unavailable. Try again later."
            return self.status(
                request,
                503,
                exc.code,
                "Sign-in unavailable",
                text,
                (("retry-after", "30"),),
                cookies,
            )
        backend = getattr(exc, "backend", None)
        if exc.status == 503 and isinstance(backend, str) and backend:
            # A store or coordination backend is down (see authplug.coordination):
            # name it, never the connection details; the request may succeed later.
            _log.warning("backend %r unavailable (%s): %s", backend, exc.code, exc.message)
            return self.status(
                request,
                503,
                exc.code,
                "Sign-in unavailable",
                f"The sign-in backend {backend!r} is unavailable. Try again later.",
                (("retry-after", "5"),),
                cookies,
            )
        status = exc.status if 400 <= exc.status <= 599 else 500
        if status == 500:
            return self.internal_error(request, exc, cookies)
        if status > 500:
            _log.error("authplug error %s (%s)", type(exc).__name__, exc.code)
        return self.status(
            request,
            status,
            exc.code,
            "Sign-in problem",
            "The request could not be completed.",
            cookies=cookies,
        )

    def internal_error(
        self,
        request: AuthRequest,
        exc: BaseException,
        cookies: Sequence[ResponseCookie] = (),
    ) -> Respond:
        """A failure nobody expected (a plugin's bug, a broken store): a generic 500.

        The answer carries a short correlation id (``reference``); the log
        line at ERROR on the ``authplug`` logger carries the same id and the
        redacted traceback. Never the exception's text in the answer.
        """
        what = exc.hook if isinstance(exc, ProviderError) else type(exc).__name__
        reference = report_failure(exc, what)
        self._tracer.step("error", code="internal_error", reference=reference)
        text = f"The request could not be completed. Reference: {reference}."
        if request.wants_json:
            return json_response(
                500,
                {"error": "internal_error", "message": text, "reference": reference},
                cookies,
            )
        return html_response(500, page("Something went wrong", text), cookies)

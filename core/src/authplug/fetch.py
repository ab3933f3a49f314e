"""The one way authplug code reaches another server: a bounded HTTP exchange.

Every outbound request a provider makes to its identity provider (a JWKS,
OIDC discovery, the token, UserInfo and revocation endpoints, SAML metadata)
goes through :func:`fetch` (blocking) or :func:`fetch_async` (``await``), which
behave the same way:

* **a total deadline**: ``deadline`` seconds cover connecting, sending and
  every read of the body, together. httpx's own timeouts are per operation, so a
  server that drips a few bytes a second could otherwise hold a request for
  ever; here the exchange is cancelled when the deadline passes, whatever it is
  doing;
* **a size cap**: a body (declared by ``Content-Length`` or received) larger
  than ``max_bytes`` is refused without reading the rest;
* **no redirects** unless the caller allows them (then at most
  :data:`MAX_REDIRECTS` hops, all inside the same deadline);
* **typed failures**: anything that goes wrong raises :class:`FetchError`, whose
  ``host`` is the host that failed (not the issuer's) and whose message holds
  neither the body nor any credential, so it is safe to log and to show an
  operator.

An HTTP error status is not a :class:`FetchError`: the caller gets the
:class:`FetchResponse` and decides (an OAuth token endpoint answers 400 with a
JSON error body). :meth:`FetchResponse.json_object` parses a body strictly.

The blocking form runs the same coroutine on a private event loop (in a
short-lived thread when the calling thread already runs one), so both forms
share one implementation; this module imports httpx and is installed with the
``authplug[fetch]`` (or ``authplug[jose]``) extra.

Example::

    from authplug.fetch import FetchError, OutboundRequest, fetch

    try:
        response = fetch(OutboundRequest("GET", url, deadline=5, max_bytes=65536))
    except FetchError as exc:
        raise ProviderUnavailableError(exc.reason, provider=exc.host) from None
    document = response.json_object()
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import httpx

__all__ = [
    "MAX_REDIRECTS",
    "FetchError",
    "FetchResponse",
    "OutboundRequest",
    "check_outbound_url",
    "fetch",
    "fetch_async",
    "host_of",
    "is_loopback_url",
    "tls_context",
]

MAX_REDIRECTS: Final = 5
"""Most redirects followed when a request allows them."""

_JSON_TYPES: Final = ("application/json", "application/jwk-set+json")


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is a loopback address (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_outbound_url(url: str) -> str:
    """Validate a configured endpoint: absolute ``https://`` (``http://`` on loopback only).

    For settings validators: returns ``url`` unchanged.

    :raises ValueError: with a message naming the rule (never the URL's credentials).
    """
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("must be an absolute https:// URL")
    if parts.scheme == "http" and not is_loopback_url(url):
        raise ValueError("must use https:// (http:// is allowed on loopback only)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@)")
    if parts.fragment:
        raise ValueError("must not carry a #fragment")
    return url


def host_of(url: str) -> str:
    """The host (and non-default port) of ``url``, for messages; the URL itself when it has none."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


class FetchError(Exception):
    """An outbound request failed; the message names the host and is safe to log.

    Attributes:
        host: The host that failed (``netloc`` without credentials).
        reason: What went wrong, without body or credentials.
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One outbound HTTP request and its bounds.

    Attributes:
        method: ``GET`` or ``POST``.
        url: Absolute ``http(s)`` URL (the caller validated who it may be).
        deadline: Seconds for the whole exchange (connect, send, every read).
        max_bytes: Largest response body accepted.
        headers: Request headers.
        form: ``application/x-www-form-urlencoded`` body fields (``POST``).
        allow_redirects: Follow up to :data:`MAX_REDIRECTS` redirects.
    """

    method: str
    url: str
    deadline: float
    max_bytes: int
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = None
    allow_redirects: bool = False


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """A complete response (body read in full, within the bounds).

    Attributes:
        url: The URL that answered (after redirects, when allowed).
        status: HTTP status code.
        headers: Response headers (case-insensitive).
        body: The body bytes.
    """

    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def host(self) -> str:
        """The host that answered."""
        return host_of(self.url)

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, checked strictly.

        :raises FetchError: the content type is not JSON, the body is not
            UTF-8 JSON, or it is not an object.
        """
        content_type = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        if content_type not in _JSON_TYPES:
            raise FetchError(self.host, "answered with a non-JSON content type")
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise FetchError(self.host, "answered with a body that is not JSON") from None
        if not isinstance(value, dict):
            raise FetchError(self.host, "answered with JSON that is not an object")
        return value


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one verifying TLS context every fetch uses (building one costs milliseconds)."""
    return httpx.create_ssl_context()


async def _exchange(request: OutboundRequest) -> FetchResponse:
    url = request.url
    # httpx's per-operation timeout is only a backstop: fail_after() bounds the whole exchange.
    backstop = httpx.Timeout(request.deadline)
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=backstop, trust_env=False, verify=tls_context()
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {"accept-encoding": "identity", **request.headers}
            outgoing = client.build_request(request.method, url, headers=headers, data=request.form)
            response = await client.send(outgoing, stream=True)
            try:
                if response.is_redirect:
                    if not request.allow_redirects:
                        raise FetchError(
                            host_of(url),
                            f"answered HTTP {response.status_code}, a redirect (not followed)",
                        )
                    url = str(response.next_request.url) if response.next_request else url
                    continue
                _identity(response, url)
                length = response.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > request.max_bytes:
                    raise FetchError(host_of(url), _too_large(request.max_bytes))
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > request.max_bytes:
                        raise FetchError(host_of(url), _too_large(request.max_bytes))
                return FetchResponse(url, response.status_code, response.headers, bytes(body))
            finally:
                await response.aclose()
        raise FetchError(host_of(request.url), f"redirected more than {MAX_REDIRECTS} times")


def _identity(response: httpx.Response, url: str) -> None:
    """Refuse a content encoding: the request asked for ``identity`` (no decompression bombs)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(host_of(url), "answered with a content encoding it was not asked for")


def _too_large(max_bytes: int) -> str:
    return f"the response is too large (over {max_bytes} bytes)"


async def fetch_async(request: OutboundRequest) -> FetchResponse:
    """Perform ``request`` without blocking the event loop (asyncio or trio).

    :raises FetchError: deadline passed, body too large, a redirect that is not
        allowed, or a transport failure (connection refused, TLS, protocol).
    """
    host = host_of(request.url)
    try:
        with anyio.fail_after(request.deadline):
            return await _exchange(request)
    except TimeoutError:
        raise FetchError(host, f"no complete answer within {request.deadline:g} s") from None
    except httpx.InvalidURL:
        raise FetchError(host, "the URL is invalid") from None
    except httpx.HTTPError as exc:
        raise FetchError(host, f"the request failed ({type(exc).__name__})") from None


def fetch(request: OutboundRequest) -> FetchResponse:
    """Perform ``request``, blocking until it completes or its deadline passes.

    Same bounds and errors as :func:`fetch_async` (it runs that coroutine).

    :raises FetchError: see :func:`fetch_async`.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fetch_async, request)
    # Called from a thread that runs an event loop: never block it with a nested loop.
    outcome: list[FetchResponse | BaseException] = []

    def run() -> None:
        try:
            outcome.append(anyio.run(fetch_async, request))
        except BaseException as exc:  # handed back to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name="authplug-fetch", daemon=True)
    worker.start()
    worker.join()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result

"""``RequestSpec``: one request description, as an ASGI scope, a WSGI environ or an AuthRequest."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authplug.request import AuthRequest

__all__ = ["RequestSpec"]


@dataclass(frozen=True)
class RequestSpec:
    """A request described once, rendered for either host or handed to a provider.

    Header values are ``str`` and encoded as latin-1, as HTTP carries them
    (a UTF-8 value must be given as ``value.encode().decode("latin-1")``).

    Attributes:
        method: HTTP method.
        path: Path inside the application, starting with ``/``.
        query: Query parameters, or a raw query string.
        headers: Header pairs (names case-insensitive; repeats allowed).
        cookies: Cookies, joined into one ``Cookie`` header.
        body: Request body.
        scheme: ``"http"`` or ``"https"``.
        client: The peer address the server sees (a reverse proxy's, behind one).
        host: The ``Host`` header and server name.
    """

    method: str = "GET"
    path: str = "/"
    query: Mapping[str, str] | str = ""
    headers: Sequence[tuple[str, str]] = ()
    cookies: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    scheme: str = "https"
    client: str = "127.0.0.1"
    host: str = "app.test"

    @property
    def query_string(self) -> str:
        """The query as sent on the wire (without ``?``)."""
        return self.query if isinstance(self.query, str) else urlencode(dict(self.query))

    def header_pairs(self) -> list[tuple[str, str]]:
        """All headers, ``Host`` and ``Cookie`` included, names lower-cased."""
        pairs = [("host", self.host)]
        pairs += [(k.lower(), v) for k, v in self.headers]
        if self.cookies:
            pairs.append(("cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        if self.body and not any(k == "content-length" for k, _ in pairs):
            pairs.append(("content-length", str(len(self.body))))
        return pairs

    def asgi_scope(self) -> dict[str, Any]:
        """An ASGI 3 HTTP scope for this request."""
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method.upper(),
            "scheme": self.scheme,
            "path": self.path,
            "raw_path": self.path.encode("utf-8"),
            "root_path": "",
            "query_string": self.query_string.encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.header_pairs()],
            "client": (self.client, 50000),
            "server": (self.host, 443 if self.scheme == "https" else 80),
            "state": {},
        }

    def wsgi_environ(self) -> dict[str, Any]:
        """A PEP 3333 environ for this request."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.method.upper(),
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": self.query_string,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "443" if self.scheme == "https" else "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.client,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(self.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.header_pairs():
            key = name.upper().replace("-", "_")
            if key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
                environ[key] = value
                continue
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def auth_request(self) -> AuthRequest:
        """The framework-neutral request a provider's hooks receive (no flow attached)."""
        return AuthRequest(
            method=self.method.upper(),
            path=self.path,
            query_string=self.query_string.encode("latin-1"),
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.header_pairs()],
            scheme=self.scheme,
            body=self.body,
            client=self.client,
        )

"""Fixtures for the OAuth provider tests: a small OpenID Provider of our own on
127.0.0.1 (keys made at test time, so it can mint the bad tokens a certified
provider never would), and a Starlette app behind the authplug host driven by
httpx like a browser (cookies kept, redirects followed across both servers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig
from authplug.host import Host, build_host
from authplug.stores.memory import MemoryUserStore
from authplug_oauth import OAuthProvider, OAuthSettings

APP = "https://app.test"
CLIENT_ID = "authplug-test-client"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def keys(jose_tokens: ModuleType) -> Any:
    return jose_tokens.make_keys()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


@dataclass
class Grant:
    """What the IdP remembers about an authorization code."""

    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    sub: str


@dataclass
class Answer:
    """A canned HTTP answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class TestIdP:
    """An OpenID Provider on loopback whose every answer a test can bend.

    Attributes:
        url: Its issuer (``http://127.0.0.1:<port>``).
        keys: The private keys made at test time.
        tokens: ``tests/jose_tokens.py`` (the raw minter, the ``jose_tokens`` fixture).
        sign_with: ``(alg, kid, key)`` used for ID tokens.
        id_token_claims: Overrides of the ID token claims (``DROP`` removes one).
        id_token_header: Overrides of the ID token header.
        mint: Replace ID token minting entirely: ``mint(header, claims) -> str``.
        userinfo: Claims UserInfo returns (besides ``sub``).
        answers: Path -> canned answer replacing the real one.
        discovery: Overrides of the discovery document.
        requests: Every ``(method, path)`` received.
        forms: Every POSTed form, by path.
    """

    keys: Any
    tokens: ModuleType
    url: str = ""
    sign_with: tuple[str, str, Any] = ("RS256", "k1", None)
    jwks_keys: list[dict[str, Any]] = field(default_factory=list)
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    id_token_header: dict[str, Any] = field(default_factory=dict)
    mint: Callable[[dict[str, Any], dict[str, Any]], str] | None = None
    userinfo: dict[str, Any] = field(default_factory=dict)
    userinfo_sub: str | None = None
    answers: dict[str, Answer] = field(default_factory=dict)
    discovery: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    forms: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    issue_refresh_token: bool = True
    rotate_refresh_token: bool = True
    refresh_sub: str | None = None
    send_iss: bool = True
    expires_in: int = 300
    sub: str = "user-42"
    access_tokens: list[str] = field(default_factory=list)
    _counter: int = 0

    DROP: Any = None

    def next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}-{time.monotonic_ns()}"

    def document(self) -> dict[str, Any]:
        base = self.url
        doc: dict[str, Any] = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/end_session",
            "revocation_endpoint": f"{base}/revoke",
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "PS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_modes_supported": ["query", "form_post"],
            "authorization_response_iss_parameter_supported": True,
        }
        doc.update(self.discovery)
        return {k: v for k, v in doc.items() if v is not DROP}

    def jwks(self) -> dict[str, Any]:
        if self.jwks_keys:
            return {"keys": self.jwks_keys}
        return {
            "keys": [
                self.tokens.public_jwk(self.keys.rsa, kid="k1", use="sig", alg="RS256"),
                self.tokens.public_jwk(self.keys.p256, kid="e1", use="sig", alg="ES256"),
            ]
        }

    def id_token(self, grant: Grant | None, access_token: str, *, sub: str | None = None) -> str:
        now = int(time.time())
        alg, kid, key = self.sign_with
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": sub or (grant.sub if grant else self.sub),
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "at_hash": _at_hash(access_token),
        }
        if grant is not None and grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_claims)
        claims = {k: v for k, v in claims.items() if v is not DROP}
        header = {"alg": alg, "kid": kid, "typ": "JWT", **self.id_token_header}
        header = {k: v for k, v in header.items() if v is not DROP}
        if self.mint is not None:
            return self.mint(header, claims)
        signing_key = key if key is not None else self.keys.rsa
        if alg.startswith("ES"):
            from cryptography.hazmat.primitives import hashes

            signer = self.tokens.ec_signer(signing_key, hashes.SHA256)
        else:
            signer = self.tokens.rsa_signer(signing_key)
        return str(self.tokens.mint(header, claims, signer))

    def authorize(self, query: dict[str, str]) -> str:
        """Approve an authorization request: the redirect back with a code."""
        code = self.next_id("code")
        self.grants[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            challenge=query.get("code_challenge", ""),
            nonce=query.get("nonce"),
            sub=self.sub,
        )
        params = {"code": code, "state": query.get("state", "")}
        if self.send_iss:
            params["iss"] = self.url
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def token(self, form: dict[str, str], auth: str | None) -> tuple[int, dict[str, Any]]:
        client_ok = auth == "Basic " + base64.b64encode(
            f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
        ).decode() or (
            form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        )
        if not client_ok:
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.grants.pop(form.get("code", ""), None)
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            if s256(form.get("code_verifier", "")) != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
            return 200, self._token_set(grant, grant.sub)
        if grant_type == "refresh_token":
            presented = form.get("refresh_token", "")
            sub = self.refresh_tokens.get(presented)
            if sub is None:
                return 400, {"error": "invalid_grant"}
            if self.rotate_refresh_token:
                del self.refresh_tokens[presented]
            out = self._token_set(None, self.refresh_sub or sub)
            if not self.rotate_refresh_token:
                out.pop("refresh_token", None)
            return 200, out
        return 400, {"error": "unsupported_grant_type"}

    def _token_set(self, grant: Grant | None, sub: str) -> dict[str, Any]:
        access = self.next_id("at")
        self.access_tokens.append(access)
        out: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "id_token": self.id_token(grant, access, sub=sub),
        }
        if self.issue_refresh_token:
            refresh = self.next_id("rt")
            self.refresh_tokens[refresh] = sub
            out["refresh_token"] = refresh
        return out


DROP: Any = "__drop__"
"""A claim, header member or discovery member set to this is left out."""
TestIdP.DROP = DROP


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def idp(keys: Any, jose_tokens: ModuleType) -> Iterator[TestIdP]:
    """A fresh test IdP on 127.0.0.1 (ephemeral port), stopped after the test."""
    state = TestIdP(keys=keys, tokens=jose_tokens)
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _canned(self, path: str) -> bool:
            answer = state.answers.get(path)
            if answer is None:
                return False
            if answer.delay:
                stop.wait(answer.delay)
            self._send(answer.status, answer.body, answer.content_type)
            return True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(("GET", parts.path))
            if self._canned(parts.path):
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, state.document())
            elif parts.path == "/jwks":
                self._json(200, state.jwks())
            elif parts.path == "/authorize":
                self._send(302, b"", "text/plain", Location=state.authorize(query))
            elif parts.path == "/userinfo":
                auth = self.headers.get("authorization", "")
                if auth.removeprefix("Bearer ") not in state.access_tokens:
                    self._json(401, {"error": "invalid_token"})
                    return
                claims = {"sub": state.userinfo_sub or state.sub, **state.userinfo}
                self._json(200, claims)
            elif parts.path == "/end_session":
                target = query.get("post_logout_redirect_uri", "")
                self._send(302 if target else 200, b"", "text/plain", Location=target or "/")
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(("POST", parts.path))
            length = int(self.headers.get("content-length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            state.forms.setdefault(parts.path, []).append(form)
            if self._canned(parts.path):
                return
            if parts.path == "/token":
                status, body = state.token(form, self.headers.get("authorization"))
                self._json(status, body)
            elif parts.path == "/revoke":
                self._send(200, b"", "text/plain")
            else:
                self._json(404, {"error": "not_found"})

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    stop.set()
    server.shutdown()
    server.server_close()


def settings_for(idp: TestIdP, **overrides: Any) -> OAuthSettings:
    values: dict[str, Any] = {
        "issuer": idp.url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": f"{APP}/auth/callback",
        "timeout": 2,
    }
    values.update(overrides)
    return OAuthSettings.model_validate(values)


async def _whoami(request: Request) -> JSONResponse:
    user = request.scope["authplug.user"]
    return JSONResponse(
        {
            "user": user.user_id,
            "first": user.first_name,
            "type": user.user_type,
            "roles": list(user.roles),
            "path": request.url.path,
        }
    )


async def _home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


@dataclass
class App:
    """The Starlette app behind the host, driven like a browser."""

    host: Host
    store: MemoryUserStore
    provider: OAuthProvider
    client: httpx.AsyncClient
    idp_client: httpx.AsyncClient
    idp: TestIdP
    stored_before: int = 0

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        if url.startswith((APP, "/")):
            return await self.client.get(url, **kwargs)
        return await self.idp_client.get(url, **kwargs)

    async def start_login(self, path: str = "/private") -> str:
        """Visit a protected page; return the authorization URL it redirects to."""
        response = await self.client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(self.idp.url)
        return location

    async def authorize(self, authorization_url: str) -> str:
        """Let the IdP approve; return the callback URL it redirects to."""
        response = await self.idp_client.get(authorization_url)
        assert response.status_code == 302
        return response.headers["location"]

    async def login(self, path: str = "/private") -> httpx.Response:
        """The whole flow; returns the callback's response."""
        callback = await self.authorize(await self.start_login(path))
        return await self.client.get(callback, headers={"accept": "text/html"})

    def session_cookies(self, response: httpx.Response) -> list[str]:
        """``Set-Cookie`` headers of the response that set a session cookie (not clear it)."""
        return [
            value
            for value in response.headers.get_list("set-cookie")
            if "authplug_session" in value.split("=", 1)[0] and "Max-Age=0" not in value
        ]


@pytest.fixture
def make_app(idp: TestIdP) -> Iterator[Callable[..., App]]:
    """Build the app around an OAuthProvider for ``idp`` with setting overrides."""
    made: list[App] = []

    def make(
        config: AuthplugConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
        **overrides: Any,
    ) -> App:
        provider = OAuthProvider(settings_for(idp, **overrides), monotonic=monotonic, clock=clock)
        store = MemoryUserStore()
        host = build_host(provider, config or AuthplugConfig(), store=store)
        starlette = Starlette(routes=[Route("/", _home), Route("/{rest:path}", _whoami)])
        app = AuthMiddleware(starlette, host=host)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP)
        idp_client = httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))
        built = App(host, store, provider, client, idp_client, idp)
        made.append(built)
        return built

    yield make
    for app in made:
        app.host.close()


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


@dataclass(frozen=True)
class Kit:
    """Constants and helpers for the test modules (test folders are not packages)."""

    tokens: ModuleType
    APP: str = APP
    CLIENT_ID: str = CLIENT_ID
    CLIENT_SECRET: str = CLIENT_SECRET
    DROP: Any = DROP
    Answer: type[Answer] = Answer


@pytest.fixture
def kit(jose_tokens: ModuleType) -> Kit:
    return Kit(tokens=jose_tokens)

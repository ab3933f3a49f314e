"""Shared test kit for the lifecycle and host tests (loaded by path from both conftests).

A small in-test provider (no dependency on the mock plugin): a login route
``/auth/test/login?user=...``, tokens with ``expires_at``, a counting
validate and refresh, a provider-rendered page, a failing route, and an
optional bearer (stateless) variant. Tokens are random per provider, so the
log-scanning tests can look for them.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from authplug.config import AuthplugConfig
from authplug.errors import (
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderUnavailableError,
)
from authplug.hookspecs import hookimpl
from authplug.host import Host, PluginInfo, build_host
from authplug.models import AuthenticatedUser, ToolUserView
from authplug.provider import AuthProvider, NoSettings
from authplug.request import AuthRequest
from authplug.results import (
    Authenticated,
    AuthenticateResult,
    ProviderResponse,
    Redirect,
    ResponseCookie,
)
from authplug.routes import Route
from authplug.stores.memory import MemoryUserStore
from authplug.testing import make_key as make_key  # the public kit's key maker

NOW = 1_700_000_000.0
User = AuthenticatedUser[dict[str, str], dict[str, str]]


class Clock:
    """An injectable epoch clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestProvider(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """A browser provider with a login route, counting validate and refresh.

    Attributes to steer a test:
        validate_behaviour: ``"ok"`` (still valid), ``"update"`` (new roles),
            ``"force"`` (ForceUserToReauthenticateError).
        refresh_behaviour: ``"ok"`` or ``"force"``.
        refresh_delay: Seconds the (async) refresh sleeps, to overlap callers.
        token_lifetime: Seconds until a minted token expires.
        logout_to: Where ``logout`` redirects (``None``: nowhere).
    """

    __test__ = False

    def __init__(self, clock: Clock, *, async_hooks: bool = False) -> None:
        super().__init__(NoSettings())
        self.clock = clock
        self.async_hooks = async_hooks
        self.access_token = "at-" + secrets.token_urlsafe(24)
        self.refresh_token = "rt-" + secrets.token_urlsafe(24)
        self.authenticate_calls = 0
        self.validate_calls = 0
        self.refresh_calls = 0
        self.logout_calls = 0
        self.validate_behaviour = "ok"
        self.refresh_behaviour = "ok"
        self.refresh_delay = 0.0
        self.token_lifetime = 3600.0
        self.logout_to: str | None = None
        self.lock = threading.Lock()
        self.loops: set[int] = set()
        self.threads: set[int] = set()

    # -- helpers -------------------------------------------------------------

    def make_user(self, user_id: str, roles: Sequence[str] = (), big: int = 0) -> User:
        auth_data = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": str(self.clock() + self.token_lifetime),
        }
        custom = {"company": "Wonderland"}
        if big:
            custom["blob"] = secrets.token_hex(big // 2)
        return User(
            user_id=user_id,
            first_name="Test",
            last_name=user_id.title(),
            user_type="internal-user",
            roles=tuple(roles),
            custom_data=custom,
            auth_data=auth_data,
        )

    def _note_async(self) -> None:
        loop = asyncio.get_running_loop()
        with self.lock:
            self.loops.add(id(loop))
            self.threads.add(threading.get_ident())

    # -- provider methods ----------------------------------------------------

    def authenticate(self, request: AuthRequest) -> Any:
        if self.async_hooks:
            return self._authenticate_async(request)
        return self._authenticate(request)

    async def _authenticate_async(self, request: AuthRequest) -> AuthenticateResult:
        self._note_async()
        await asyncio.sleep(0)
        return self._authenticate(request)

    def _authenticate(self, request: AuthRequest) -> AuthenticateResult:
        with self.lock:
            self.authenticate_calls += 1
        if request.header("x-test-autologin"):
            user = self.make_user(request.header("x-test-autologin") or "auto")
            return Authenticated(user=user)
        if request.header("x-test-unavailable"):
            raise ProviderUnavailableError("connection refused", provider="test-idp")
        flow = request.flow
        if flow is None:
            raise NotAuthenticatedError("no flow", code="no_flow")
        txn = flow.begin({"nonce": secrets.token_urlsafe(8)})
        return Redirect(location=f"/auth/test/login?state={txn}")

    def validate_user(self, request: AuthRequest, user: Any) -> Any:
        with self.lock:
            self.validate_calls += 1
        if self.validate_behaviour == "force":
            raise ForceUserToReauthenticateError("account disabled", code="disabled")
        if self.validate_behaviour == "update":
            return user.model_copy(update={"roles": (*user.roles, "pika:updated")})
        return None

    def refresh(self, user: Any) -> Any:
        if self.async_hooks or self.refresh_delay:
            return self._refresh_async(user)
        return self._refresh(user)

    async def _refresh_async(self, user: Any) -> Any:
        self._note_async()
        await asyncio.sleep(self.refresh_delay)
        return self._refresh(user)

    def _refresh(self, user: Any) -> Any:
        with self.lock:
            self.refresh_calls += 1
        if self.refresh_behaviour == "force":
            raise ForceUserToReauthenticateError("refresh token revoked", code="revoked")
        self.access_token = "at-" + secrets.token_urlsafe(24)
        auth_data = dict(user.auth_data or {})
        auth_data["access_token"] = self.access_token
        auth_data["expires_at"] = str(self.clock() + self.token_lifetime)
        return user.model_copy(update={"auth_data": auth_data})

    def logout(self, request: AuthRequest, user: Any) -> Redirect | None:
        self.logout_calls += 1
        if self.logout_to is None:
            return None
        return Redirect(location=self.logout_to)

    def routes(self) -> Sequence[Route]:
        return (
            Route("/auth/test/login", self._login),
            Route("/auth/test/page", self._page, frozenset({"GET", "POST"})),
            Route("/auth/test/boom", self._boom),
            Route("/auth/test/unavailable", self._unavailable),
        )

    # -- routes ----------------------------------------------------------------

    def _login(self, request: AuthRequest) -> Any:
        if self.async_hooks:
            return self._login_async(request)
        return self._login_sync(request)

    async def _login_async(self, request: AuthRequest) -> AuthenticateResult:
        self._note_async()
        await asyncio.sleep(0)
        return self._login_sync(request)

    def _login_sync(self, request: AuthRequest) -> AuthenticateResult:
        user_id = request.query.get("user")
        if not user_id:
            raise NotAuthenticatedError("no user given", code="no_user")
        state = request.query.get("state")
        if state and request.flow is not None and request.flow.consume(state) is None:
            raise NotAuthenticatedError("unknown state", code="invalid_state")
        roles = [r for r in request.query.get("roles", "").split(",") if r]
        big = int(request.query.get("big", "0"))
        cookies = (ResponseCookie("test_extra", "extra-value", secure=False),)
        return Authenticated(
            user=self.make_user(user_id, roles, big),
            redirect_to=request.query.get("next"),
            cookies=cookies,
        )

    def _page(self, request: AuthRequest) -> ProviderResponse:
        return ProviderResponse(
            status=200,
            body=b"<p>provider page</p>",
            headers=(("x-provider", "yes"),),
            cookies=(ResponseCookie("page_cookie", "p", secure=False),),
        )

    def _boom(self, request: AuthRequest) -> AuthenticateResult:
        raise RuntimeError("secret-internal-detail")

    def _unavailable(self, request: AuthRequest) -> AuthenticateResult:
        raise ProviderUnavailableError("timeout", provider="test-idp")


class BearerProvider(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """A stateless provider: ``Authorization: Bearer good-<user>`` authenticates."""

    stateless = True
    challenge = "Bearer"
    __test__ = False

    def __init__(self) -> None:
        super().__init__(NoSettings())
        self.calls = 0

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        self.calls += 1
        header = request.header("authorization") or ""
        if not header.lower().startswith("bearer "):
            return Redirect(location="/auth/none")
        token = header[7:]
        if not token.startswith("good-"):
            raise NotAuthenticatedError("token rejected", code="invalid_token")
        return Authenticated(
            user=User(user_id=token[5:], user_type="external-user", auth_data={"t": token})
        )


class Events:
    """An extension plugin recording login/logout events."""

    def __init__(self) -> None:
        self.logged_in: list[str] = []
        self.logged_out: list[str | None] = []

    @hookimpl
    def authplug_logged_in(self, request: AuthRequest, user: AuthenticatedUser[Any, Any]) -> None:
        self.logged_in.append(user.user_id)

    @hookimpl
    def authplug_logged_out(
        self, request: AuthRequest, user: AuthenticatedUser[Any, Any] | None
    ) -> None:
        self.logged_out.append(user.user_id if user is not None else None)


class SpyStore(MemoryUserStore):
    """The real memory store, counting writes and revocation calls (a transaction spy)."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[ToolUserView] = []
        self.updates: list[ToolUserView] = []
        self.gets = 0
        self.revoked: list[str] = []
        self.revocation_checks = 0

    def record_login(self, user: ToolUserView, now: datetime) -> None:
        self.logins.append(user)
        super().record_login(user, now)

    def update(self, user: ToolUserView, now: datetime) -> None:
        self.updates.append(user)
        super().update(user, now)

    def get(self, user_id: str) -> Any:
        self.gets += 1
        return super().get(user_id)

    def revoke_session(self, sid: str, until: datetime) -> None:
        self.revoked.append(sid)
        super().revoke_session(sid, until)

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        self.revocation_checks += 1
        return super().is_session_revoked(sid, now)


def make_config(keys: Sequence[str], **overrides: Any) -> AuthplugConfig:
    """A development config with real keys and plain-HTTP cookies."""
    values: dict[str, Any] = {
        "cookie_keys": list(keys),
        "cookie_secure": False,
        "store": "memory",
        "public_paths": ["/login", "/static/"],
    }
    values.update(overrides)
    return AuthplugConfig(**values)


def make_host(
    provider: object,
    config: AuthplugConfig,
    store: SpyStore,
    events: Events | None = None,
) -> Host:
    """Assemble a host with the events plugin registered."""
    extensions = [(events, PluginInfo(name="events"))] if events is not None else []
    return build_host(
        provider, config, provider_info=PluginInfo(name="test"), store=store, extensions=extensions
    )


def set_cookie_headers(headers: Any) -> list[str]:
    """All ``Set-Cookie`` values of an httpx response's headers."""
    return list(headers.get_list("set-cookie"))


def cookie_pairs(set_cookies: list[str]) -> dict[str, str]:
    """``name -> value`` of the cookies set (not cleared) by ``Set-Cookie`` values."""
    out: dict[str, str] = {}
    for header in set_cookies:
        first = header.split(";", 1)[0]
        name, _, value = first.partition("=")
        if "max-age=0" in header.lower():
            out.pop(name, None)
            continue
        out[name] = value
    return out


def cleared_names(set_cookies: list[str]) -> set[str]:
    """Names of the cookies a response deletes (``Max-Age=0``)."""
    return {h.split("=", 1)[0] for h in set_cookies if "max-age=0" in h.lower()}


async def login(client: Any, user: str = "alice", **params: str) -> Any:
    """Complete a login through the test provider's route (httpx async client); the final 302."""
    response = await client.get("/auth/test/login", params={"user": user, **params})
    assert response.status_code == 302, response.text
    return response

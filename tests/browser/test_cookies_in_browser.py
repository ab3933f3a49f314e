"""Session cookies as a real Chromium stores and sends them (issue #8 item 9).

* A mock user whose data needs three or more chunks: Chromium stores every
  chunk the server set (read back through the browser's cookie API), the
  session survives reloads, and when the user's data shrinks the stale
  chunks are deleted from the browser.
* The attributes as the browser sees them: ``HttpOnly``, ``SameSite=Lax``,
  ``Path=/``, host-only (no ``Domain``); over HTTPS (a certificate made at
  test time, trusted by this Chromium for its key only) ``Secure`` and the
  ``__Host-`` prefix.
* Two tabs starting a login at the same moment both end signed in, each on
  the page it asked for.
* The large-session test can fail: with the chunk size raised over the
  browser's limit (a test-only cookie policy, ``header_limit=6000``),
  Chromium drops the oversized chunks and the same check fails, on the
  assertion that the browser kept every chunk the server set.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

import authplug
from authplug.asgi import AuthMiddleware
from authplug.host import Host
from authplug.session import SessionManager
from authplug.session.cookie_policy import CookiePolicy
from authplug.stores.memory import MemoryUserStore

from .conftest import ACTION_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, make_tls_certificate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Cookie, Page

pytestmark = [pytest.mark.browser, pytest.mark.server]

SESSION = "authplug_session"
BIG_NAME = "Bertha Big"
VALIDATE_INTERVAL = 60


class Clock:
    """The lifecycle's clock: real time plus a test-controlled offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _users(blob: str) -> list[dict[str, Any]]:
    return [
        {
            "user_id": "bertha",
            "first_name": "Bertha",
            "last_name": "Big",
            "user_type": "internal-user",
            "custom_data": {"blob": blob},
        },
        {"user_id": "sam", "first_name": "Sam", "last_name": "Small", "user_type": "external-user"},
    ]


def make_host(tmp_path: Path, *, secure: bool, blob: str) -> Host:
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return authplug.load(
        provider="mock",
        settings={
            "cookie_keys": [key],
            "cookie_secure": secure,
            "validate_interval": VALIDATE_INTERVAL,
            "mock": {"users": _users(blob)},
        },
        environ={},
        cwd=tmp_path,
        store=MemoryUserStore(),
    )


def make_app(host: Host, clock: Clock) -> AuthMiddleware:
    async def page(request: Request) -> HTMLResponse:
        user = request.state.user
        blob = (user.custom_data or {}).get("blob", "")
        return HTMLResponse(
            f"<!doctype html><title>app</title><p id=user>{user.user_id}</p>"
            f"<p id=size>{len(blob)}</p><p id=path>{request.url.path}</p>"
        )

    return AuthMiddleware(Starlette(routes=[Route("/{rest:path}", page)]), host=host, clock=clock)


@contextmanager
def serve(app: Any, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """``app`` under uvicorn on 127.0.0.1 (a free port), HTTPS with ``tls=(cert, key)``."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    extra: dict[str, Any] = {}
    if tls is not None:
        extra = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])}
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, **extra)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class SetCookies:
    """Every session ``Set-Cookie`` the server sent to the tab, in order."""

    values: list[str] = dataclasses.field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_response(response: Any) -> None:
            for header in response.headers_array():
                if header["name"].lower() == "set-cookie":
                    self.values.extend(v for v in header["value"].split("\n") if SESSION in v)

        page.on("response", on_response)

    def expected_chunks(self) -> dict[str, str]:
        """The session chunks a browser keeping every cookie would hold now."""
        jar: dict[str, str] = {}
        for header in self.values:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower():
                jar.pop(name, None)
            else:
                jar[name] = value
        return jar


def session_cookies(context: BrowserContext) -> dict[str, Cookie]:
    return {c["name"]: c for c in context.cookies() if SESSION in c["name"]}


def sign_in(page: Page, url: str, name: str) -> None:
    """Open ``url``, get sent to the mock login page, pick ``name``; back on ``url``'s page."""
    page.goto(url)
    assert urlsplit(page.url).path == "/auth/mock/login", page.url
    with page.expect_navigation():
        page.get_by_role("link", name=name, exact=True).click()


def check_large_session(page: Page, context: BrowserContext, base: str, seen: SetCookies) -> None:
    """Three or more chunks, every one stored by the browser, and still signed in on reload."""
    sign_in(page, f"{base}/big", BIG_NAME)
    expected = seen.expected_chunks()
    stored = {name: c["value"] for name, c in session_cookies(context).items()}
    assert stored == expected, (
        f"the browser did not keep every chunk: set {sorted(expected)}, kept {sorted(stored)}"
    )
    assert len(expected) >= 3, expected.keys()
    assert urlsplit(page.url).path == "/big"
    assert page.locator("#user").inner_text() == "bertha"
    for _ in range(3):
        page.reload()
        assert page.locator("#user").inner_text() == "bertha"
    assert {name: c["value"] for name, c in session_cookies(context).items()} == stored


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def page_with_log(context: BrowserContext) -> tuple[Page, SetCookies]:
    page = context.new_page()
    seen = SetCookies()
    seen.watch(page)
    return page, seen


BIG_BLOB = secrets.token_hex(4500)  # 9000 incompressible characters: four chunks


def test_a_three_chunk_session_is_stored_whole_survives_reloads_and_shrinks(
    tmp_path: Path,
    clock: Clock,
    context: BrowserContext,
    page_with_log: tuple[Page, SetCookies],
) -> None:
    page, seen = page_with_log
    host = make_host(tmp_path, secure=False, blob=BIG_BLOB)
    try:
        with serve(make_app(host, clock)) as base:
            check_large_session(page, context, base, seen)
            assert page.locator("#size").inner_text() == str(len(BIG_BLOB))
            before = set(session_cookies(context))
            # The operator shrinks the user's data; the next validation brings
            # it into the session, which now needs one chunk: the rest go.
            settings = host.provider.settings  # type: ignore[attr-defined]
            host.provider.settings = type(settings).model_validate(  # type: ignore[attr-defined]
                {**settings.model_dump(), "users": _users("tiny")}
            )
            clock.offset += VALIDATE_INTERVAL + 1
            page.reload()
            assert page.locator("#size").inner_text() == "4"
            after = session_cookies(context)
            assert set(after) == {f"{SESSION}.0"}, set(after)
            assert len(before) >= 3
            page.reload()
            assert page.locator("#user").inner_text() == "bertha"
    finally:
        host.close()


def test_the_large_session_check_fails_when_chunks_exceed_the_browser_limit(
    tmp_path: Path,
    clock: Clock,
    context: BrowserContext,
    page_with_log: tuple[Page, SetCookies],
) -> None:
    page, seen = page_with_log
    host = make_host(tmp_path, secure=False, blob=BIG_BLOB)
    oversized = dataclasses.replace(CookiePolicy.from_config(host.config), header_limit=6000)
    host = dataclasses.replace(host, sessions=SessionManager(host.config, policy=oversized))
    try:
        with (
            serve(make_app(host, clock)) as base,
            pytest.raises(AssertionError, match="the browser did not keep every chunk"),
        ):
            check_large_session(page, context, base, seen)
    finally:
        host.close()


def test_cookie_attributes_as_the_browser_sees_them_over_http(
    tmp_path: Path,
    clock: Clock,
    context: BrowserContext,
    page_with_log: tuple[Page, SetCookies],
) -> None:
    page, _ = page_with_log
    host = make_host(tmp_path, secure=False, blob="x")
    try:
        with serve(make_app(host, clock)) as base:
            page.goto(f"{base}/attrs")
            flows = [c for c in context.cookies() if c["name"].startswith("authplug_flow.")]
            assert len(flows) == 1
            with page.expect_navigation():
                page.get_by_role("link", name="Sam Small", exact=True).click()
            cookies = session_cookies(context)
            assert set(cookies) == {f"{SESSION}.0"}
            for cookie in [*cookies.values(), *flows]:
                assert cookie["httpOnly"] is True
                assert cookie["sameSite"] == "Lax"
                assert cookie["path"] == "/"
                assert cookie["domain"] == "127.0.0.1"  # host-only: no Domain attribute
                assert cookie["secure"] is False  # plain-HTTP development
            assert page.evaluate("document.cookie") == ""  # HttpOnly: invisible to scripts
    finally:
        host.close()


@pytest.fixture
def https_browser(browser: Browser, tmp_path: Path) -> Iterator[tuple[Browser, Path, Path]]:
    """A second Chromium that trusts the test certificate's key (and no other bad certificate)."""
    cert, key, spki = make_tls_certificate(
        tmp_path, "127.0.0.1", ["127.0.0.1"], datetime.timedelta(hours=1)
    )
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki}"]
    launched = browser.browser_type.launch(executable_path=str(CHROMIUM), args=args, headless=True)
    try:
        yield launched, cert, key
    finally:
        launched.close()


def test_over_https_cookies_are_secure_and_host_prefixed(
    tmp_path: Path, clock: Clock, https_browser: tuple[Browser, Path, Path]
) -> None:
    chromium, cert, key = https_browser
    context = chromium.new_context()
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    seen = SetCookies()
    seen.watch(page)
    host = make_host(tmp_path, secure=True, blob=BIG_BLOB)
    try:
        with serve(make_app(host, clock), tls=(cert, key)) as base:
            sign_in(page, f"{base}/big", BIG_NAME)
            cookies = session_cookies(context)
            assert len(cookies) >= 3
            assert cookies == {
                name: cookies[name] for name in seen.expected_chunks()
            }  # every chunk stored
            for name, cookie in cookies.items():
                assert name.startswith(f"__Host-{SESSION}.")
                assert cookie["secure"] is True
                assert cookie["httpOnly"] is True
                assert cookie["sameSite"] == "Lax"
                assert cookie["path"] == "/"
                assert cookie["domain"] == "127.0.0.1"
            page.reload()
            assert page.locator("#user").inner_text() == "bertha"
    finally:
        context.close()
        host.close()


def test_two_tabs_starting_a_login_at_the_same_moment_both_end_signed_in(
    tmp_path: Path, clock: Clock, context: BrowserContext
) -> None:
    host = make_host(tmp_path, secure=False, blob="x")
    first, second = context.new_page(), context.new_page()
    try:
        with serve(make_app(host, clock)) as base:
            # Both navigations are started before either is answered.
            with first.expect_navigation(), second.expect_navigation():
                first.evaluate(f"location.assign({f'{base}/first'!r})")
                second.evaluate(f"location.assign({f'{base}/second'!r})")
            for tab in (first, second):
                assert urlsplit(tab.url).path == "/auth/mock/login", tab.url
            flows = [c for c in context.cookies() if c["name"].startswith("authplug_flow.")]
            assert len(flows) == 2  # one transaction per tab
            for tab, name in ((second, "Sam Small"), (first, BIG_NAME)):
                with tab.expect_navigation():
                    tab.get_by_role("link", name=name, exact=True).click()
            assert first.locator("#path").inner_text() == "/first"
            assert second.locator("#path").inner_text() == "/second"
            # One browser, one session: the later login (first tab's) holds it.
            for tab in (first, second):
                tab.reload()
                assert tab.locator("#user").inner_text() == "bertha"
    finally:
        host.close()

"""The demo in a real browser (issue #3's "done when"): pick a mock user, see the
page, reload, visit ``/admin`` (allowed or 403 by role), sign out, and come back
to the page a login started from. Asserts what a person sees in Chromium.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from .conftest import DemoServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Cookie, Page, Response

pytestmark = [pytest.mark.browser, pytest.mark.server]

LOGIN_PATH = "/auth/mock/login"
MOCK_USERS = ["Ada Admin", "Sam Staff", "Casey Customer"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RESOURCE_STATUS_ERROR = "Failed to load resource: the server responded with a status of"


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab that fails the test on any script error or console error (a CSP block included)."""
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # HTTP statuses (the 403, a favicon's 404) are asserted where they matter.
        if message.type == "error" and not message.text.startswith(RESOURCE_STATUS_ERROR):
            problems.append(f"console: {message.text}")

    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", on_console)
    yield opened
    assert problems == []


def _path(page: Page) -> str:
    """Where the browser is: path and query of the current URL."""
    parts = urlsplit(page.url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _open(page: Page, demo: DemoServer, path: str) -> Response:
    """Type ``path`` into the address bar; the final response, after any redirects."""
    response = page.goto(demo.url_for(path))
    assert response is not None
    return response


def _follow(page: Page, click: Any) -> Response:
    """Run ``click`` and wait for the page it navigates to (redirects followed)."""
    with page.expect_navigation() as navigation:
        click()
    return navigation.value


def _assert_login_page(page: Page) -> None:
    assert urlsplit(page.url).path == LOGIN_PATH
    assert page.title() == "Mock login"
    assert page.get_by_role("link").all_inner_texts() == MOCK_USERS


def _pick(page: Page, name: str) -> Response:
    """Click a user on the mock login page."""
    return _follow(page, page.get_by_role("link", name=name, exact=True).click)


def _signed_in_name(page: Page) -> str:
    return page.locator("p", has_text="Signed in as").locator("strong").inner_text()


def _session_cookies(context: BrowserContext, demo: DemoServer) -> list[Cookie]:
    prefix = f"{demo.host.sessions.cookie_name}."
    return [c for c in context.cookies(demo.url) if c.get("name", "").startswith(prefix)]


def _auth_data_values(demo: DemoServer, cookies: list[Cookie]) -> list[str]:
    """Decrypt the browser's session cookie with the demo's keys: the user's auth data."""
    header = "; ".join(f"{c.get('name')}={c.get('value')}" for c in cookies)
    read = demo.host.sessions.read([(b"cookie", header.encode())], time.time())
    assert read.session is not None, "the browser's cookie must hold a valid session"
    values = list((read.session.user.auth_data or {}).values())
    assert values, "the mock issues tokens, so there is auth data to leak"
    return values


def _tool_view(page: Page) -> dict[str, Any]:
    """The JSON under "What tools see", as rendered."""
    block = page.locator("h2", has_text="What tools see").locator("xpath=following::pre[1]")
    view: dict[str, Any] = json.loads(block.inner_text())
    return view


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0
    assert height > 0


def _sign_in_as_ada(page: Page, context: BrowserContext, demo: DemoServer) -> None:
    """Steps 1-3: signed out to the login page, pick Ada, see her page, reload."""
    _open(page, demo, "/")
    _assert_login_page(page)

    landed = _pick(page, "Ada Admin")
    assert landed.status == 200
    assert _path(page) == "/"
    assert _signed_in_name(page) == "Ada Admin"
    tools = _tool_view(page)
    assert tools["userId"] == "admin"
    assert "pika:content-admin" in tools["roles"]
    assert "authData" not in tools

    cookies = _session_cookies(context, demo)
    assert cookies, "signing in sets the session cookie"
    for cookie in cookies:
        assert cookie.get("httpOnly") is True
        assert cookie.get("sameSite") == "Lax"
    readable = page.evaluate("document.cookie")
    assert demo.host.sessions.cookie_name not in readable, "scripts must not read the session"
    hidden = {f"cookie {c.get('name')}": c.get("value", "") for c in cookies}
    for index, value in enumerate(_auth_data_values(demo, cookies)):
        hidden[f"auth data value {index}"] = value
    assert all(hidden.values())
    html, text = page.content(), page.locator("body").inner_text()
    # Names only: a failure must not print the secret it found.
    assert [name for name, value in hidden.items() if value in html or value in text] == []

    reloaded = page.reload()
    assert reloaded is not None
    assert reloaded.status == 200
    assert _signed_in_name(page) == "Ada Admin"


def test_a_person_signs_in_uses_admin_signs_out_and_staff_is_refused(
    page: Page, context: BrowserContext, demo: DemoServer, tmp_path: Path
) -> None:
    _sign_in_as_ada(page, context, demo)
    shot = tmp_path / "home.png"
    page.screenshot(path=shot, full_page=True)
    _assert_png(shot)

    # 4. /admin is allowed for Ada.
    admin = _open(page, demo, "/admin")
    assert admin.status == 200
    assert _path(page) == "/admin"
    assert page.locator("h1").inner_text() == "Admin"
    assert "Welcome, Ada" in page.locator("body").inner_text()

    # 5. Sign out in the UI: the link shows a confirmation form; submitting it ends the session.
    _follow(page, page.get_by_role("link", name="Sign out").click)
    assert _path(page) == "/auth/logout"
    assert "Do you want to sign out?" in page.locator("body").inner_text()
    assert _session_cookies(context, demo), "showing the form must not sign anyone out"
    _follow(page, page.get_by_role("button", name="Sign out").click)
    _assert_login_page(page)
    assert _session_cookies(context, demo) == []
    _open(page, demo, "/")
    _assert_login_page(page)

    # 6. The next person signs in as Sam Staff: the same /admin is refused.
    _pick(page, "Sam Staff")
    assert _path(page) == "/"
    assert _signed_in_name(page) == "Sam Staff"
    refused = _open(page, demo, "/admin")
    assert refused.status == 403
    assert page.locator("h1").inner_text() == "Access denied"
    assert "Welcome" not in page.locator("body").inner_text()


def test_a_login_started_from_a_deep_link_returns_there(page: Page, demo: DemoServer) -> None:
    # 7. Signed out, open /admin?x=1: the login page; after picking Ada, back on /admin?x=1.
    _open(page, demo, "/admin?x=1")
    _assert_login_page(page)
    landed = _pick(page, "Ada Admin")
    assert _path(page) == "/admin?x=1"
    assert landed.status == 200
    assert page.locator("h1").inner_text() == "Admin"

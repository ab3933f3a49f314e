"""The SAML flow in Chromium against npm ``samlify``, the SP served over HTTPS.

Protected page -> samlify ``/sso`` (which checks the SP's signed
AuthnRequest) -> samlify's auto-submitted form: a cross-site POST from
``http://127.0.0.1:<idp>`` to ``https://localhost:<sp>/auth/saml/acs`` ->
the page first asked for. The flow cookie is ``SameSite=None; Secure``, so
the SP runs under uvicorn with TLS and a certificate made at test time (the
browser context accepts it). Then: reload keeps the session; logout ends it.
Missing Node or Chromium skips loudly, and fails when the run promised them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import ACTION_TIMEOUT_MS, _skip_or_fail, make_tls_certificate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.interop]

TESTS = Path(__file__).parent.parent
SKIP = (
    "BROWSER TEST NOT RUN: {what} is missing, so the SAML flow was NOT driven in Chromium "
    "against samlify. Install Node 20+ and run `npm ci --prefix tests/interop` "
    "(`scripts/test` does this)."
)


def _load(name: str, path: Path) -> ModuleType:
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


samlify = _load("authplug_tests_samlify_idp", TESTS / "interop" / "samlify_idp.py")
keys_module = _load("authplug_tests_saml_idp", TESTS / "plugins" / "saml" / "idp.py")


async def _whoami(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    user = scope.get("authplug.user")
    body = json.dumps({"user": user.user_id if user is not None else None}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def idp() -> Iterator[Any]:
    what = samlify.missing()
    if what is not None:
        _skip_or_fail(SKIP.format(what=what))
    keys = keys_module.make_keypair("samlify-idp")
    with samlify.samlify_idp(keys.key_pem, keys.cert_pem) as running:
        yield running


@pytest.fixture
def sp_url(idp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The SP (authplug-saml behind the ASGI middleware) under uvicorn with TLS."""
    import base64

    import uvicorn

    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host
    from authplug.stores.sqlite import SqliteUserStore
    from authplug_saml import SamlProvider, SamlSettings

    for name in [name for name in os.environ if name.startswith("AUTHPLUG_")]:
        monkeypatch.delenv(name)
    tls_cert, tls_key, _ = make_tls_certificate(
        tmp_path, "localhost", ["localhost", "127.0.0.1"], dt.timedelta(days=1)
    )
    sp_keys = keys_module.make_keypair("authplug-sp")
    (tmp_path / "sp.key").write_bytes(sp_keys.key_pem)
    (tmp_path / "sp.crt").write_bytes(sp_keys.cert_pem)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"https://localhost:{sock.getsockname()[1]}"
    settings = SamlSettings.model_validate(
        {
            "sp_entity_id": url + "/sp",
            "base_url": url,
            "idp_metadata": {"xml": idp.metadata()},
            "sp_key_file": str(tmp_path / "sp.key"),
            "sp_cert_file": str(tmp_path / "sp.crt"),
        }
    )
    provider = SamlProvider(settings)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    store = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    host = build_host(
        provider,
        AuthplugConfig(cookie_keys=[key], cookie_secure=True),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    idp.configure(
        provider.client().metadata_xml(sign=True).decode(),
        "assertion",
        {"nameId": "alice-browser", "attributes": {"givenName": ["Alice"], "sn": ["Liddell"]}},
    )
    config = uvicorn.Config(
        AuthMiddleware(_whoami, host=host),
        log_level="warning",
        lifespan="off",
        access_log=False,
        ssl_keyfile=str(tls_key),
        ssl_certfile=str(tls_cert),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start the SP")
            time.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.close()


@pytest.fixture
def tls_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile that accepts the test-time certificate."""
    made = browser.new_context(ignore_https_errors=True)
    # Three servers and xmlsec1 on a loaded two-core machine: allow more than the demo.
    made.set_default_timeout(3 * ACTION_TIMEOUT_MS)
    made.set_default_navigation_timeout(3 * ACTION_TIMEOUT_MS)
    try:
        yield made
    finally:
        made.close()


def _session_cookies(context: BrowserContext) -> list[Any]:
    return [c for c in context.cookies() if "authplug_session" in c["name"]]


def test_saml_login_in_chromium(tls_context: BrowserContext, sp_url: str, idp: Any) -> None:
    page = tls_context.new_page()
    response = page.goto(sp_url + "/reports/q3?x=1")
    assert response is not None
    page.wait_for_url(sp_url + "/reports/q3?x=1")
    assert json.loads(page.inner_text("body")) == {"user": f"{idp.entity_id}!alice-browser"}
    cookies = _session_cookies(tls_context)
    assert cookies
    assert all(c["sameSite"] == "Lax" and c["secure"] for c in cookies)
    # The flow cookie was consumed by the ACS.
    assert not [c for c in tls_context.cookies() if "_flow." in c["name"]]

    page.reload()
    assert json.loads(page.inner_text("body")) == {"user": f"{idp.entity_id}!alice-browser"}

    # samlify keeps no IdP session and would log the browser straight back in:
    # keep the browser away from it after logout, and read the logout answer itself.
    tls_context.route(idp.base + "/**", lambda route: route.abort())
    page.goto(sp_url + "/auth/logout")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/auth/logout")
    ) as answer:
        page.click("button[type=submit]")
    set_cookies = [
        h["value"]
        for h in answer.value.headers_array()
        if h["name"].lower() == "set-cookie" and "authplug_session" in h["value"]
    ]
    assert set_cookies
    assert all("max-age=0" in value.lower() for value in set_cookies)

"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and the
real demo app served by uvicorn on 127.0.0.1.

No browser build is ever downloaded: Playwright launches ``/usr/bin/chromium``
(the ``chromium`` apt package, which ``scripts/test`` installs). Without it the
tests skip loudly, or fail when the run promised them (``BROWSER_REQUIRED=1``,
set by the nox ``tests`` session whenever ``/usr/bin/chromium`` exists).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from authplug.demo import create_app, demo_host
from authplug.host import Host

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # As root, Chromium's own connections (component updates, sync, field
    # trials) crowd out the page's unless these are off.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BROWSER_SKIP = (
    "BROWSER TEST NOT RUN: {what} is missing, so the demo was NOT driven in a real browser. "
    "Install Debian's `chromium` and the `playwright` package (`scripts/test` does both)."
)
ACTION_TIMEOUT_MS = 10_000


def make_tls_certificate(
    folder: Path, common_name: str, names: Sequence[str], valid: dt.timedelta
) -> tuple[Path, Path, str]:
    """A self-signed P-256 HTTPS server certificate made now, for the test servers.

    ``common_name`` is its subject; ``names`` (IP addresses or DNS names) its
    subjectAltName; valid from 5 minutes ago for ``valid``. Returns its files
    (``folder/cert.pem``, ``folder/key.pem``) and its key's SPKI SHA-256, base64
    (what Chromium's ``--ignore-certificate-errors-spki-list`` takes).
    ``authplug.sp_keypair`` makes RSA certificates without a subjectAltName,
    which Chromium refuses for HTTPS, hence this helper.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def general_name(value: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            return x509.DNSName(value)

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + valid)
        .add_extension(
            x509.SubjectAlternativeName([general_name(value) for value in names]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert_path, key_path, base64.b64encode(hashlib.sha256(spki).digest()).decode()


"""Longest Playwright waits for a page or an element before failing the test."""


def _skip_or_fail(reason: str) -> NoReturn:
    """Skip loudly, or fail when the run promised a browser (``BROWSER_REQUIRED=1``)."""
    if os.environ.get("BROWSER_REQUIRED") == "1":
        pytest.fail(reason.replace("BROWSER TEST NOT RUN", "BROWSER REQUIRED BUT NOT RUN"))
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from ``/usr/bin/chromium``, shared by one module's tests.

    Module scope, not session: while Playwright's sync API is started, its
    event loop counts as running in this thread, so every async test after it
    would fail with "Cannot run the event loop while another loop is running".
    """
    if not CHROMIUM.is_file():
        _skip_or_fail(BROWSER_SKIP.format(what=f"`{CHROMIUM}`"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail(BROWSER_SKIP.format(what="the `playwright` Python package"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies), closed after the test."""
    made = browser.new_context()
    made.set_default_timeout(ACTION_TIMEOUT_MS)
    made.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    try:
        yield made
    finally:
        made.close()


@dataclass(frozen=True)
class DemoServer:
    """The demo app running on 127.0.0.1, and the host it uses (to read cookies back)."""

    url: str
    host: Host

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``)."""
        return f"{self.url}{path}"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoServer]:
    """The real demo app (mock provider, SQLite in ``tmp_path``) under uvicorn on a free port."""
    import uvicorn

    monkeypatch.chdir(tmp_path)  # no stray authplug.toml
    for name in [name for name in os.environ if name.startswith("AUTHPLUG_")]:
        monkeypatch.delenv(name)
    host = demo_host(tmp_path / "data")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(host), log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start the demo app")
            time.sleep(0.01)
        yield DemoServer(url=f"http://127.0.0.1:{port}", host=host)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        host.close()

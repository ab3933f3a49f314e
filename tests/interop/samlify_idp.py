"""Start ``saml_idp.mjs`` (npm ``samlify`` as a SAML IdP) on 127.0.0.1 and talk to it.

Shared by the interop suite (``test_saml_interop.py``) and the browser test
(``tests/browser/test_saml_in_browser.py``), which load this file by path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
SAMLIFY_PACKAGE = HERE / "node_modules" / "samlify" / "package.json"


def missing() -> str | None:
    """What is missing to run samlify (``None`` when ready)."""
    if shutil.which("node") is None:
        return "`node`"
    if not SAMLIFY_PACKAGE.is_file():
        return "tests/interop/node_modules/samlify"
    return None


class SamlifyIdp:
    """A running samlify IdP: its base URL, metadata and per-test configuration."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    @property
    def entity_id(self) -> str:
        """The IdP's entity id (its metadata URL)."""
        return self.base + "/metadata"

    def metadata(self) -> str:
        """samlify's IdP metadata."""
        return httpx.get(self.base + "/metadata", timeout=10).text

    def configure(self, sp_metadata: str, signing: str, user: dict[str, Any]) -> None:
        """Trust this SP metadata, sign ``assertion``/``response``/``both``, log in ``user``."""
        response = httpx.post(
            self.base + "/configure",
            json={"spMetadata": sp_metadata, "signing": signing, "user": user},
            timeout=10,
        )
        if response.status_code != 204:
            raise RuntimeError(f"samlify /configure failed: {response.text[:500]}")


@contextmanager
def samlify_idp(key_pem: bytes, cert_pem: bytes) -> Iterator[SamlifyIdp]:
    """Run the IdP with this signing key until the block ends."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is missing")
    request = json.dumps({"keyPem": key_pem.decode(), "certPem": cert_pem.decode()})
    process = subprocess.Popen(
        [node, str(HERE / "saml_idp.mjs"), request],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("saml_idp.mjs did not start")
        yield SamlifyIdp(int(json.loads(line)["port"]))
    finally:
        process.kill()
        process.wait(timeout=10)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


class AutoPostForm(HTMLParser):
    """The form of an IdP's auto-submitting page: ``action`` and its hidden fields."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect the form's action and its named inputs."""
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")

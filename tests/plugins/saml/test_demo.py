"""The demo signs in through a SAML IdP when the configuration names ``saml``.

Issue #12's "done when": install the core and the SAML provider, point it at
an IdP's metadata, and the demo (`authplug demo`, :func:`authplug.demo.create_app`)
logs in through it. The configuration comes only from ``AUTHPLUG_*``
variables, as an operator sets it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from authplug.demo import create_app, demo_host

from .conftest import ACS_URL, APP, SP_ENTITY_ID, post_response, read_redirect

pytestmark = pytest.mark.anyio


async def test_the_demo_logs_in_through_the_configured_saml_idp(
    idp: Any,
    settings_values: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHPLUG_PROVIDER", "saml")
    for key, value in settings_values.items():
        text = json.dumps(value) if isinstance(value, dict) else str(value)
        monkeypatch.setenv(f"AUTHPLUG_SAML__{key.upper()}", text)
    host = demo_host(tmp_path)
    app = create_app(host)
    assert app.state.provider_name == "saml"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=APP
        ) as client:
            first = await client.get("/admin", headers={"accept": "text/html"})
            assert first.status_code == 302
            assert first.headers["location"].startswith(idp.sso_url)
            login = read_redirect(first.headers["location"])
            xml = idp.response(
                sp_entity_id=SP_ENTITY_ID,
                acs_url=ACS_URL,
                in_response_to=login.request_id,
                attributes={
                    "email": ["alice@corp.example"],
                    "givenName": ["Alice"],
                    "sn": ["Liddell"],
                    "groups": ["admins"],
                },
            )
            done = await post_response(client, xml, login.relay_state)
            assert done.status_code == 302, done.text
            assert done.headers["location"] == "/admin"
            admin = await client.get("/admin", headers={"accept": "text/html"})
            assert admin.status_code == 200  # groups admins -> pika:content-admin
            home = await client.get("/")
            assert home.status_code == 200
            assert "Alice" in home.text
    finally:
        host.close()
    assert (tmp_path / "users.sqlite3").exists()

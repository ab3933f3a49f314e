"""Single logout (SP-initiated) and the IdP-initiated login switch."""

from __future__ import annotations

import base64
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest

from .conftest import (
    ACS_URL,
    APP,
    SP_ENTITY_ID,
    _key,
    _whoami,
    idp_module,
    post_response,
    start_login,
)

pytestmark = pytest.mark.anyio


async def _logged_in(client: httpx.AsyncClient, idp: Any) -> None:
    login = await start_login(client)
    xml = idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=login.request_id)
    assert (await post_response(client, xml, login.relay_state)).status_code == 302


async def test_logout_sends_a_signed_logout_request_to_the_idp(
    client: httpx.AsyncClient, idp: Any
) -> None:
    await _logged_in(client, idp)
    form = await client.get("/auth/logout")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = await client.post("/auth/logout", data={"csrf_token": token})
    assert done.status_code in (302, 303)
    location = done.headers["location"]
    assert location.startswith(idp.slo_url + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"]
    request = ET.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))  # noqa: S314
    assert request.tag.endswith("LogoutRequest")
    name_id = request.find("{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
    assert name_id is not None
    assert name_id.text == "alice-0001"
    assert request.find("{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex") is not None
    assert (await client.get("/x", headers={"accept": "application/json"})).status_code == 401


async def test_sls_without_a_logout_response_is_a_clean_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/saml/sls", params={"SAMLResponse": "bm90IHNhbWw="})
    assert response.status_code == 400
    assert "signed out" in response.text


async def test_idp_without_slo_logs_out_locally(
    settings_values: dict[str, Any], provider_factory: Any, store: Any, idp: Any
) -> None:
    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host

    idp.slo_url = None
    values = {**settings_values, "idp_metadata": {"xml": idp.metadata()}}
    host = build_host(
        provider_factory(values),
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as client:
        await _logged_in(client, idp)
        form = await client.get("/auth/logout")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = await client.post("/auth/logout", data={"csrf_token": token})
        assert not done.headers.get("location", "").startswith("https://idp.example")


@pytest.fixture
def unsolicited_values(settings_values: dict[str, Any]) -> dict[str, Any]:
    return {**settings_values, "allow_idp_initiated": True}


async def test_idp_initiated_login_only_when_enabled(
    client: httpx.AsyncClient,
    unsolicited_values: dict[str, Any],
    provider_factory: Any,
    store: Any,
    idp: Any,
) -> None:
    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host

    xml = idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=None)
    refused = await client.post(
        "/auth/saml/acs",
        data={"SAMLResponse": idp_module.encode(xml)},
        headers={"accept": "application/json"},
    )
    assert refused.status_code == 401
    assert refused.json()["reason"] == "unsolicited_response"

    host = build_host(
        provider_factory(unsolicited_values),
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as enabled:
        accepted = await enabled.post(
            "/auth/saml/acs", data={"SAMLResponse": idp_module.encode(xml)}
        )
        assert accepted.status_code == 302
        assert accepted.headers["location"] == "/"  # never a RelayState target
        evil = idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=None)
        absolute = await enabled.post(
            "/auth/saml/acs",
            data={"SAMLResponse": idp_module.encode(evil), "RelayState": "https://evil.example/"},
            headers={"accept": "application/json"},
        )
        assert absolute.status_code == 401
        assert absolute.json()["reason"] == "bad_relay_state"
        answering = idp.response(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to="id-someone-elses"
        )
        stray = await enabled.post(
            "/auth/saml/acs",
            data={"SAMLResponse": idp_module.encode(answering)},
            headers={"accept": "application/json"},
        )
        assert stray.status_code == 401

"""The SP-initiated SAML flow through the real host: login, ACS, session, logout."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authplug.errors import ForceUserToReauthenticateError
from authplug.models import AuthenticatedUser
from authplug_saml.user import EXPIRES_AT

from .conftest import ACS_URL, SP_ENTITY_ID, post_response, read_redirect, start_login

pytestmark = pytest.mark.anyio


async def test_full_flow_assertion_signed(client: httpx.AsyncClient, idp: Any, store: Any) -> None:
    login = await start_login(client, "/reports?q=1")
    assert login.authn_request.get("AssertionConsumerServiceURL") == ACS_URL
    assert login.authn_request.get("Destination") == idp.sso_url
    assert login.query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert "Signature" in login.query
    xml = idp.response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        in_response_to=login.request_id,
        attributes={
            "email": ["alice@corp.example"],
            "givenName": ["Alice"],
            "sn": ["Liddell"],
            "groups": ["admins", "staff", "other"],
        },
    )
    done = await post_response(client, xml, login.relay_state)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/reports?q=1"
    set_cookies = done.headers.get_list("set-cookie")
    assert any(c.startswith("authplug_session.0=") and "SameSite=Lax" in c for c in set_cookies)
    me = (await client.get("/reports")).json()
    assert me["userId"] == f"{idp.entity_id}!alice-0001"
    assert (me["firstName"], me["lastName"]) == ("Alice", "Liddell")
    assert me["userType"] == "internal-user"
    assert me["roles"] == ["pika:content-admin", "pika:reader"]
    assert me["customData"] == {"email": "alice@corp.example"}
    record = store.get(me["userId"])
    assert record is not None
    assert "saml_name_id" not in record.model_dump_json()


@pytest.mark.parametrize(
    ("sign_assertion", "sign_response", "want"),
    [
        (False, True, {"want_assertions_signed": False, "want_response_signed": True}),
        (True, True, {"want_assertions_signed": True, "want_response_signed": True}),
        (True, False, {"want_assertions_signed": True, "want_response_signed": False}),
    ],
)
async def test_signing_modes(
    settings_values: dict[str, Any],
    provider_factory: Any,
    store: Any,
    idp: Any,
    sign_assertion: bool,
    sign_response: bool,
    want: dict[str, bool],
) -> None:
    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host

    from .conftest import APP, _key, _whoami

    provider = provider_factory({**settings_values, **want})
    host = build_host(
        provider,
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        login = await start_login(c)
        xml = idp.response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            in_response_to=login.request_id,
            sign_assertion=sign_assertion,
            sign_response=sign_response,
        )
        done = await post_response(c, xml, login.relay_state)
        assert done.status_code == 302, done.text


async def test_login_entry_point_starts_a_saml_login(client: httpx.AsyncClient, idp: Any) -> None:
    start = await client.get("/auth/login", params={"return_to": "/after"})
    assert start.status_code == 302
    login = read_redirect(start.headers["location"])
    flow = [c for c in start.headers.get_list("set-cookie") if "_flow." in c]
    assert len(flow) == 1
    assert "SameSite=None" in flow[0]
    assert "Secure" in flow[0]
    xml = idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=login.request_id)
    done = await post_response(client, xml, login.relay_state)
    assert done.headers["location"] == "/after"


async def test_api_client_gets_401_not_a_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/reports", headers={"accept": "application/json"})
    assert response.status_code == 401


async def test_sp_metadata_is_signed(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/saml/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    body = response.text
    assert SP_ENTITY_ID in body
    assert ACS_URL in body
    assert "SignatureValue" in body
    assert "rsa-sha256" in body


async def test_session_ends_at_session_not_on_or_after(
    settings_values: dict[str, Any], store: Any, idp: Any
) -> None:
    """Through the host: the session lives until SessionNotOnOrAfter, then login starts again."""
    import datetime as dt
    import time

    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host
    from authplug_saml import SamlProvider, SamlSettings

    from .conftest import APP, _key, _whoami

    now = [time.time()]

    def clock() -> float:
        return now[0]

    provider = SamlProvider(SamlSettings.model_validate(settings_values), clock=clock)
    host = build_host(
        provider,
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False, validate_interval=60),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        login = await start_login(c)
        end = dt.datetime.fromtimestamp(now[0], dt.UTC) + dt.timedelta(minutes=30)
        xml = idp.response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            in_response_to=login.request_id,
            session_not_on_or_after=end,
        )
        assert (await post_response(c, xml, login.relay_state)).status_code == 302
        now[0] += 20 * 60
        assert (await c.get("/x")).status_code == 200
        now[0] += 11 * 60  # past SessionNotOnOrAfter (not the 8 h session_lifetime)
        again = await c.get("/x")
        assert again.status_code == 302
        assert again.headers["location"].startswith(idp.sso_url)


def test_validate_and_refresh_end_the_session(provider: Any) -> None:
    user = AuthenticatedUser[dict[str, str], dict[str, str]](
        user_id="u", user_type="external-user", auth_data={EXPIRES_AT: "4102444800"}
    )
    assert provider.validate_user(None, user) is None
    with pytest.raises(ForceUserToReauthenticateError):
        provider.refresh(user)
    expired = user.model_copy(update={"auth_data": {EXPIRES_AT: "1000"}})
    with pytest.raises(ForceUserToReauthenticateError):
        provider.validate_user(None, expired)
    with pytest.raises(ForceUserToReauthenticateError):
        provider.validate_user(None, user.model_copy(update={"auth_data": {}}))

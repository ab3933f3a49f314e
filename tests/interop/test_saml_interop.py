"""authplug-saml against npm ``samlify`` (2.13): the whole SP-initiated flow through the host.

``saml_idp.mjs`` runs samlify as an IdP on 127.0.0.1 (ephemeral port). The
SP is the real provider behind the real ASGI middleware; httpx plays the
browser: protected page -> 302 to samlify's ``/sso`` (samlify verifies the
SP's signed AuthnRequest) -> samlify's auto-submit form -> POST to the ACS
-> back on the page first asked for, with the attributes mapped. Signing
modes: assertion only, response only, both; multi-valued attributes.
Missing Node skips loudly, and fails when ``INTEROP_REQUIRED=1`` (nox).
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import _skip_or_fail

HERE = Path(__file__).parent
APP = "https://app.example"
SKIP = (
    "INTEROP NOT RUN: {what} is missing, so the SAML provider was NOT checked against "
    "npm `samlify`. Install Node 20+ and run `npm ci --prefix tests/interop` "
    "(`scripts/test` does this)."
)

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


def _load(name: str, path: Path) -> ModuleType:
    """Import a helper module by path, once."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


samlify = _load("authplug_tests_samlify_idp", HERE / "samlify_idp.py")


def _idp_helpers() -> ModuleType:
    return _load("authplug_tests_saml_idp", HERE.parent / "plugins" / "saml" / "idp.py")


@pytest.fixture(scope="module")
def samlify_idp() -> Iterator[Any]:
    what = samlify.missing()
    if what is not None:
        _skip_or_fail(SKIP.format(what=what))
    keys = _load(
        "authplug_tests_saml_idp", HERE.parent / "plugins" / "saml" / "idp.py"
    ).make_keypair("samlify-idp")
    with samlify.samlify_idp(keys.key_pem, keys.cert_pem) as running:
        yield running


def _key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


async def _whoami(scope: Any, receive: Any, send: Any) -> None:
    user = scope.get("authplug.user")
    body = user.model_dump_json(by_alias=True).encode() if user is not None else b"null"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("signing", ["assertion", "response", "both"])
async def test_sp_initiated_flow_against_samlify(
    samlify_idp: Any, tmp_path: Path, signing: str
) -> None:
    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host
    from authplug.stores.sqlite import SqliteUserStore
    from authplug_saml import SamlProvider, SamlSettings

    sp_keys = _idp_helpers().make_keypair("authplug-sp")
    (tmp_path / "sp.key").write_bytes(sp_keys.key_pem)
    (tmp_path / "sp.crt").write_bytes(sp_keys.cert_pem)
    settings = SamlSettings.model_validate(
        {
            "sp_entity_id": APP + "/sp",
            "base_url": APP,
            "idp_metadata": {"xml": samlify_idp.metadata()},
            "sp_key_file": str(tmp_path / "sp.key"),
            "sp_cert_file": str(tmp_path / "sp.crt"),
            "want_assertions_signed": signing in ("assertion", "both"),
            "want_response_signed": signing in ("response", "both"),
            "claims": {
                "first_name": "givenName",
                "last_name": "sn",
                "roles": "groups",
                "role_map": {"admins": "pika:content-admin", "staff": "pika:reader"},
                "internal_email_domains": ["corp.example"],
                "custom_data": {"email": "email"},
            },
        }
    )
    store = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    host = build_host(
        SamlProvider(settings),
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=APP) as browser:
            sp_metadata = (await browser.get("/auth/saml/metadata")).text
            samlify_idp.configure(
                sp_metadata,
                signing,
                {
                    "nameId": "alice-samlify",
                    "attributes": {
                        "email": ["alice@corp.example"],
                        "givenName": ["Alice"],
                        "sn": ["Liddell"],
                        "groups": ["admins", "staff", "unmapped"],
                    },
                },
            )
            start = await browser.get("/reports/q3?x=1")
            assert start.status_code == 302
            location = start.headers["location"]
            assert location.startswith(samlify_idp.base + "/sso?")
            async with httpx.AsyncClient(timeout=10) as to_idp:
                page = await to_idp.get(location)
            assert page.status_code == 200, page.text
            form = samlify.AutoPostForm(page.text)
            assert form.action == APP + "/auth/saml/acs"
            done = await browser.post(
                "/auth/saml/acs", data=form.fields, headers={"accept": "application/json"}
            )
            assert done.status_code == 302, done.text
            assert done.headers["location"] == "/reports/q3?x=1"
            me = (await browser.get("/reports/q3")).json()
        idp_entity = samlify_idp.base + "/metadata"
        assert me["userId"] == f"{idp_entity}!alice-samlify"
        assert (me["firstName"], me["lastName"]) == ("Alice", "Liddell")
        assert me["userType"] == "internal-user"
        assert me["roles"] == ["pika:content-admin", "pika:reader"]
        assert me["customData"] == {"email": "alice@corp.example"}
        assert store.get(me["userId"]) is not None
    finally:
        store.close()

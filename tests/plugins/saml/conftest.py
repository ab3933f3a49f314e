"""Fixtures for the SAML provider tests: a signxml test IdP, SP keys, a host behind ASGI.

Everything runs in-process: the SP is the real provider behind the real ASGI
middleware (httpx.ASGITransport, ``https://app.example`` so the
``SameSite=None; Secure`` flow cookie travels), the IdP is
:class:`idp.TestIdP` signing with signxml. Keys are made at test time.
"""

from __future__ import annotations

import base64
import importlib.util
import shutil
import sys
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig
from authplug.host import Host, PluginInfo, build_host
from authplug.stores.memory import MemoryUserStore

HERE = Path(__file__).parent
APP = "https://app.example"
SP_ENTITY_ID = "https://app.example/sp"
ACS_URL = APP + "/auth/saml/acs"


def _load_idp_module() -> ModuleType:
    name = "authplug_tests_saml_idp"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, HERE / "idp.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


idp_module = _load_idp_module()


@pytest.fixture(scope="session", autouse=True)
def _xmlsec_present() -> None:
    if shutil.which("xmlsec1") is None:
        pytest.fail("xmlsec1 is missing: install the Debian package xmlsec1 (scripts/test does)")


@pytest.fixture(scope="session")
def idp_keys() -> Any:
    return idp_module.make_keypair("test-idp")


@pytest.fixture
def idp(idp_keys: Any) -> Any:
    return idp_module.TestIdP(keys=idp_keys)


@pytest.fixture(scope="session")
def sp_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sp-keys")
    pair = idp_module.make_keypair("test-sp")
    key, cert = folder / "sp.key", folder / "sp.crt"
    key.write_bytes(pair.key_pem)
    cert.write_bytes(pair.cert_pem)
    return key, cert


@pytest.fixture
def settings_values(idp: Any, sp_files: tuple[Path, Path]) -> dict[str, Any]:
    """The ``[saml]`` table; tests change keys before the provider is built."""
    key, cert = sp_files
    return {
        "sp_entity_id": SP_ENTITY_ID,
        "base_url": APP,
        "idp_metadata": {"xml": idp.metadata()},
        "sp_key_file": str(key),
        "sp_cert_file": str(cert),
        "claims": {
            "user_id": "saml:subject",
            "first_name": "givenName",
            "last_name": "sn",
            "roles": "groups",
            "role_map": {"admins": "pika:content-admin", "staff": "pika:reader"},
            "internal_email_domains": ["corp.example"],
            "custom_data": {"email": "email"},
        },
    }


@pytest.fixture
def provider_factory() -> Callable[..., Any]:
    from authplug_saml import SamlProvider, SamlSettings

    def make(values: dict[str, Any]) -> Any:
        return SamlProvider(SamlSettings.model_validate(values))

    return make


@pytest.fixture
def provider(provider_factory: Callable[..., Any], settings_values: dict[str, Any]) -> Any:
    return provider_factory(settings_values)


@pytest.fixture
def store() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def host(provider: Any, store: MemoryUserStore) -> Host:
    config = AuthplugConfig(cookie_keys=[_key()], cookie_secure=False, store="memory")
    return build_host(provider, config, provider_info=PluginInfo(name="saml"), store=store)


def _key() -> str:
    import secrets

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


async def _whoami(scope: Any, receive: Any, send: Any) -> None:
    user = scope.get("authplug.user")
    body = (user.model_dump_json(by_alias=True) if user is not None else "null").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def client(host: Host) -> AsyncIterator[httpx.AsyncClient]:
    app = AuthMiddleware(_whoami, host=host)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        yield c


@dataclass
class Login:
    """A login the SP started: the IdP-side view of its AuthnRequest."""

    request_id: str
    relay_state: str
    authn_request: ET.Element
    query: dict[str, list[str]]


def read_redirect(location: str) -> Login:
    """Decode the HTTP-Redirect AuthnRequest the SP sent the browser to."""
    query = parse_qs(urlsplit(location).query)
    raw = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    element = ET.fromstring(raw)  # noqa: S314 - our own SP's request
    return Login(element.get("ID") or "", query["RelayState"][0], element, query)


async def start_login(client: httpx.AsyncClient, path: str = "/reports?q=1") -> Login:
    response = await client.get(path)
    assert response.status_code == 302, response.text
    return read_redirect(response.headers["location"])


async def post_response(
    client: httpx.AsyncClient, xml: str, relay_state: str | None, **extra: str
) -> httpx.Response:
    data = {"SAMLResponse": idp_module.encode(xml), **extra}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return await client.post("/auth/saml/acs", data=data)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

"""Start-up refusals of the SAML provider: each unsafe setting is a ConfigError naming the key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from authplug.errors import ConfigError
from authplug.loader import load
from authplug.stores.base import UserStore
from authplug.stores.memory import MemoryUserStore
from authplug_saml import SamlProvider, SamlSettings
from authplug_saml.xmlsec import find_xmlsec

from .conftest import idp_module


def settings(values: dict[str, Any], **changes: Any) -> SamlSettings:
    return SamlSettings.model_validate({**values, **changes})


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"want_assertions_signed": False, "want_response_signed": False}, "unsigned response"),
        ({"only_use_keys_in_metadata": False}, "only_use_keys_in_metadata"),
        ({"signing_algorithm": "rsa-sha1"}, "signing_algorithm"),
        ({"base_url": "http://app.example"}, "base_url"),
        ({"base_url": "ftp://app.example"}, "base_url"),
        ({"clock_skew": 301}, "clock_skew"),
        ({"acs_path": "/saml/acs"}, "acs_path"),
        ({"sp_cert_file": None}, "sp_key_file and sp_cert_file"),
        ({"idp_metadata": {}}, "exactly one"),
        ({"idp_metadata": {"url": "http://idp.example/md"}}, "https"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_unsafe_settings_are_refused(
    settings_values: dict[str, Any], changes: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(settings_values, **changes)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]"]
)
def test_plain_http_only_on_loopback(settings_values: dict[str, Any], origin: str) -> None:
    assert settings(settings_values, base_url=origin).acs_url == origin + "/auth/saml/acs"


def test_idp_without_signing_certificate_is_refused(
    settings_values: dict[str, Any], idp: Any
) -> None:
    values = {**settings_values, "idp_metadata": {"xml": idp.metadata(signing_cert="")}}
    with pytest.raises(ConfigError, match="signing certificate"):
        SamlProvider(SamlSettings.model_validate(values))


def test_metadata_with_a_doctype_is_refused(settings_values: dict[str, Any], idp: Any) -> None:
    xml = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + idp.metadata()
    with pytest.raises(ConfigError, match="DOCTYPE"):
        SamlProvider(settings(settings_values, idp_metadata={"xml": xml}))


def test_unknown_idp_entity_id_is_refused(settings_values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="idp_entity_id"):
        SamlProvider(settings(settings_values, idp_entity_id="https://nobody.example"))


def test_metadata_file_is_read(settings_values: dict[str, Any], idp: Any, tmp_path: Path) -> None:
    path = tmp_path / "idp.xml"
    path.write_text(idp.metadata())
    provider = SamlProvider(settings(settings_values, idp_metadata={"file": str(path)}))
    assert provider.client().idp.entity_id == idp.entity_id
    with pytest.raises(ConfigError, match="cannot read"):
        SamlProvider(settings(settings_values, idp_metadata={"file": str(tmp_path / "no.xml")}))


def test_missing_xmlsec_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="xmlsec1 package"):
        find_xmlsec(tmp_path / "xmlsec1")


def test_too_old_xmlsec_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "xmlsec1"
    fake.write_text("#!/bin/sh\necho 'xmlsec1 1.2.20 (openssl)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ConfigError, match=r"1\.2\.20 is too old"):
        find_xmlsec(fake)


def test_xmlsec_missing_from_path_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(ConfigError, match="apt-get install xmlsec1"):
        find_xmlsec(None)


def test_store_without_claim_once_is_refused(provider: Any) -> None:
    class OldStore:
        pass

    with pytest.raises(ConfigError, match="claim_once"):
        provider.use_store(OldStore())
    assert not isinstance(OldStore(), UserStore)


def test_loads_through_the_entry_point(settings_values: dict[str, Any]) -> None:
    host = load(provider="saml", settings={"saml": settings_values}, store=MemoryUserStore())
    try:
        assert type(host.provider).__name__ == "SamlProvider"
        assert "/auth/saml/acs" in host.routes
    finally:
        host.close()


def test_authplug_providers_does_not_import_pysaml2() -> None:
    code = (
        "import sys\n"
        "from authplug.cli import main\n"
        "main(['providers'])\n"
        "print('LOADED' if any(m == 'saml2' or m.startswith('saml2.') for m in sys.modules)"
        " else 'CLEAN')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "saml" in result.stdout
    assert result.stdout.strip().endswith("CLEAN")


@pytest.mark.anyio
async def test_requests_import_nothing_new(client_modules: set[str]) -> None:
    """saml2.client is imported at load; a login and an ACS request import no module."""
    assert not client_modules


@pytest.fixture
async def client_modules(client: Any, idp: Any) -> set[str]:
    from .conftest import ACS_URL, SP_ENTITY_ID, post_response, start_login

    async def one_login() -> None:
        login = await start_login(client)
        xml = idp.response(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=login.request_id
        )
        assert (await post_response(client, xml, login.relay_state)).status_code == 302
        client.cookies.clear()

    await one_login()  # the process's first login may load lazy stdlib parts (_strptime)
    before = set(sys.modules)
    await one_login()
    return set(sys.modules) - before


def test_keypair_helper_is_usable() -> None:
    assert idp_module.make_keypair("x").cert_b64

"""IdP metadata from a URL: fetched at start-up, bounded, refreshed, old copy kept on failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from authplug.errors import ConfigError
from authplug_saml import SamlProvider, SamlSettings

from .conftest import idp_module


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(loopback: Callable[[], Any], idp: Any) -> Any:
    server = loopback()
    server.documents["/idp/metadata"] = idp.metadata().encode()
    return server


def provider(settings_values: dict[str, Any], url: str, **source: Any) -> SamlProvider:
    values = {**settings_values, "idp_metadata": {"url": url, **source}}
    return SamlProvider(SamlSettings.model_validate(values))


def test_metadata_is_fetched_at_start_up(
    settings_values: dict[str, Any], served: Any, idp: Any
) -> None:
    loaded = provider(settings_values, served.url_for("/idp/metadata"))
    assert loaded.client().idp.entity_id == idp.entity_id
    assert served.requests == ["/idp/metadata"]


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda s: s.documents.clear(), "answered HTTP 404"),
        (lambda s: setattr(s, "redirect_to", "http://127.0.0.1:9/x"), "redirect"),
        (lambda s: s.documents.update({"/idp/metadata": b"x" * 4096}), "too large"),
        (
            lambda s: s.documents.update({"/idp/metadata": b'<!DOCTYPE x [<!ENTITY e "e">]><x/>'}),
            "DOCTYPE",
        ),
    ],
    ids=["404", "redirect", "too-large", "doctype"],
)
def test_start_up_fails_naming_the_setting(
    settings_values: dict[str, Any], served: Any, setup: Any, needle: str
) -> None:
    setup(served)
    with pytest.raises(ConfigError, match=r"idp_metadata\.url") as caught:
        provider(settings_values, served.url_for("/idp/metadata"), max_bytes=2048)
    assert needle in caught.value.message


def test_unreachable_idp_names_the_host(settings_values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1:9"):
        provider(settings_values, "http://127.0.0.1:9/metadata", timeout=2)


def test_refresh_swaps_in_new_metadata_and_keeps_the_old_on_failure(
    settings_values: dict[str, Any], served: Any, idp: Any
) -> None:
    loaded = provider(settings_values, served.url_for("/idp/metadata"))
    metadata = loaded._idp_metadata
    rotated = idp_module.TestIdP(entity_id=idp.entity_id)  # a new signing key
    served.documents["/idp/metadata"] = rotated.metadata().encode()
    assert metadata.refresh() is None
    assert loaded.client().idp.signing_certs == {rotated.keys.cert_b64}
    served.status = 500
    reason = metadata.refresh()
    assert reason is not None
    assert "HTTP 500" in reason
    assert loaded.client().idp.signing_certs == {rotated.keys.cert_b64}  # the last good copy


def test_a_due_refresh_runs_in_the_background(
    settings_values: dict[str, Any], served: Any, idp: Any
) -> None:
    clock = Clock()
    from authplug_saml.metadata_refresh import IdpMetadata
    from authplug_saml.sp_client import SpClient
    from authplug_saml.xmlsec import find_xmlsec

    settings = SamlSettings.model_validate(
        {**settings_values, "idp_metadata": {"url": served.url_for("/idp/metadata")}}
    )
    xmlsec = find_xmlsec(None)
    metadata = IdpMetadata(
        settings.idp_metadata, lambda doc: SpClient(settings, doc, xmlsec), clock
    )
    first = metadata.current()
    assert metadata.current() is first  # not due: no request to the IdP
    assert served.requests == ["/idp/metadata"]
    clock.now += 3600
    assert metadata.current() is first  # the refresh never makes a request wait
    deadline = time.monotonic() + 30
    while metadata.current() is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metadata.current() is not first
    assert served.requests == ["/idp/metadata", "/idp/metadata"]


def test_check_reports_an_unreachable_idp(settings_values: dict[str, Any], served: Any) -> None:
    loaded = provider(settings_values, served.url_for("/idp/metadata"))
    assert loaded.check() == []
    served.status = 503
    problems = loaded.check()
    assert len(problems) == 1
    assert "HTTP 503" in problems[0]

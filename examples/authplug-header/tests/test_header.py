"""The header provider's own rules: who may assert identity, and how headers are read.

Each test runs a real host (authplug.testing.HostClient) through both the
ASGI and the WSGI middleware, with the TCP peer address set per client.
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from authplug.errors import ConfigError
from authplug.host import Host
from authplug.testing import HOST_KINDS, HostClient, make_host
from authplug_header import HeaderProvider, HeaderSettings

SECRET = secrets.token_urlsafe(24)
JSON = {"accept": "application/json"}
IDENTITY = {"x-forwarded-user": "ada", "x-forwarded-email": "ada@example.com"}


def settings(**overrides: Any) -> HeaderSettings:
    values: dict[str, Any] = {
        "trusted_proxies": ["10.1.0.0/16", "fd00::/8"],
        "shared_secret_header": "X-Proxy-Secret",
        "shared_secret": SECRET,
        "internal_email_domains": ["example.com"],
    }
    values.update(overrides)
    return HeaderSettings.model_validate(values)


@pytest.fixture
def host() -> Iterator[Host]:
    host = make_host(HeaderProvider(settings()), name="header")
    yield host
    host.close()


@pytest.fixture(params=HOST_KINDS)
def kind(request: pytest.FixtureRequest) -> Any:
    return request.param


def client(host: Host, kind: Any, address: str) -> HostClient:
    return HostClient(host, kind, client_address=address)


def test_a_trusted_proxy_with_the_secret_signs_the_user_in(host: Host, kind: Any) -> None:
    with client(host, kind, "10.1.2.3") as c:
        response = c.get(
            "/",
            headers={
                **JSON,
                **IDENTITY,
                "x-forwarded-groups": "staff, admins,,staff",
                "x-proxy-secret": SECRET,
            },
        )
        assert response.status_code == 200, response.text
        user = c.seen_users[-1]
    assert user.user_id == "ada"
    assert user.user_type == "internal-user"
    assert user.roles == ("staff", "admins")
    assert user.custom_data == {"email": "ada@example.com"}
    assert not response.headers.get_list("set-cookie")  # stateless: no session cookie


@pytest.mark.parametrize("address", ["10.2.0.1", "192.0.2.7", "fd01::1".replace("fd01", "fe80")])
def test_identity_headers_from_elsewhere_are_ignored_and_logged(
    host: Host, kind: Any, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="authplug_header"),
        client(host, kind, address) as c,
    ):
        response = c.get("/", headers={**JSON, **IDENTITY, "x-proxy-secret": SECRET})
        assert response.status_code == 401
        assert c.seen_users == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "authplug_header"]
    assert warnings == [
        f"ignored X-Forwarded-User from {address}: not a trusted proxy (trusted_proxies)"
    ]
    assert SECRET not in caplog.text


def test_ipv6_proxy_networks_are_honoured(host: Host, kind: Any) -> None:
    with client(host, kind, "fd12::5") as c:
        assert c.get("/", headers={**JSON, **IDENTITY, "x-proxy-secret": SECRET}).status_code == 200


def test_x_forwarded_for_cannot_smuggle_a_trusted_address(host: Host, kind: Any) -> None:
    with client(host, kind, "198.51.100.9") as c:
        headers = {**JSON, **IDENTITY, "x-proxy-secret": SECRET, "x-forwarded-for": "10.1.0.1"}
        assert c.get("/", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        "wrong",
        SECRET[:-1],
        SECRET + "x",
        SECRET.upper() if SECRET.upper() != SECRET else "X",
    ],
    ids=["missing", "empty", "wrong", "prefix", "longer", "case"],
)
def test_a_missing_or_wrong_shared_secret_is_refused_and_logged(
    host: Host, kind: Any, presented: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**JSON, **IDENTITY}
    if presented is not None:
        headers["x-proxy-secret"] = presented
    with (
        caplog.at_level(logging.WARNING, logger="authplug_header"),
        client(host, kind, "10.1.0.9") as c,
    ):
        assert c.get("/", headers=headers).status_code == 401
        assert c.seen_users == []
    assert "missing or wrong X-Proxy-Secret" in caplog.text
    assert SECRET not in caplog.text


def test_no_user_header_from_a_trusted_proxy_is_not_authenticated(host: Host, kind: Any) -> None:
    with client(host, kind, "10.1.0.9") as c:
        assert c.get("/", headers={**JSON, "x-proxy-secret": SECRET}).status_code == 401


WIRE_NAME = "Jos\u00e9 N\u00fa\u00f1ez".encode().decode("latin-1")  # UTF-8 bytes as latin-1 text


def test_utf8_identity_headers_are_decoded_asgi(host: Host) -> None:
    # on the wire a header is bytes; the proxy sends UTF-8, the core hands latin-1 text
    headers = {
        **JSON,
        **IDENTITY,
        "x-forwarded-preferred-username": WIRE_NAME,
        "x-proxy-secret": SECRET,
    }
    with client(host, "asgi", "10.1.0.9") as c:
        assert c.get("/", headers=headers).status_code == 200
        assert c.seen_users[-1].first_name == "Jos\u00e9 N\u00fa\u00f1ez"


def test_utf8_identity_headers_are_decoded_wsgi(host: Host) -> None:
    # httpx's WSGI transport sends ASCII only: drive the middleware with an environ
    from authplug.testing import RequestSpec
    from authplug.wsgi import AuthMiddleware

    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["authplug.user"])
        start_response("200 OK", [])
        return [b""]

    spec = RequestSpec(
        headers=[
            *IDENTITY.items(),
            ("x-forwarded-preferred-username", WIRE_NAME),
            ("x-proxy-secret", SECRET),
        ],
        client="10.1.0.9",
    )
    statuses: list[str] = []
    middleware = AuthMiddleware(app, host=host)
    try:
        b"".join(middleware(spec.wsgi_environ(), lambda status, headers: statuses.append(status)))
    finally:
        middleware.close()
    assert statuses == ["200 OK"]
    assert seen[0].first_name == "Jos\u00e9 N\u00fa\u00f1ez"


def test_a_header_that_is_not_utf8_is_refused(host: Host) -> None:
    headers = {**JSON, "x-forwarded-user": "\u00ff\u00fe", "x-proxy-secret": SECRET}
    with client(host, "asgi", "10.1.0.9") as c:
        assert c.get("/", headers=headers).status_code == 401


def test_external_domains_are_external_users(host: Host, kind: Any) -> None:
    headers = {**JSON, **IDENTITY, "x-forwarded-email": "eve@example.org", "x-proxy-secret": SECRET}
    with client(host, kind, "10.1.0.9") as c:
        assert c.get("/", headers=headers).status_code == 200
        assert c.seen_users[-1].user_type == "external-user"


def test_without_a_shared_secret_the_address_alone_decides(kind: Any) -> None:
    host = make_host(
        HeaderProvider(settings(shared_secret=None, shared_secret_header=None)), name="header"
    )
    with client(host, kind, "10.1.0.9") as c:
        assert c.get("/", headers={**JSON, **IDENTITY}).status_code == 200
    host.close()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"trusted_proxies": []}, "trusted_proxies"),
        ({"trusted_proxies": ["::/0"]}, "trusts every address"),
        ({"trusted_proxies": ["10.0.0.0/8"], "shared_secret_header": "X-S"}, "together"),
        ({"trusted_proxies": ["10.0.0.0/8"], "shared_secret": "s" * 20}, "together"),
    ],
)
def test_settings_refuse_unsafe_configurations(values: dict[str, Any], message: str) -> None:
    from authplug.loader import load

    with pytest.raises(ConfigError, match=message) as info:
        load(provider="header", settings={"header": values}, environ={}, store="memory")
    assert "s" * 20 not in info.value.message


def test_listed_by_authplug_providers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authplug.cli", "providers", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["header"]["distribution"] == "authplug-header"
    assert rows["header"]["entry_point"] == "authplug_header.provider:HeaderProvider"

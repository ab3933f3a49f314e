"""``ProviderContract``: the tests every authplug provider passes, inherited by subclassing.

Modelled on fsspec's abstract tests: a provider's own suite subclasses
:class:`ProviderContract`, names its entry point, declares its capabilities,
overrides a few fixtures and methods, and inherits every test::

    from authplug.testing import HostClient, ProviderContract

    class TestAcmeContract(ProviderContract):
        entry_point = "acme"
        uses_redirect_flow = True

        @pytest.fixture
        def provider_settings(self) -> dict[str, object]:
            return {"realm": "example"}

        def sign_in(self, client: HostClient) -> dict[str, str]:
            ...  # drive the login; return headers later requests need

What a subclass provides:

* ``entry_point`` (class attribute): the provider's entry-point name.
* capability flags: ``supports_refresh``, ``uses_redirect_flow``,
  ``serves_metadata`` (with ``metadata_path``), ``accepts_bearer``.
* ``secret_settings``: names of settings whose values must never appear in
  an error message.
* fixture ``provider_settings``: a valid settings table; fixture
  ``invalid_settings``: complete tables the provider must refuse.
* :meth:`ProviderContract.sign_in`: complete a login through a
  :class:`~authplug.testing.HostClient`; :meth:`ProviderContract.expire`:
  make a signed-in user the provider must refuse at validation.

Every request-level test runs through both the ASGI and the WSGI host.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import logging
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, ClassVar

import pytest

from authplug.distributions import PROVIDER_GROUP, installed
from authplug.errors import AuthplugError, ConfigError, ForceUserToReauthenticateError
from authplug.host import Host
from authplug.loader import load
from authplug.models import EXTERNAL_USER, INTERNAL_USER, AnyUser, AuthenticatedUser
from authplug.provider import AuthProvider
from authplug.request import AuthRequest
from authplug.results import Authenticated, ProviderResponse, Redirect
from authplug.stores.memory import MemoryUserStore
from authplug.testing.clients import HOST_KINDS, HostClient, HostKind
from authplug.testing.flow import MemoryFlow
from authplug.testing.hosts import make_host, make_key, session_cookies
from authplug.testing.requests import RequestSpec

__all__ = ["ProviderContract"]

PROTECTED = "/contract/protected"
JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html,application/xhtml+xml"}
_MIN_SECRET = 8  # shorter auth_data values (flags, small numbers) may legitimately recur


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _hook(host: Host, name: str, **kwargs: Any) -> Any:
    """Call one hook on the host's plugin manager (through pluggy) and await its result."""
    return asyncio.run(_maybe(getattr(host.plugin_manager.hook, name)(**kwargs)))


class ProviderContract:
    """Abstract tests for an authplug provider; subclass it (see the module docstring)."""

    entry_point: ClassVar[str] = ""
    """The provider's name in the ``authplug.providers`` entry-point group."""
    supports_refresh: ClassVar[bool] = False
    """``authplug_refresh`` returns the user with new ``auth_data`` (else it must refuse)."""
    uses_redirect_flow: ClassVar[bool] = False
    """A browser without a session is redirected to a login (else answered 401)."""
    serves_metadata: ClassVar[bool] = False
    """The provider serves a public document at :attr:`metadata_path` (SAML SP metadata)."""
    metadata_path: ClassVar[str | None] = None
    accepts_bearer: ClassVar[bool] = False
    """Requests authenticate with ``Authorization: Bearer`` (stateless; no session cookie)."""
    secret_settings: ClassVar[tuple[str, ...]] = ()
    """Settings whose values must never appear in an error message."""

    # -- what a provider's suite overrides ---------------------------------------------

    @pytest.fixture
    def provider_settings(self) -> Mapping[str, Any]:
        """A valid settings table for the provider (its ``[name]`` config section)."""
        return {}

    @pytest.fixture
    def invalid_settings(self) -> list[Mapping[str, Any]]:
        """Complete settings tables the provider must refuse with ``ConfigError``."""
        return []

    def sign_in(self, client: HostClient) -> Mapping[str, str]:
        """Complete a login through ``client``; return the headers later requests need.

        A session provider drives its login (the client keeps the cookies)
        and returns ``{}``; a bearer provider returns
        ``{"authorization": "Bearer ..."}``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement sign_in(client)")

    def expire(self, user: AnyUser) -> AnyUser | None:
        """``user`` made stale, so that ``authplug_validate`` must refuse it.

        Return ``None`` when the provider has no such state (the test is
        skipped, with that reason).
        """
        return None

    # -- fixtures the tests use ---------------------------------------------------------

    @pytest.fixture
    def contract_host(self, provider_settings: Mapping[str, Any], tmp_path: Path) -> Iterator[Host]:
        """The provider loaded by entry-point name by the real loader, in a fresh host.

        Debug tracing is on, so the leak test sees every DEBUG record.
        """
        host = self._load(provider_settings, tmp_path, debug=True)
        yield host
        host.close()

    @pytest.fixture(params=HOST_KINDS)
    def contract_client(
        self, request: pytest.FixtureRequest, contract_host: Host
    ) -> Iterator[HostClient]:
        """A client over the ASGI host, then (second run) over the WSGI host."""
        kind: HostKind = request.param
        with HostClient(contract_host, kind) as client:
            yield client

    def _signed_in(self, client: HostClient) -> tuple[Mapping[str, str], AnyUser]:
        headers = self.sign_in(client)
        response = client.get(PROTECTED, headers={**JSON, **headers})
        assert response.status_code == 200, (
            f"after sign_in, a protected request answered {response.status_code}: "
            f"{response.text[:300]}"
        )
        assert client.seen_users, "after sign_in the application was handed no user"
        return headers, client.seen_users[-1]

    def _load(self, settings: Mapping[str, Any], tmp_path: Path, *, debug: bool = False) -> Host:
        return load(
            provider=self.entry_point,
            settings={
                self.entry_point: dict(settings),
                "cookie_keys": [make_key()],
                "debug": debug,
            },
            environ={},
            cwd=tmp_path,
            store=MemoryUserStore(),
        )

    def _secret_values(self, *tables: Mapping[str, Any]) -> list[str]:
        values = []
        for table in tables:
            for name in self.secret_settings:
                value = table.get(name)
                if value is not None and len(str(value)) >= 6:
                    values.append(str(value))
        return values

    # -- the contract -------------------------------------------------------------------------

    def test_entry_point_is_installed_and_loads_by_name(self, contract_host: Host) -> None:
        """The entry point exists once, and the loader loads the provider by that name."""
        assert self.entry_point, f"{type(self).__name__} must set entry_point"
        found = installed(PROVIDER_GROUP).get(self.entry_point, [])
        assert len(found) == 1, f"{self.entry_point!r} is installed {len(found)} time(s)"
        assert contract_host.provider_info.name == self.entry_point
        assert contract_host.provider_info.distribution == found[0].distribution

    def test_settings_reject_unknown_keys_without_echoing_secrets(
        self, provider_settings: Mapping[str, Any], tmp_path: Path
    ) -> None:
        """An unknown key is a ConfigError naming it; no secret value is in the message."""
        canary = "canary-" + secrets.token_hex(8)
        with pytest.raises(ConfigError) as info:
            self._load({**provider_settings, "zz_unknown_setting": canary}, tmp_path)
        message = info.value.message
        assert "zz_unknown_setting" in message
        assert canary not in message
        for value in self._secret_values(provider_settings):
            assert value not in message, "a secret setting's value is echoed in an error"

    def test_settings_reject_invalid_values_without_echoing_secrets(
        self,
        provider_settings: Mapping[str, Any],
        invalid_settings: list[Mapping[str, Any]],
        tmp_path: Path,
    ) -> None:
        """Each invalid table is a ConfigError whose message holds no secret value."""
        for table in invalid_settings:
            with pytest.raises(ConfigError) as info:
                self._load(table, tmp_path)
            for value in self._secret_values(provider_settings, table):
                assert value not in info.value.message, "a secret value is echoed in an error"

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"authorization": "Bearer not-a-token"},
            {"authorization": "Basic !!!"},
            {"cookie": "authplug_session=garbage; __Host-authplug_session=%%%"},
            {"x-forwarded-user": "\u00e9\u00ff", "x-forwarded-for": "not-an-ip"},
            {"authorization": "Bearer " + "A" * 20000},
        ],
        ids=["nothing", "bad-bearer", "bad-basic", "bad-cookie", "odd-headers", "huge"],
    )
    def test_authenticate_returns_the_closed_union_or_an_authplug_error(
        self, contract_host: Host, headers: Mapping[str, str]
    ) -> None:
        """``authplug_authenticate`` answers with a result type, or raises an authplug error."""
        request = RequestSpec(path=PROTECTED, headers=tuple(headers.items())).auth_request()
        if not contract_host.stateless:
            request.flow = MemoryFlow()
        try:
            result = _hook(contract_host, "authplug_authenticate", request=request)
        except AuthplugError:
            return
        assert isinstance(result, Authenticated | Redirect | ProviderResponse), (
            f"authplug_authenticate returned {type(result).__name__}, not a result type"
        )

    def test_a_request_without_credentials_is_refused_never_a_server_error(
        self, contract_client: HostClient
    ) -> None:
        """No credentials: a login redirect for browsers (redirect flows), 401 JSON for APIs."""
        api = contract_client.get(PROTECTED, headers=JSON)
        assert api.status_code == 401, api.text[:300]
        assert api.headers["content-type"].startswith("application/json")
        browser = contract_client.get(PROTECTED, headers=BROWSER)
        if self.uses_redirect_flow:
            assert browser.status_code in {302, 303}, browser.text[:300]
            assert browser.headers.get("location")
        else:
            assert browser.status_code < 500
            assert browser.status_code not in {301, 302, 303, 307, 308}
        assert contract_client.seen_users == []

    def test_a_completed_login_yields_a_well_typed_user(self, contract_client: HostClient) -> None:
        """After ``sign_in`` the application gets an AuthenticatedUser with valid fields."""
        _, user = self._signed_in(contract_client)
        assert isinstance(user, AuthenticatedUser)
        assert isinstance(user.user_id, str)
        assert user.user_id
        assert user.user_type in {INTERNAL_USER, EXTERNAL_USER}
        assert all(isinstance(role, str) and role for role in user.roles)
        for data in (user.custom_data, user.auth_data):
            assert data is None or all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            )

    def test_validate_leaves_a_fresh_user_alone(self, contract_client: HostClient) -> None:
        """``authplug_validate`` returns None for a user who just signed in."""
        _, user = self._signed_in(contract_client)
        request = RequestSpec(path=PROTECTED).auth_request()
        assert _hook(contract_client.host, "authplug_validate", request=request, user=user) is None

    def test_validate_refuses_an_expired_user(self, contract_client: HostClient) -> None:
        """``authplug_validate`` raises ForceUserToReauthenticateError for a stale user."""
        _, user = self._signed_in(contract_client)
        stale = self.expire(user)
        if stale is None:
            pytest.skip(f"{type(self).__name__}.expire() declares no stale state")
        request = RequestSpec(path=PROTECTED).auth_request()
        with pytest.raises(ForceUserToReauthenticateError):
            _hook(contract_client.host, "authplug_validate", request=request, user=stale)

    def test_refresh_behaves_as_declared(self, contract_client: HostClient) -> None:
        """``supports_refresh``: new auth data for the same user; otherwise a refusal."""
        _, user = self._signed_in(contract_client)
        if not self.supports_refresh:
            with pytest.raises(ForceUserToReauthenticateError):
                _hook(contract_client.host, "authplug_refresh", user=user)
            return
        refreshed = _hook(contract_client.host, "authplug_refresh", user=user)
        assert isinstance(refreshed, AuthenticatedUser)
        assert refreshed.user_id == user.user_id
        assert refreshed.auth_data is not None

    def test_routes_live_under_auth_and_never_redirect_to_login(
        self, contract_client: HostClient
    ) -> None:
        """Every route is under ``/auth/``; requesting one never starts a login or a loop."""
        login = contract_client.get(PROTECTED, headers=BROWSER).headers.get("location", "")
        login_path = login.split("?", 1)[0]
        for path, route in contract_client.host.routes.items():
            assert path.startswith("/auth/"), f"route {path} is outside /auth/"
            method = "GET" if "GET" in route.methods else sorted(route.methods)[0]
            response = contract_client.request(method, path, headers=BROWSER)
            assert response.status_code < 500, f"{method} {path}: {response.status_code}"
            location = response.headers.get("location", "").split("?", 1)[0]
            if response.is_redirect:
                assert location != path, f"{path} redirects to itself"
                assert not (login and location == login_path and path != login_path), (
                    f"{path} redirects to the login it should serve"
                )

    def test_metadata_is_served_without_a_session(self, contract_client: HostClient) -> None:
        """``serves_metadata``: the document answers 200 to anyone."""
        if not self.serves_metadata:
            pytest.skip("serves_metadata is False")
        assert self.metadata_path, "serves_metadata needs metadata_path"
        assert contract_client.get(self.metadata_path).status_code == 200

    def test_a_bad_bearer_token_is_a_401_challenge_and_sets_no_cookie(
        self, contract_client: HostClient
    ) -> None:
        """``accepts_bearer``: a forged token is 401 with ``WWW-Authenticate``, no session."""
        if not self.accepts_bearer:
            pytest.skip("accepts_bearer is False")
        response = contract_client.get(
            PROTECTED, headers={"authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
        )
        assert response.status_code == 401
        assert response.headers.get("www-authenticate")
        assert not response.headers.get_list("set-cookie")

    @pytest.mark.parametrize("bug", ["raises", "wrong-type"])
    def test_a_provider_bug_is_a_500_with_a_reference_never_a_401(
        self, contract_client: HostClient, bug: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """``authenticate`` raising or returning the wrong type: 500, logged, never a 401."""
        provider = contract_client.host.provider
        if not isinstance(provider, AuthProvider):
            pytest.skip("bare hook implementations: no method to break generically")
        canary = "contract-canary-" + secrets.token_hex(8)

        def broken(request: AuthRequest) -> Any:
            if bug == "raises":
                raise RuntimeError(canary)
            return {"user": canary}

        provider.authenticate = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="authplug"):
            response = contract_client.get(PROTECTED, headers=JSON)
        assert response.status_code == 500, response.text[:300]
        assert "location" not in response.headers
        assert canary not in response.text
        reference = response.json()["reference"]
        logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any(reference in message for message in logged), "no ERROR record names it"
        assert contract_client.seen_users == []

    @pytest.mark.parametrize("damage", ["tampered", "truncated", "foreign"])
    def test_tampered_truncated_and_foreign_cookies_mean_no_session(
        self, contract_client: HostClient, damage: str
    ) -> None:
        """A session cookie altered, cut short, or sealed by another host opens nothing."""
        if contract_client.host.stateless:
            pytest.skip("a stateless provider keeps no session cookie")
        _, user = self._signed_in(contract_client)
        name = contract_client.host.config.cookie_name
        cookies = {c: v for c, v in contract_client.cookies.items() if name in c}
        assert cookies, "sign_in left no session cookie"
        if damage == "tampered":
            sent = {c: v[:10] + ("A" if v[10] != "A" else "B") + v[11:] for c, v in cookies.items()}
        elif damage == "truncated":
            sent = {c: v[: len(v) // 2] for c, v in cookies.items()}
        else:
            other = make_host(contract_client.host.provider, name=self.entry_point)
            sent = dict(session_cookies(other, user))
        header = "; ".join(f"{c}={v}" for c, v in sent.items())
        with HostClient(contract_client.host, contract_client.kind) as fresh:
            response = fresh.get(PROTECTED, headers={**JSON, "cookie": header})
            assert response.status_code == 401, response.text[:300]
            assert fresh.seen_users == []

    def test_auth_data_never_leaves_the_session(
        self, contract_client: HostClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Not in the store, a log record (DEBUG included), an error, a JSON body or a view."""
        host = contract_client.host
        bodies: list[str] = []
        with caplog.at_level(logging.DEBUG):
            headers, user = self._signed_in(contract_client)
            bodies.append(contract_client.get(PROTECTED, headers={**JSON, **headers}).text)
            bodies.append(contract_client.get("/auth/no-such-route", headers=JSON).text)
            bodies.append(contract_client.get(PROTECTED, headers=JSON).text)
        tokens = [v for v in (user.auth_data or {}).values() if len(v) >= _MIN_SECRET]
        record = host.store.get(user.user_id)
        places = {
            "the user store": record.model_dump_json() if record is not None else "",
            "the logs": caplog.text + "".join(str(r.__dict__) for r in caplog.records),
            "a response": "".join(bodies),
            "the tool view": user.tool_view().model_dump_json(),
            "the agent view": user.agent_view().model_dump_json(),
            "a JSON dump of the user": user.model_dump_json() + json.dumps(dict(user), default=str),
        }
        for token in tokens:
            for place, text in places.items():
                assert token not in text, f"an auth_data value reached {place}"

    def test_the_provider_imports_no_other_plugin(self, contract_host: Host) -> None:
        """Neither importing the provider nor its source touches another provider's package."""
        ours = installed(PROVIDER_GROUP)[self.entry_point][0]
        our_package = ours.value.split(":", 1)[0].split(".", 1)[0]
        others = {
            plugin.value.split(":", 1)[0].split(".", 1)[0]
            for name, found in installed(PROVIDER_GROUP).items()
            if name != self.entry_point
            for plugin in found
        } - {our_package, "authplug"}
        code = (
            "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
        )
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
            [sys.executable, "-c", code, ours.value.split(":", 1)[0]],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert not others & set(json.loads(done.stdout)), "the provider imports another plugin"
        spec = importlib_util.find_spec(our_package)
        assert spec is not None
        assert spec.origin is not None
        for source in Path(spec.origin).parent.rglob("*.py"):
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for imported in names:
                    assert imported.split(".", 1)[0] not in others, (
                        f"{source.name} imports {imported}, another plugin"
                    )

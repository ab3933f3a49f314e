"""authplug.testing, used as a provider author uses it: fixtures, request builder, recorder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from authplug import AuthenticatedUser, AuthProvider, NoSettings, hookimpl
from authplug.errors import NotAuthenticatedError
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult, Redirect
from authplug.routes import Route
from authplug.testing import HookRecorder, HostClient, MemoryFlow, RequestSpec

User = AuthenticatedUser[dict[str, str], dict[str, str]]


class Provider(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """Logs in ``/auth/kit/login?user=...``; counts validations."""

    def __init__(self) -> None:
        super().__init__(NoSettings())

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        if request.header("x-kit-user"):
            return Authenticated(user=User(user_id="hdr", user_type="external-user"))
        if request.flow is None:
            raise NotAuthenticatedError("no flow")
        return Redirect(location=f"/auth/kit/login?txn={request.flow.begin({})}")

    def routes(self) -> tuple[Route, ...]:
        return (Route("/auth/kit/login", self._login),)

    def _login(self, request: AuthRequest) -> AuthenticateResult:
        user = User(
            user_id=request.query["user"],
            user_type="internal-user",
            auth_data={"access_token": "kit-token-" + request.query["user"]},
        )
        return Authenticated(user=user)


class Audit:
    """An extension plugin recording logins."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    @hookimpl
    def authplug_logged_in(self, request: AuthRequest, user: Any) -> None:
        self.logins.append(user.user_id)


AUDIT = Audit()


@pytest.fixture
def authplug_provider() -> Provider:
    return Provider()


def test_the_client_fixture_runs_through_both_hosts(
    authplug_client: HostClient, authplug_host_kind: str
) -> None:
    assert authplug_client.kind == authplug_host_kind
    start = authplug_client.get("/x", headers={"accept": "text/html"})
    assert start.status_code == 302
    done = authplug_client.get("/auth/kit/login", params={"user": "ada"})
    assert done.status_code == 302
    assert authplug_client.get("/x").json()["user"] == "ada"
    assert [u.user_id for u in authplug_client.seen_users] == ["ada"]


def test_session_cookie_means_already_signed_in(
    authplug_client: HostClient,
    authplug_session_cookie: Callable[[Any], Mapping[str, str]],
) -> None:
    user = User(user_id="grace", user_type="internal-user", auth_data={"t": "x" * 20})
    cookie = "; ".join(f"{k}={v}" for k, v in authplug_session_cookie(user).items())
    response = authplug_client.get("/x", headers={"cookie": cookie, "accept": "application/json"})
    assert response.json()["user"] == "grace"
    assert authplug_client.seen_users[-1].auth_data == {"t": "x" * 20}


def test_hook_recorder_sees_calls_from_both_hosts(
    authplug_client: HostClient, authplug_hook_recorder: HookRecorder
) -> None:
    authplug_client.get("/x", headers={"x-kit-user": "1"})
    authplug_hook_recorder.assert_called("authplug_authenticate", times=1)
    authplug_hook_recorder.assert_not_called("authplug_refresh")
    with pytest.raises(AssertionError, match="authplug_refresh to be called"):
        authplug_hook_recorder.assert_called("authplug_refresh")
    with pytest.raises(AssertionError, match="not to be called"):
        authplug_hook_recorder.assert_not_called("authplug_authenticate")


@pytest.mark.authplug_extensions(AUDIT)
def test_temporary_extension_plugin_for_one_test(authplug_asgi_client: HostClient) -> None:
    before = len(AUDIT.logins)
    authplug_asgi_client.get("/auth/kit/login", params={"user": "lin"})
    assert AUDIT.logins[before:] == ["lin"]
    names = [n for n, _ in authplug_asgi_client.host.plugin_manager.list_name_plugin()]
    assert "extension-0" in names


def test_without_the_marker_no_extension_is_registered(authplug_wsgi_client: HostClient) -> None:
    assert authplug_wsgi_client.host.extensions == ()


def test_one_request_description_renders_for_both_hosts() -> None:
    spec = RequestSpec(
        method="post",
        path="/a/b",
        query={"q": "1 2"},
        headers=[("X-Forwarded-User", "jos\u00c3\u00a9"), ("Accept", "a"), ("accept", "b")],
        cookies={"c": "v"},
        body=b"x=1",
        client="10.0.0.7",
    )
    scope = spec.asgi_scope()
    environ = spec.wsgi_environ()
    assert scope["method"] == environ["REQUEST_METHOD"] == "POST"
    assert scope["path"] == environ["PATH_INFO"] == "/a/b"
    assert scope["query_string"] == environ["QUERY_STRING"].encode() == b"q=1+2"
    assert scope["client"][0] == environ["REMOTE_ADDR"] == "10.0.0.7"
    assert (b"x-forwarded-user", "jos\u00c3\u00a9".encode("latin-1")) in scope["headers"]
    assert environ["HTTP_X_FORWARDED_USER"] == "jos\u00c3\u00a9"
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert environ["HTTP_COOKIE"] == "c=v"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["wsgi.input"].read() == b"x=1"
    request = spec.auth_request()
    assert request.header("x-forwarded-user") == "jos\u00c3\u00a9"
    # header values are latin-1 on the wire; a UTF-8 value is recovered like this:
    assert request.header("x-forwarded-user").encode("latin-1").decode() == "jos\u00e9"  # type: ignore[union-attr]
    assert request.client == "10.0.0.7"
    assert request.cookies == {"c": "v"}


def test_memory_flow_is_single_use() -> None:
    flow = MemoryFlow(return_to="/back")
    txn = flow.begin({"nonce": "n"})
    record = flow.consume(txn)
    assert record is not None
    assert record.data == {"nonce": "n"}
    assert record.return_to == "/back"
    assert flow.consume(txn) is None


def test_provider_fixture_must_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["authplug.testing"]')
    pytester.makepyfile(
        "def test_needs_host(authplug_host):\n    pass\n",
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=0, errors=1)
    result.stdout.fnmatch_lines(["*override the authplug_provider fixture*"])

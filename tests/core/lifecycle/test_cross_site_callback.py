"""A cross-site POST callback through the host: flow cookie mode and the missing-cookie page."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.cross_site import missing_transaction_error
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult, Redirect
from authplug.routes import Route

pytestmark = pytest.mark.anyio

FLOW = "authplug_flow"


@pytest.fixture
def provider(clock: Any, kit: ModuleType) -> Any:
    class PostCallbackProvider(kit.TestProvider):  # type: ignore[name-defined,misc]
        """Begins cross-site transactions; its callback is a POST (like a SAML ACS)."""

        def _authenticate(self, request: AuthRequest) -> AuthenticateResult:
            assert request.flow is not None
            txn = request.flow.begin({"request_id": "id-1"}, cross_site=True)
            return Redirect(location=f"/idp?relay={txn}")

        def _acs(self, request: AuthRequest) -> AuthenticateResult:
            assert request.flow is not None
            record = request.flow.consume(request.form.get("relay", ""))
            if record is None:
                raise missing_transaction_error(request)
            return Authenticated(user=self.make_user(request.form["user"]))

        def routes(self) -> Sequence[Route]:
            return (Route("/auth/test/acs", self._acs, frozenset({"POST"})),)

    return PostCallbackProvider(clock)


async def test_cross_site_flow_round_trip(client: httpx.AsyncClient, kit: ModuleType) -> None:
    start = await client.get("/reports")
    relay = parse_qs(urlsplit(start.headers["location"]).query)["relay"][0]
    (flow_cookie,) = kit.set_cookie_headers(start.headers)
    assert flow_cookie.startswith(f"{FLOW}.{relay}=")
    assert "SameSite=None" in flow_cookie
    assert "; Secure" in flow_cookie
    # httpx honours Secure: send the cookie by hand, as a browser on https would.
    value = flow_cookie.split(";", 1)[0].split("=", 1)[1]
    done = await client.post(
        "/auth/test/acs",
        data={"relay": relay, "user": "alice"},
        headers={"cookie": f"{FLOW}.{relay}={value}"},
    )
    assert done.status_code == 302
    assert done.headers["location"] == "/reports"
    set_cookies = kit.set_cookie_headers(done.headers)
    session = [h for h in set_cookies if h.startswith("authplug_session.0=")]
    assert session
    assert all("SameSite=Lax" in h for h in session)


@pytest.mark.parametrize(
    ("base_url", "needle"),
    [("http://app.example", "SameSite=None; Secure"), ("https://app.example", "sign in again")],
)
async def test_dropped_flow_cookie_is_explained_on_the_error_page(
    middleware: AuthMiddleware, base_url: str, needle: str
) -> None:
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        await c.get("/reports")
        response = await c.post("/auth/test/acs", data={"relay": "x" * 22, "user": "alice"})
        assert response.status_code == 401
        assert needle in response.text.replace("&quot;", '"')
        assert "authplug_session" not in response.headers.get("set-cookie", "")
        api = await c.post(
            "/auth/test/acs",
            data={"relay": "x" * 22, "user": "alice"},
            headers={"accept": "application/json"},
        )
        assert api.json()["reason"] == "unknown_transaction"
        assert needle in api.json()["message"]

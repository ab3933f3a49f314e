"""Flow cookies in the cross-site mode (``SameSite=None; Secure``) for POST callbacks.

A SAML HTTP-POST ACS and an OIDC ``form_post`` callback are cross-site POSTs,
which a ``SameSite=Lax`` cookie does not accompany; the provider begins such a
transaction with ``cross_site=True``. The session cookie stays Lax.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from authplug.cross_site import MissingTransactionError, missing_transaction_error
from authplug.request import AuthRequest
from authplug.results import ResponseCookie
from authplug.session import SessionManager
from authplug.session.flow import MAX_FLOWS

from .conftest import cookie_headers, make_user


def only(cookies: tuple[ResponseCookie, ...]) -> ResponseCookie:
    (cookie,) = cookies
    return cookie


def attributes(cookie: ResponseCookie) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(cookie.header_value())
    morsel = jar[cookie.name]
    return {k: str(v) for k, v in morsel.items() if v}


@pytest.mark.parametrize("fixture", ["manager", "dev_manager"])
def test_cross_site_flow_cookie_is_samesite_none_and_secure(
    fixture: str, request: pytest.FixtureRequest, now: float
) -> None:
    manager: SessionManager = request.getfixturevalue(fixture)
    flow = manager.open_flow([], now)
    txn = flow.begin({"request_id": "id-1"}, cross_site=True)
    cookie = only(flow.cookies())
    assert cookie.name == manager.policy.flow_txn_name(txn)
    assert cookie.same_site == "none"
    assert cookie.secure  # even in development: browsers refuse SameSite=None without it
    header = cookie.header_value()
    assert "SameSite=None" in header
    assert "; Secure" in header
    assert "HttpOnly" in header
    assert attributes(cookie)["samesite"] == "None"


@pytest.mark.parametrize("fixture", ["manager", "dev_manager"])
def test_default_flow_cookie_stays_lax(
    fixture: str, request: pytest.FixtureRequest, now: float
) -> None:
    manager: SessionManager = request.getfixturevalue(fixture)
    flow = manager.open_flow([], now)
    flow.begin({"state": "s"})
    cookie = only(flow.cookies())
    assert cookie.same_site == "lax"
    assert cookie.secure is manager.policy.secure


def test_session_cookie_stays_lax_beside_a_cross_site_flow(
    manager: SessionManager, now: float
) -> None:
    flow = manager.open_flow([], now)
    flow.begin({"request_id": "id-1"}, cross_site=True)
    session = manager.new_session(make_user(), now)
    written = manager.write(session)
    assert written
    assert all(c.same_site == "lax" for c in written)


def test_cross_site_transaction_round_trips_and_is_cleared_with_its_attributes(
    dev_manager: SessionManager, now: float
) -> None:
    start = dev_manager.open_flow([], now)
    start.set_return_to("/reports")
    txn = start.begin({"request_id": "id-1"}, cross_site=True)
    cookie = only(start.cookies())

    callback = dev_manager.open_flow(cookie_headers([cookie]), now + 5)
    record = callback.consume(txn)
    assert record is not None
    assert dict(record.data) == {"request_id": "id-1"}
    assert record.return_to == "/reports"
    clear = only(callback.cookies())
    assert (clear.name, clear.max_age, clear.value) == (cookie.name, 0, "")
    # Deleted with the attributes it was set with (a Secure cookie is only
    # replaced by a Secure Set-Cookie).
    assert clear.secure
    assert clear.same_site == "none"

    again = dev_manager.open_flow(cookie_headers([cookie]), now + 6)
    assert again.consume(txn) is not None  # the browser still had it: single use is the clear
    assert again.consume(txn) is None


def test_lax_transaction_is_cleared_as_lax(dev_manager: SessionManager, now: float) -> None:
    start = dev_manager.open_flow([], now)
    txn = start.begin({"state": "s"})
    cookie = only(start.cookies())
    callback = dev_manager.open_flow(cookie_headers([cookie]), now + 5)
    assert callback.consume(txn) is not None
    clear = only(callback.cookies())
    assert clear.same_site == "lax"
    assert not clear.secure


def test_the_mode_cannot_be_switched_by_the_browser(manager: SessionManager, now: float) -> None:
    """The mode is sealed in the entry: a Lax transaction's cookie is cleared as Lax."""
    start = manager.open_flow([], now)
    lax_txn = start.begin({"state": "s"})
    none_txn = start.begin({"request_id": "r"}, cross_site=True)
    cookies = start.cookies()
    callback = manager.open_flow(cookie_headers(cookies), now + 1)
    assert callback.consume(lax_txn) is not None
    assert callback.consume(none_txn) is not None
    modes = {c.name: c.same_site for c in callback.cookies()}
    assert modes == {
        manager.policy.flow_txn_name(lax_txn): "lax",
        manager.policy.flow_txn_name(none_txn): "none",
    }


def test_cap_still_applies_to_cross_site_transactions(manager: SessionManager, now: float) -> None:
    jar: list[ResponseCookie] = []
    for i in range(MAX_FLOWS + 2):
        flow = manager.open_flow(cookie_headers(jar), now + i)
        flow.begin({"i": str(i)}, cross_site=True)
        out = flow.cookies()
        cleared = {c.name for c in out if c.max_age == 0}
        jar = [c for c in jar if c.name not in cleared] + [c for c in out if c.max_age != 0]
    assert len(jar) == MAX_FLOWS


def test_budget_leaves_room_for_the_cross_site_attributes(dev_manager: SessionManager) -> None:
    budget = dev_manager.policy.flow_value_budget(22)
    longest = dev_manager.policy.flow_cookie("x" * 22, "v" * budget, cross_site=True)
    assert len(longest.header_value()) < 4096


def test_missing_transaction_over_plain_http_explains_the_dropped_cookie() -> None:
    err = missing_transaction_error(AuthRequest("POST", "/auth/saml/acs", scheme="http"))
    assert isinstance(err, MissingTransactionError)
    assert err.status == 401
    assert err.code == "unknown_transaction"
    assert "SameSite=None; Secure" in err.page_text
    assert "https" in err.page_text


def test_missing_transaction_over_https_says_expired_or_used() -> None:
    err = missing_transaction_error(AuthRequest("POST", "/auth/saml/acs", scheme="https"))
    assert "Secure" not in err.page_text
    assert "sign in again" in err.page_text

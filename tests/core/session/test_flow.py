"""FlowTransactions: login transactions in the encrypted flow cookie."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.errors import SessionTooLargeError
from authplug.request import AuthRequest, FlowAccess
from authplug.results import ResponseCookie
from authplug.session import FlowTransactions, SessionManager
from authplug.session.flow import MAX_RECORDS

Headers = list[tuple[bytes, bytes]]


def jar(*cookies: ResponseCookie) -> Headers:
    """Request headers carrying ``cookies`` (cleared ones omitted)."""
    pairs = [f"{c.name}={c.value}" for c in cookies if c.max_age != 0]
    return [(b"cookie", "; ".join(pairs).encode())] if pairs else []


def step(manager: SessionManager, headers: Headers, now: float) -> FlowTransactions:
    return manager.open_flow(headers, now)


def only(cookies: tuple[ResponseCookie, ...]) -> ResponseCookie:
    (cookie,) = cookies
    return cookie


def test_begin_then_consume(manager: SessionManager, now: float) -> None:
    start = step(manager, [], now)
    start.set_return_to("/reports?id=7")
    txn = start.begin({"state_verifier": "v", "nonce": "n"})
    assert start.changed
    cookie = only(start.cookies())
    assert cookie.name == manager.flow_cookie_name
    assert len(base64.urlsafe_b64decode(txn + "==")) == 16

    callback = step(manager, jar(cookie), now + 30)
    assert callback.pending == 1
    record = callback.consume(txn)
    assert record is not None
    assert record.txn_id == txn
    assert dict(record.data) == {"state_verifier": "v", "nonce": "n"}
    assert record.return_to == "/reports?id=7"
    cleared = only(callback.cookies())
    assert cleared.max_age == 0
    assert cleared.value == ""


def test_flow_transactions_is_a_flow_access(manager: SessionManager, now: float) -> None:
    flow: FlowAccess = step(manager, [], now)
    request = AuthRequest(method="GET", path="/auth/login", flow=flow)
    assert request.flow is flow
    assert request.flow.consume(request.flow.begin({"a": "b"})) is not None


def test_single_use(manager: SessionManager, now: float) -> None:
    start = step(manager, [], now)
    txn = start.begin({"k": "v"})
    cookie = only(start.cookies())
    callback = step(manager, jar(cookie), now + 1)
    assert callback.consume(txn) is not None
    assert callback.consume(txn) is None
    after = callback.cookies()
    assert step(manager, jar(*after), now + 2).consume(txn) is None


def test_unknown_or_wrong_type_txn(manager: SessionManager, now: float) -> None:
    start = step(manager, [], now)
    txn = start.begin({"k": "v"})
    callback = step(manager, jar(only(start.cookies())), now + 1)
    for wrong in ("", "x", txn[:-1], txn + "A", txn.upper() if txn.upper() != txn else txn.lower()):
        assert callback.consume(wrong) is None
    assert callback.consume(None) is None  # type: ignore[arg-type]
    assert callback.consume(txn) is not None


def test_two_interleaved_logins_both_complete(manager: SessionManager, now: float) -> None:
    tab_a = step(manager, [], now)
    tab_a.set_return_to("/a")
    txn_a = tab_a.begin({"verifier": "va"})
    cookie = only(tab_a.cookies())

    tab_b = step(manager, jar(cookie), now + 1)
    tab_b.set_return_to("/b")
    txn_b = tab_b.begin({"verifier": "vb"})
    cookie = only(tab_b.cookies())
    both = jar(cookie)

    # B's callback first, then A's with the cookie B's callback left.
    callback_b = step(manager, both, now + 2)
    record_b = callback_b.consume(txn_b)
    assert record_b is not None
    assert record_b.return_to == "/b"
    assert dict(record_b.data) == {"verifier": "vb"}
    cookie = only(callback_b.cookies())
    callback_a = step(manager, jar(cookie), now + 3)
    record_a = callback_a.consume(txn_a)
    assert record_a is not None
    assert record_a.return_to == "/a"
    assert dict(record_a.data) == {"verifier": "va"}
    assert callback_a.consume(txn_b) is None

    # The other order works from the same two-record cookie.
    first = step(manager, both, now + 2)
    assert first.consume(txn_a) is not None
    second = step(manager, jar(only(first.cookies())), now + 3)
    assert second.consume(txn_b) is not None


def test_racing_begins_each_cookie_holds_its_own_transaction(
    manager: SessionManager, now: float
) -> None:
    """Two begins reading the same cookie: each response carries the shared records plus its own."""
    base = step(manager, [], now)
    txn_0 = base.begin({"n": "0"})
    shared = jar(only(base.cookies()))
    one, two = step(manager, shared, now + 1), step(manager, shared, now + 1)
    txn_1, txn_2 = one.begin({"n": "1"}), two.begin({"n": "2"})
    cookie_1, cookie_2 = only(one.cookies()), only(two.cookies())
    # Whichever Set-Cookie the browser keeps, the earlier transaction survives with it.
    for cookie, mine, theirs in ((cookie_1, txn_1, txn_2), (cookie_2, txn_2, txn_1)):
        assert step(manager, jar(cookie), now + 2).consume(txn_0) is not None
        assert step(manager, jar(cookie), now + 2).consume(mine) is not None
        assert step(manager, jar(cookie), now + 2).consume(theirs) is None


def test_expiry(config_factory: Callable[..., AuthplugConfig], now: float) -> None:
    manager = SessionManager(config_factory(flow_lifetime=300))
    start = step(manager, [], now)
    txn = start.begin({"k": "v"})
    headers = jar(only(start.cookies()))
    assert step(manager, headers, now + 299).consume(txn) is not None
    late = step(manager, headers, now + 300)
    assert late.pending == 0
    assert late.consume(txn) is None
    assert late.changed
    assert only(late.cookies()).max_age == 0


def test_expired_records_are_dropped_and_live_ones_kept(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    manager = SessionManager(config_factory(flow_lifetime=300))
    first = step(manager, [], now)
    old = first.begin({"k": "old"})
    second = step(manager, jar(only(first.cookies())), now + 200)
    new = second.begin({"k": "new"})
    later = step(manager, jar(only(second.cookies())), now + 350)
    assert later.pending == 1
    assert later.consume(old) is None
    assert later.consume(new) is not None


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"), id="last-char"),
        pytest.param(lambda v: v[:20] + ("A" if v[20] != "A" else "B") + v[21:], id="middle"),
        pytest.param(lambda v: v[:-16], id="truncated"),
        pytest.param(lambda v: v + "=", id="padded"),
        pytest.param(lambda v: "", id="empty"),
        pytest.param(lambda v: "A" * 5000, id="oversized"),
    ],
)
def test_tampered_flow_cookie_is_an_empty_flow(
    manager: SessionManager, now: float, mutate: Callable[[str], str]
) -> None:
    start = step(manager, [], now)
    txn = start.begin({"k": "v"})
    cookie = only(start.cookies())
    headers = [(b"cookie", f"{cookie.name}={mutate(cookie.value)}".encode())]
    flow = step(manager, headers, now + 1)
    assert flow.pending == 0
    assert flow.consume(txn) is None
    assert flow.changed
    assert only(flow.cookies()).max_age == 0


def test_duplicated_flow_cookie_is_an_empty_flow(manager: SessionManager, now: float) -> None:
    start = step(manager, [], now)
    txn = start.begin({"k": "v"})
    cookie = only(start.cookies())
    flow = step(manager, jar(cookie, cookie), now + 1)
    assert flow.consume(txn) is None
    assert flow.changed


def test_session_cookie_presented_as_flow_cookie(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    (session_cookie,) = manager.write(manager.new_session(user_factory(), now))
    value = session_cookie.value.partition("~")[2]
    flow = step(manager, [(b"cookie", f"{manager.flow_cookie_name}={value}".encode())], now)
    assert flow.pending == 0
    assert flow.changed


def test_flow_cookie_from_another_app_is_an_empty_flow(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    ours = SessionManager(config_factory())
    theirs = SessionManager(config_factory(cookie_name="other_session"))
    start = theirs.open_flow([], now)
    txn = start.begin({"k": "v"})
    value = only(start.cookies()).value
    flow = ours.open_flow([(b"cookie", f"{ours.flow_cookie_name}={value}".encode())], now)
    assert flow.consume(txn) is None


def test_untouched_flow_writes_nothing(manager: SessionManager, now: float) -> None:
    assert step(manager, [], now).cookies() == ()
    start = step(manager, [], now)
    start.begin({"k": "v"})
    unchanged = step(manager, jar(only(start.cookies())), now + 1)
    assert not unchanged.changed
    assert unchanged.cookies() == ()


def test_at_most_eight_records_oldest_dropped(manager: SessionManager, now: float) -> None:
    headers: Headers = []
    txns = []
    for i in range(MAX_RECORDS + 3):
        flow = step(manager, headers, now + i)
        txns.append(flow.begin({"i": str(i)}))
        headers = jar(only(flow.cookies()))
    final = step(manager, headers, now + 20)
    assert final.pending == MAX_RECORDS
    for txn in txns[:3]:
        assert final.consume(txn) is None
    for i, txn in enumerate(txns[3:], start=3):
        record = final.consume(txn)
        assert record is not None
        assert record.data == {"i": str(i)}


def test_oldest_dropped_to_fit_the_cookie_budget(manager: SessionManager, now: float) -> None:
    headers: Headers = []
    txns = []
    for i in range(6):
        flow = step(manager, headers, now + i)
        txns.append(flow.begin({"blob": "x" * 900}))
        cookie = only(flow.cookies())
        assert len(cookie.header_value()) < 4096
        headers = jar(cookie)
    final = step(manager, headers, now + 10)
    assert 1 <= final.pending < 6
    assert final.consume(txns[-1]) is not None
    assert final.consume(txns[0]) is None


def test_one_record_too_large_for_the_cookie(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    flow.begin({"blob": "x" * 4000})
    with pytest.raises(SessionTooLargeError):
        flow.cookies()


def test_overlong_return_to_is_not_stored(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    flow.return_to = "/" + "a" * 2000
    txn = flow.begin({"k": "v"})
    record = step(manager, jar(only(flow.cookies())), now).consume(txn)
    assert record is not None
    assert record.return_to is None


def test_flow_cookie_content_is_encrypted(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    flow.set_return_to("/secret-path")
    flow.begin({"code_verifier": "verifier-value"})
    value = only(flow.cookies()).value
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert b"verifier-value" not in decoded
    assert b"secret-path" not in decoded

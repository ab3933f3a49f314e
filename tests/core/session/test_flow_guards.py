"""FlowTransactions guards that only show in corner cases (issue #15.7 and #15.2).

* ``consume`` refuses a malformed transaction id before anything else: with
  more flow cookies than the scan reads, a malformed id would otherwise send
  the reader searching the header for an attacker-chosen name, decrypt what
  it finds and echo that name back in a ``Set-Cookie``.
* ``_open`` decrypts a transaction's cookie at most once per request: the
  cap enforced by ``begin`` opens the live cookies, and a ``consume`` in the
  same request reuses what was opened.
* ``MAX_RETURN_TO`` is inclusive.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from authplug.session import FlowTransactions, SessionManager
from authplug.session.flow import MAX_FLOWS, MAX_RETURN_TO, SCAN_LIMIT, TXN_ID_LENGTH

from .conftest import Browser, Headers


def step(manager: SessionManager, headers: Headers, now: float) -> FlowTransactions:
    return manager.open_flow(headers, now)


def started(manager: SessionManager, browser: Browser, now: float) -> str:
    flow = step(manager, browser.headers(), now)
    txn = flow.begin({"k": "v"})
    browser.receive(flow.cookies())
    return txn


@pytest.fixture
def counted(config_factory: Any, counting_manager: Any) -> tuple[SessionManager, Any]:
    result: tuple[SessionManager, Any] = counting_manager(config_factory())
    return result


MALFORMED = {
    "short": "a" * (TXN_ID_LENGTH - 1),
    "long": "a" * (TXN_ID_LENGTH + 1),
    "bang": "a" * (TXN_ID_LENGTH - 1) + "!",
    "padding": "a" * (TXN_ID_LENGTH - 1) + "=",
    "dot": "a" * (TXN_ID_LENGTH - 1) + ".",
    "separator": "a" * (TXN_ID_LENGTH - 2) + "; ",
}


@pytest.mark.parametrize("txn_id", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_id_is_refused_before_searching_the_header(
    counted: tuple[SessionManager, Any], now: float, txn_id: str
) -> None:
    """Past the scan limit, a malformed id names a cookie that really is in the header."""
    manager, counting = counted
    planted = {
        manager.policy.flow_txn_name(secrets.token_urlsafe(16)): "A" * 40
        for _ in range(SCAN_LIMIT + 1)
    }
    # A real, openable value under the malformed name, after the scanned ones.
    genuine = Browser()
    real = started(manager, genuine, now)
    (value,) = genuine.cookies.values()
    planted[f"{manager.flow_cookie_name}.{txn_id}"] = value
    planted[manager.policy.flow_txn_name(real)] = value
    decrypts = counting.decrypts
    flow = step(manager, Browser(planted).headers(), now + 1)
    assert flow.consume(txn_id) is None
    assert counting.decrypts == decrypts, "a malformed id must not open anything"
    assert flow.cookies() == (), "a malformed id must never be echoed in a Set-Cookie"
    assert flow.consume(real) is not None  # the well-formed one past the limit is found


@pytest.mark.parametrize("txn_id", [None, 7, b"a" * TXN_ID_LENGTH], ids=["none", "int", "bytes"])
def test_non_text_id_is_refused_past_the_scan_limit(
    counted: tuple[SessionManager, Any], now: float, txn_id: Any
) -> None:
    manager, counting = counted
    planted = {
        manager.policy.flow_txn_name(secrets.token_urlsafe(16)): "A" * 40
        for _ in range(SCAN_LIMIT + 1)
    }
    flow = step(manager, Browser(planted).headers(), now + 1)
    assert flow.consume(txn_id) is None
    assert counting.decrypts == 0
    assert flow.cookies() == ()


def test_consume_after_the_cap_reuses_the_opened_cookie(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    browser = Browser()
    txns = [started(manager, browser, now + i) for i in range(MAX_FLOWS)]
    assert counting.decrypts == 0
    flow = step(manager, browser.headers(), now + 10)
    flow.begin({"k": "5"})  # over the cap: opens the live cookies to find the oldest
    opened = counting.decrypts
    assert 0 < opened <= MAX_FLOWS
    record = flow.consume(txns[-1])
    assert record is not None
    assert record.txn_id == txns[-1]
    assert dict(record.data) == {"k": "v"}
    assert counting.decrypts == opened, "the cookie opened by the cap is not decrypted again"
    assert flow.consume(txns[-1]) is None


def test_consume_of_a_cookie_the_cap_found_unusable_is_refused(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    browser = Browser()
    txns = [started(manager, browser, now + i) for i in range(MAX_FLOWS)]
    browser.cookies[manager.policy.flow_txn_name(txns[1])] = "A" * 40
    flow = step(manager, browser.headers(), now + 10)
    flow.begin({"k": "5"})
    opened = counting.decrypts
    assert flow.consume(txns[1]) is None
    assert counting.decrypts == opened


def test_return_to_of_exactly_the_limit_is_kept(manager: SessionManager, now: float) -> None:
    for length, kept in ((MAX_RETURN_TO, True), (MAX_RETURN_TO + 1, False)):
        path = "/" + "a" * (length - 1)
        flow = step(manager, [], now)
        flow.set_return_to(path)
        txn = flow.begin({"k": "v"})
        browser = Browser()
        browser.receive(flow.cookies())
        record = step(manager, browser.headers(), now + 1).consume(txn)
        assert record is not None
        assert record.return_to == (path if kept else None)


def _past_the_scan_limit(manager: SessionManager) -> dict[str, str]:
    return {
        manager.policy.flow_txn_name(secrets.token_urlsafe(16)): "A" * 40
        for _ in range(SCAN_LIMIT + 1)
    }


def test_the_targeted_search_matches_the_exact_name_only(
    manager: SessionManager, now: float
) -> None:
    """Past the scan limit, a cookie whose name merely starts with the transaction's is not it."""
    genuine = Browser()
    txn = started(manager, genuine, now)
    ((name, value),) = genuine.cookies.items()
    planted = _past_the_scan_limit(manager)
    planted[name + "x"] = value
    assert step(manager, Browser(planted).headers(), now + 1).consume(txn) is None
    planted[name] = value
    assert step(manager, Browser(planted).headers(), now + 1).consume(txn) is not None


def test_a_duplicated_cookie_past_the_scan_limit_is_unusable(
    manager: SessionManager, now: float
) -> None:
    genuine = Browser()
    txn = started(manager, genuine, now)
    ((name, value),) = genuine.cookies.items()
    planted = _past_the_scan_limit(manager)
    header = Browser(planted).header() + f"; {name}={value}; {name}={value}"
    flow = step(manager, [(b"cookie", header.encode("latin-1"))], now + 1)
    assert flow.consume(txn) is None
    assert name in {c.name for c in flow.cookies() if c.max_age == 0}

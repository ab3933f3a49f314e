"""``FlowTransactions`` behaviour that mutation testing showed unpinned.

* the attributes each cleared flow cookie gets when :data:`MAX_FLOWS` is
  exceeded: a cookie whose entry was opened is cleared in the mode sealed in
  it; one cleared unread or unopenable, with the default (Lax) attributes;
* an entry that opens (right key, right name) but is not a valid entry (a
  field this version does not know) is refused and cleared, never a crash;
* a transaction begun without ``return_to`` gives back ``None``, not ``""``;
* the exact bounds: an entry expiring exactly ``lifetime + 60 s`` ahead is
  accepted (a clock set back by the skew), a value of exactly the cookie
  budget is written and read back;
* names one byte longer than a transaction id are not flow cookies and do not
  use up the :data:`SCAN_LIMIT` cookies read per request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from authplug.config import AuthplugConfig
from authplug.errors import SessionTooLargeError
from authplug.results import ResponseCookie
from authplug.session import SessionCodec, SessionManager
from authplug.session.flow import MAX_FLOWS, SCAN_LIMIT, TXN_ID_LENGTH, flow_purpose

from .conftest import Browser, Headers


def only(cookies: tuple[ResponseCookie, ...]) -> ResponseCookie:
    (cookie,) = cookies
    return cookie


def clears(cookies: tuple[ResponseCookie, ...]) -> dict[str, tuple[str, bool]]:
    """Name -> (SameSite, Secure) of every deletion."""
    return {c.name: (c.same_site, c.secure) for c in cookies if c.max_age == 0}


def planted(
    manager: SessionManager, jar: dict[str, str], now: float, count: int, *, cross_site: bool
) -> list[str]:
    """``count`` transactions begun in separate requests (no cap applies), added to ``jar``."""
    txns = []
    for i in range(count):
        flow = manager.open_flow([], now + i)
        txns.append(flow.begin({"i": str(i)}, cross_site=cross_site))
        jar.update({c.name: c.value for c in flow.cookies()})
    return txns


LAX_CLEAR = ("lax", False)  # development: a Lax cookie is not Secure
CROSS_SITE_CLEAR = ("none", True)


# -- the cap: what each cleared cookie looks like ------------------------------------------


def test_over_the_cap_lax_cookies_are_cleared_as_lax(
    dev_manager: SessionManager, now: float
) -> None:
    jar: dict[str, str] = {}
    txns = planted(dev_manager, jar, now, MAX_FLOWS + 2, cross_site=False)
    flow = dev_manager.open_flow(Browser(jar).headers(), now + 10)
    flow.begin({"k": "new"})
    name = dev_manager.policy.flow_txn_name
    # two beyond the newest four in header order (unread), then the oldest of those four
    assert clears(flow.cookies()) == {name(t): LAX_CLEAR for t in txns[:3]}


def test_over_the_cap_cross_site_cookies_are_cleared_in_their_mode(
    dev_manager: SessionManager, now: float
) -> None:
    jar: dict[str, str] = {}
    txns = planted(dev_manager, jar, now, MAX_FLOWS, cross_site=True)
    flow = dev_manager.open_flow(Browser(jar).headers(), now + 10)
    flow.begin({"k": "new"})
    name = dev_manager.policy.flow_txn_name
    assert clears(flow.cookies()) == {name(txns[0]): CROSS_SITE_CLEAR}


def test_over_the_cap_each_opened_cookie_keeps_its_own_mode(
    dev_manager: SessionManager, now: float
) -> None:
    jar: dict[str, str] = {}
    lax = planted(dev_manager, jar, now, 2, cross_site=False)
    cross = planted(dev_manager, jar, now + 2, 2, cross_site=True)
    flow = dev_manager.open_flow(Browser(jar).headers(), now + 10)
    for i in range(3):
        flow.begin({"k": str(i)})
    name = dev_manager.policy.flow_txn_name
    assert clears(flow.cookies()) == {
        name(lax[0]): LAX_CLEAR,
        name(lax[1]): LAX_CLEAR,
        name(cross[0]): CROSS_SITE_CLEAR,
    }


def test_cross_site_cookies_cleared_unread_get_the_default_attributes(
    dev_manager: SessionManager, now: float
) -> None:
    """Beyond the newest four in header order a cookie is not decrypted: its mode is unknown."""
    jar: dict[str, str] = {}
    txns = planted(dev_manager, jar, now, MAX_FLOWS + 1, cross_site=True)
    flow = dev_manager.open_flow(Browser(jar).headers(), now + 10)
    flow.begin({"k": "new"})
    name = dev_manager.policy.flow_txn_name
    assert clears(flow.cookies()) == {name(txns[0]): LAX_CLEAR, name(txns[1]): CROSS_SITE_CLEAR}


def test_an_unopenable_cookie_over_the_cap_gets_the_default_attributes(
    dev_manager: SessionManager, now: float
) -> None:
    jar: dict[str, str] = {}
    txns = planted(dev_manager, jar, now, MAX_FLOWS, cross_site=True)
    broken = dev_manager.policy.flow_txn_name(txns[1])
    jar[broken] = "A" * 40
    flow = dev_manager.open_flow(Browser(jar).headers(), now + 10)
    flow.begin({"k": "new"}, cross_site=True)
    assert clears(flow.cookies()) == {broken: LAX_CLEAR}


# -- entries that open but are not valid ------------------------------------------------------


def sealed_entry(manager: SessionManager, txn_id: str, entry: dict[str, object]) -> str:
    codec = SessionCodec(manager.keyring, flow_purpose(manager.policy.flow_name, txn_id))
    return codec.seal(json.dumps(entry).encode())


def valid_entry(txn_id: str, now: float) -> dict[str, object]:
    return {"txn_id": txn_id, "data": {"k": "v"}, "return_to": None, "expires_at": now + 300}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda e: {**e, "added_in_a_later_version": 1}, id="unknown-field"),
        pytest.param(lambda e: {k: v for k, v in e.items() if k != "data"}, id="missing-field"),
        pytest.param(lambda e: {**e, "expires_at": "soon"}, id="wrong-type"),
        pytest.param(lambda e: [e], id="not-an-object"),
    ],
)
def test_an_authentic_but_invalid_entry_is_refused_and_cleared(
    manager: SessionManager, now: float, spoil: Callable[[dict[str, object]], object]
) -> None:
    txn = "q" * TXN_ID_LENGTH
    name = manager.policy.flow_txn_name(txn)
    good = sealed_entry(manager, txn, valid_entry(txn, now))
    assert manager.open_flow(Browser({name: good}).headers(), now).consume(txn) is not None

    bad = sealed_entry(manager, txn, spoil(valid_entry(txn, now)))  # type: ignore[arg-type]
    flow = manager.open_flow(Browser({name: bad}).headers(), now)
    assert flow.consume(txn) is None
    assert set(clears(flow.cookies())) == {name}


def test_an_authentic_but_invalid_entry_is_cleared_by_the_cap(
    manager: SessionManager, now: float
) -> None:
    jar: dict[str, str] = {}
    txns = planted(manager, jar, now, MAX_FLOWS - 1, cross_site=False)
    txn = "q" * TXN_ID_LENGTH
    name = manager.policy.flow_txn_name(txn)
    jar[name] = sealed_entry(manager, txn, {**valid_entry(txn, now + 100), "extra": 1})
    flow = manager.open_flow(Browser(jar).headers(), now + 10)
    flow.begin({"k": "new"})
    assert set(clears(flow.cookies())) == {name}
    assert flow.pending == MAX_FLOWS
    for old in txns:
        assert flow.consume(old) is not None


# -- return_to ------------------------------------------------------------------------------


def test_a_transaction_begun_without_return_to_gives_none(
    manager: SessionManager, now: float
) -> None:
    start = manager.open_flow([], now)
    assert start.return_to is None
    txn = start.begin({"k": "v"})
    cookie = only(start.cookies())
    record = manager.open_flow(Browser({cookie.name: cookie.value}).headers(), now).consume(txn)
    assert record is not None
    assert record.return_to is None
    in_request = start.begin({"k": "v"})
    record = start.consume(in_request)
    assert record is not None
    assert record.return_to is None


# -- exact bounds -----------------------------------------------------------------------------


def test_expiry_exactly_lifetime_plus_skew_ahead_is_accepted(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    """A clock set back by up to the 60 s skew still reads a fresh transaction."""
    manager = SessionManager(config_factory(flow_lifetime=300))
    start = manager.open_flow([], now)
    txn = start.begin({"k": "v"})
    headers = Browser({c.name: c.value for c in start.cookies()}).headers()
    assert manager.open_flow(headers, now - 60).consume(txn) is not None
    assert manager.open_flow(headers, now - 60.001).consume(txn) is None
    assert manager.open_flow(headers, now + 299.999).consume(txn) is not None


def test_a_value_of_exactly_the_budget_is_written_and_read(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    config = config_factory()
    probe_manager = SessionManager(config)
    probe = probe_manager.open_flow([], now)
    probe.begin({"k": "v"}, cross_site=True)  # the mode is sealed too: same length below
    length = len(only(probe.cookies()).value)
    budget = probe_manager.policy.flow_value_budget(TXN_ID_LENGTH)
    assert length < budget

    def with_budget(value_budget: int) -> SessionManager:
        limit = probe_manager.policy.header_limit - (budget - value_budget)
        tight = replace(probe_manager.policy, header_limit=limit)
        return SessionManager(config, keyring=probe_manager.keyring, policy=tight)

    exact = with_budget(length)
    flow = exact.open_flow([], now)
    txn = flow.begin({"k": "v"}, cross_site=True)
    cookie = only(flow.cookies())
    assert len(cookie.value) == length
    assert len(cookie.header_value()) == exact.policy.header_limit - 1
    headers = Browser({cookie.name: cookie.value}).headers()
    assert exact.open_flow(headers, now + 1).consume(txn) is not None

    short = with_budget(length - 1)
    with pytest.raises(SessionTooLargeError):
        short.open_flow([], now).begin({"k": "v"}, cross_site=True)
    assert short.open_flow(headers, now + 1).consume(txn) is None  # dropped unread


# -- the scan ---------------------------------------------------------------------------------


def test_names_one_byte_too_long_do_not_use_up_the_scan(
    manager: SessionManager, now: float
) -> None:
    start = manager.open_flow([], now)
    txn = start.begin({"k": "v"})
    cookie = only(start.cookies())
    base = manager.policy.flow_name
    too_long = {f"{base}.{'x' * (TXN_ID_LENGTH - 1)}{i:02d}": "A" for i in range(SCAN_LIMIT + 4)}
    assert all(len(n) == len(cookie.name) + 1 for n in too_long)
    headers: Headers = Browser({**too_long, cookie.name: cookie.value}).headers()
    assert manager.flow_cookie_names(headers) == (cookie.name,)
    flow = manager.open_flow(headers, now + 1)
    assert flow.present_names == (cookie.name,)
    assert flow.pending == 1
    assert flow.consume(txn) is not None
    assert set(clears(flow.cookies())) == {cookie.name}

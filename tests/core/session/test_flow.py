"""FlowTransactions: one encrypted cookie per login transaction."""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable, Iterable
from http.cookies import SimpleCookie
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.errors import SessionTooLargeError
from authplug.request import AuthRequest, FlowAccess
from authplug.results import ResponseCookie
from authplug.session import FlowTransactions, SessionCodec, SessionManager
from authplug.session.flow import MAX_FLOWS, SCAN_LIMIT, TXN_ID_LENGTH, flow_purpose

from .conftest import Browser, Headers


@pytest.fixture
def counted(
    config_factory: Callable[..., AuthplugConfig], counting_manager: Any
) -> tuple[SessionManager, Any]:
    """A manager whose only key counts its decryptions."""
    result: tuple[SessionManager, Any] = counting_manager(config_factory())
    return result


def step(manager: SessionManager, headers: Headers, now: float) -> FlowTransactions:
    return manager.open_flow(headers, now)


def only(cookies: tuple[ResponseCookie, ...]) -> ResponseCookie:
    (cookie,) = cookies
    return cookie


def cleared(cookies: Iterable[ResponseCookie]) -> set[str]:
    return {c.name for c in cookies if c.max_age == 0}


def started(manager: SessionManager, browser: Browser, now: float, **data: str) -> str:
    """Begin a transaction in a request from ``browser`` and deliver the response."""
    flow = step(manager, browser.headers(), now)
    txn = flow.begin(data or {"k": "v"})
    browser.receive(flow.cookies())
    return txn


def fake_txn() -> str:
    return secrets.token_urlsafe(16)


# -- the basic transaction ----------------------------------------------------------


def test_begin_then_consume(manager: SessionManager, now: float) -> None:
    start = step(manager, [], now)
    start.set_return_to("/reports?id=7")
    txn = start.begin({"state_verifier": "v", "nonce": "n"})
    assert start.changed
    cookie = only(start.cookies())
    assert cookie.name == f"{manager.flow_cookie_name}.{txn}"
    assert cookie.name == manager.policy.flow_txn_name(txn)
    assert len(txn) == TXN_ID_LENGTH
    assert len(base64.urlsafe_b64decode(txn + "==")) == 16

    callback = step(manager, Browser({cookie.name: cookie.value}).headers(), now + 30)
    record = callback.consume(txn)
    assert record is not None
    assert record.txn_id == txn
    assert dict(record.data) == {"state_verifier": "v", "nonce": "n"}
    assert record.return_to == "/reports?id=7"
    clear = only(callback.cookies())
    assert clear.name == cookie.name
    assert clear.max_age == 0
    assert clear.value == ""


def test_flow_transactions_is_a_flow_access(manager: SessionManager, now: float) -> None:
    flow: FlowAccess = step(manager, [], now)
    request = AuthRequest(method="GET", path="/auth/login", flow=flow)
    assert request.flow is flow
    assert request.flow.consume(request.flow.begin({"a": "b"})) is not None


def test_begun_and_consumed_in_one_request_writes_nothing(
    manager: SessionManager, now: float
) -> None:
    flow = step(manager, [], now)
    txn = flow.begin({"a": "b"})
    assert flow.consume(txn) is not None
    assert flow.consume(txn) is None
    assert flow.cookies() == ()


def test_ids_are_unique_and_url_safe(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    txns = {flow.begin({"i": str(i)}) for i in range(200)}
    assert len(txns) == 200
    assert all(len(t) == TXN_ID_LENGTH and t.isascii() and "=" not in t for t in txns)


def test_single_use(manager: SessionManager, now: float) -> None:
    browser = Browser()
    txn = started(manager, browser, now)
    callback = step(manager, browser.headers(), now + 1)
    assert callback.consume(txn) is not None
    assert callback.consume(txn) is None
    assert cleared(callback.cookies()) == {manager.policy.flow_txn_name(txn)}
    browser.receive(callback.cookies())
    assert browser.cookies == {}
    assert step(manager, browser.headers(), now + 2).consume(txn) is None


def test_unknown_or_wrong_type_txn(counted: tuple[SessionManager, Any], now: float) -> None:
    manager, counting = counted
    browser = Browser()
    txn = started(manager, browser, now)
    callback = step(manager, browser.headers(), now + 1)
    swapped = txn.swapcase() if txn.swapcase() != txn else txn[::-1]
    for wrong in ("", "x", txn[:-1], txn + "A", swapped, fake_txn(), txn[:-1] + "=", " " + txn):
        assert callback.consume(wrong) is None
    assert callback.consume(None) is None  # type: ignore[arg-type]
    assert callback.consume(123) is None  # type: ignore[arg-type]
    assert counting.decrypts == 0, "an unknown id must not open any cookie"
    assert callback.cookies() == ()
    assert callback.consume(txn) is not None
    assert counting.decrypts == 1


def test_two_interleaved_logins_both_complete(manager: SessionManager, now: float) -> None:
    browser = Browser()
    tab_a = step(manager, browser.headers(), now)
    tab_a.set_return_to("/a")
    txn_a = tab_a.begin({"verifier": "va"})
    browser.receive(tab_a.cookies())
    tab_b = step(manager, browser.headers(), now + 1)
    tab_b.set_return_to("/b")
    txn_b = tab_b.begin({"verifier": "vb"})
    assert only(tab_b.cookies()).name == manager.policy.flow_txn_name(txn_b)
    browser.receive(tab_b.cookies())
    assert len(browser.cookies) == 2
    snapshot = dict(browser.cookies)

    for first, second in ((txn_b, txn_a), (txn_a, txn_b)):
        browser = Browser(snapshot)
        for txn, expected in ((first, first), (second, second)):
            callback = step(manager, browser.headers(), now + 2)
            record = callback.consume(txn)
            assert record is not None
            assert record.txn_id == expected
            assert record.return_to == ("/a" if txn == txn_a else "/b")
            assert dict(record.data) == {"verifier": "va" if txn == txn_a else "vb"}
            browser.receive(callback.cookies())
        assert browser.cookies == {}


# -- expiry ----------------------------------------------------------------------------


def test_expiry(config_factory: Callable[..., AuthplugConfig], now: float) -> None:
    manager = SessionManager(config_factory(flow_lifetime=300))
    browser = Browser()
    txn = started(manager, browser, now)
    assert step(manager, browser.headers(), now + 299).consume(txn) is not None
    late = step(manager, browser.headers(), now + 300)
    assert late.consume(txn) is None
    assert late.changed
    assert cleared(late.cookies()) == {manager.policy.flow_txn_name(txn)}


def test_entry_dated_beyond_the_lifetime_is_refused(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    """A cookie whose expiry lies further ahead than a flow can live (clock moved back)."""
    manager = SessionManager(config_factory(flow_lifetime=300))
    browser = Browser()
    txn = started(manager, browser, now + 3600)
    flow = step(manager, browser.headers(), now)
    assert flow.consume(txn) is None
    assert cleared(flow.cookies()) == {manager.policy.flow_txn_name(txn)}


def test_an_expired_cookie_does_not_hurt_a_live_one(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    manager = SessionManager(config_factory(flow_lifetime=300))
    browser = Browser()
    old = started(manager, browser, now)
    new = started(manager, browser, now + 200)
    later = step(manager, browser.headers(), now + 350)
    assert later.consume(old) is None
    assert later.consume(new) is not None
    assert cleared(later.cookies()) == {
        manager.policy.flow_txn_name(old),
        manager.policy.flow_txn_name(new),
    }


# -- hostile cookies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"), id="last-char"),
        pytest.param(lambda v: v[:20] + ("A" if v[20] != "A" else "B") + v[21:], id="middle"),
        pytest.param(lambda v: v[:5] + ("A" if v[5] != "A" else "B") + v[6:], id="key-id"),
        pytest.param(lambda v: v[:-16], id="truncated"),
        pytest.param(lambda v: v + "=", id="padded"),
        pytest.param(lambda v: v.replace("-", "+").replace("_", "/"), id="std-alphabet"),
        pytest.param(lambda v: "", id="empty"),
        pytest.param(lambda v: "A" * 5000, id="oversized"),
        pytest.param(lambda v: "\u00e9" + v, id="non-ascii"),
        pytest.param(lambda v: "AA", id="too-short"),
    ],
)
def test_tampered_flow_cookie_is_refused_and_cleared(
    manager: SessionManager, now: float, mutate: Callable[[str], str]
) -> None:
    browser = Browser()
    txn = started(manager, browser, now)
    name = manager.policy.flow_txn_name(txn)
    value = browser.cookies[name]
    browser.cookies[name] = mutate(value) if mutate(value) != value else value + "AAAA"
    flow = step(manager, browser.headers(), now + 1)
    assert flow.consume(txn) is None
    assert flow.changed
    assert cleared(flow.cookies()) == {name}


def test_oversized_value_is_dropped_before_decrypting(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    browser = Browser()
    txn = started(manager, browser, now)
    name = manager.policy.flow_txn_name(txn)
    browser.cookies[name] = browser.cookies[name] + "A" * 4096
    flow = step(manager, browser.headers(), now + 1)
    assert flow.consume(txn) is None
    assert counting.decrypts == 0
    assert cleared(flow.cookies()) == {name}


def test_duplicated_flow_cookie_is_refused_and_cleared(manager: SessionManager, now: float) -> None:
    browser = Browser()
    txn = started(manager, browser, now)
    name, value = next(iter(browser.cookies.items()))
    headers: Headers = [(b"cookie", f"{name}={value}; {name}={value}".encode())]
    flow = step(manager, headers, now + 1)
    assert flow.consume(txn) is None
    assert cleared(flow.cookies()) == {name}


def test_flow_cookie_renamed_to_another_transaction(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    """The associated data binds the txn id: a cookie moved under another name never opens."""
    manager, _ = counted
    browser = Browser()
    txn = started(manager, browser, now)
    value = browser.cookies[manager.policy.flow_txn_name(txn)]
    other = fake_txn()
    renamed = Browser({manager.policy.flow_txn_name(other): value})
    flow = step(manager, renamed.headers(), now + 1)
    assert flow.consume(txn) is None  # no cookie carries that name any more
    assert flow.consume(other) is None  # the value was sealed for txn, not for other
    assert cleared(flow.cookies()) == {manager.policy.flow_txn_name(other)}


def test_value_sealed_with_the_old_shared_purpose_is_refused(
    manager: SessionManager, now: float
) -> None:
    """A value sealed for the earlier single cookie's purpose does not open as a transaction."""
    txn = fake_txn()
    entry = f'{{"txn_id":"{txn}","data":{{}},"return_to":null,"expires_at":{now + 60}}}'
    old = SessionCodec(manager.keyring, f"flow:{manager.flow_cookie_name}").seal(entry.encode())
    good = SessionCodec(manager.keyring, flow_purpose(manager.flow_cookie_name, txn))
    flow = step(manager, Browser({manager.policy.flow_txn_name(txn): old}).headers(), now)
    assert flow.consume(txn) is None
    sealed = good.seal(entry.encode())
    flow = step(manager, Browser({manager.policy.flow_txn_name(txn): sealed}).headers(), now)
    assert flow.consume(txn) is not None  # the same entry, sealed for its own name, opens


def test_entry_naming_another_transaction_is_refused(manager: SessionManager, now: float) -> None:
    """Defence in depth: the sealed entry's own txn id must match the cookie's."""
    txn, inner = fake_txn(), fake_txn()
    entry = f'{{"txn_id":"{inner}","data":{{}},"return_to":null,"expires_at":{now + 60}}}'
    value = SessionCodec(manager.keyring, flow_purpose(manager.flow_cookie_name, txn)).seal(
        entry.encode()
    )
    flow = step(manager, Browser({manager.policy.flow_txn_name(txn): value}).headers(), now)
    assert flow.consume(txn) is None
    assert flow.consume(inner) is None


def test_session_cookie_presented_as_flow_cookie(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    (session_cookie,) = manager.write(manager.new_session(user_factory(), now))
    value = session_cookie.value.partition("~")[2]
    txn = fake_txn()
    flow = step(manager, Browser({manager.policy.flow_txn_name(txn): value}).headers(), now)
    assert flow.consume(txn) is None
    assert cleared(flow.cookies()) == {manager.policy.flow_txn_name(txn)}


def test_flow_cookie_presented_as_session_chunk(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    flow.begin({"state": "s", "nonce": "n"})
    value = only(flow.cookies()).value
    result = manager.read(Browser({manager.policy.chunk_name(0): "1~" + value}).headers(), now)
    assert result.session is None
    assert result.outcome == "unopenable"


def test_flow_cookie_from_another_app(
    config_factory: Callable[..., AuthplugConfig], now: float
) -> None:
    ours = SessionManager(config_factory())
    theirs = SessionManager(config_factory(cookie_name="other_session"))
    start = theirs.open_flow([], now)
    txn = start.begin({"k": "v"})
    value = only(start.cookies()).value
    flow = ours.open_flow(Browser({ours.policy.flow_txn_name(txn): value}).headers(), now)
    assert flow.consume(txn) is None


def test_malformed_names_under_the_flow_prefix_are_ignored(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    """Names that are not ``<base>.<22 url-safe chars>`` are neither opened nor echoed back."""
    manager, counting = counted
    base = manager.flow_cookie_name
    names = [
        f"{base}.short",
        f"{base}.{'A' * 21}!",
        f"{base}.{'A' * 23}",
        f"{base}X{'A' * 22}",
        f"{base}.{'A' * 21}\u00e9",
        f"x{base}.{'A' * 22}",
    ]
    header = "; ".join(f"{n}=AAAA" for n in names)
    flow = step(manager, [(b"cookie", header.encode("utf-8"))], now)
    assert flow.pending == 0
    assert flow.present_names == ()
    assert flow.consume("A" * 22) is None
    assert flow.cookies() == ()
    assert counting.decrypts == 0
    assert manager.flow_cookie_names([(b"cookie", header.encode("utf-8"))]) == ()


def test_secure_name_is_not_read_by_a_plain_http_manager(
    dev_manager: SessionManager, manager: SessionManager, now: float
) -> None:
    browser = Browser()
    txn = started(manager, browser, now)
    assert step(dev_manager, browser.headers(), now).present_names == ()
    assert step(dev_manager, browser.headers(), now).consume(txn) is None


def test_untouched_flow_writes_nothing_and_decrypts_nothing(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    assert step(manager, [], now).cookies() == ()
    browser = Browser()
    started(manager, browser, now)
    started(manager, browser, now)
    unchanged = step(manager, browser.headers(), now + 1)
    assert not unchanged.changed
    assert unchanged.pending == 2
    assert unchanged.cookies() == ()
    assert counting.decrypts == 0


def test_a_fifth_begin_clears_the_oldest(counted: tuple[SessionManager, Any], now: float) -> None:
    manager, counting = counted
    browser = Browser()
    txns = [started(manager, browser, now + i) for i in range(MAX_FLOWS)]
    assert counting.decrypts == 0
    assert len(browser.cookies) == MAX_FLOWS
    # The browser lists cookies in another order than their age: expiry decides.
    order = list(browser.cookies.items())
    random.Random(7).shuffle(order)
    order.sort(key=lambda item: item[0] == manager.policy.flow_txn_name(txns[0]))
    browser = Browser(dict(order))  # the oldest transaction comes last in the header
    fifth = step(manager, browser.headers(), now + 10)
    new = fifth.begin({"k": "5"})
    assert counting.decrypts <= MAX_FLOWS
    assert cleared(fifth.cookies()) == {manager.policy.flow_txn_name(txns[0])}
    assert fifth.pending == MAX_FLOWS
    browser.receive(fifth.cookies())
    assert len(browser.cookies) == MAX_FLOWS
    for txn in (*txns[1:], new):
        assert step(manager, browser.headers(), now + 11).consume(txn) is not None
    assert step(manager, browser.headers(), now + 11).consume(txns[0]) is None


def test_cap_clears_unusable_cookies_before_live_ones(manager: SessionManager, now: float) -> None:
    browser = Browser()
    txns = [started(manager, browser, now + i) for i in range(MAX_FLOWS)]
    broken = manager.policy.flow_txn_name(txns[2])
    browser.cookies[broken] = "A" * 40
    flow = step(manager, browser.headers(), now + 10)
    flow.begin({"k": "5"})
    assert cleared(flow.cookies()) == {broken}


def test_many_begins_in_one_request_keep_the_newest(manager: SessionManager, now: float) -> None:
    browser = Browser()
    old = started(manager, browser, now)
    flow = step(manager, browser.headers(), now + 1)
    txns = [flow.begin({"i": str(i)}) for i in range(MAX_FLOWS + 2)]
    sets = [c.name for c in flow.cookies() if c.max_age != 0]
    assert sets == [manager.policy.flow_txn_name(t) for t in txns[-MAX_FLOWS:]]
    assert cleared(flow.cookies()) == {manager.policy.flow_txn_name(old)}
    assert flow.consume(txns[0]) is None


def test_one_hundred_flow_cookies_cost_bounded_work(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    planted = {manager.policy.flow_txn_name(fake_txn()): "A" * 100 for _ in range(100)}
    browser = Browser(planted)
    real = started(manager, Browser(), now)  # not in the jar: sealed values for the test
    genuine = Browser()
    newest = started(manager, genuine, now)
    browser.cookies.update(genuine.cookies)  # the newest cookie comes last, past the scan limit
    decrypts = counting.decrypts
    flow = step(manager, browser.headers(), now + 1)
    assert counting.decrypts == decrypts, "open_flow must not decrypt"
    assert flow.pending == SCAN_LIMIT
    assert flow.consume(real) is None
    record = flow.consume(newest)  # found by a targeted search of the header
    assert record is not None
    assert counting.decrypts == decrypts + 1
    flow.begin({"k": "v"})
    assert counting.decrypts <= decrypts + 1 + MAX_FLOWS
    out = flow.cookies()
    assert len(cleared(out)) <= SCAN_LIMIT + 1
    assert manager.policy.flow_txn_name(newest) in cleared(out)
    assert len(manager.flow_cookie_names(browser.headers())) == SCAN_LIMIT


def test_one_mib_cookie_header_costs_bounded_work(
    counted: tuple[SessionManager, Any], now: float
) -> None:
    manager, counting = counted
    mib = 1024 * 1024
    txn = fake_txn()
    name = manager.policy.flow_txn_name(txn)
    attacks: list[Headers] = [
        [(b"cookie", f"{name}={'A' * mib}".encode())],
        [(b"cookie", "; ".join(f"{name}=A" for _ in range(mib // (len(name) + 4))).encode())],
        [
            (
                b"cookie",
                "; ".join(
                    f"{manager.policy.flow_txn_name(fake_txn())}={'A' * 3000}"
                    for _ in range(mib // 3000)
                ).encode(),
            )
        ],
        [(b"cookie", (f"{manager.flow_cookie_name}.;" * (mib // 20)).encode())],
    ]
    for headers in attacks:
        assert sum(len(v) for _, v in headers) >= mib - 8192
        flow = step(manager, headers, now)
        assert flow.consume(txn) is None
        flow.begin({"k": "v"})
        assert len(flow.cookies()) <= SCAN_LIMIT + 2
        assert len(manager.flow_cookie_names(headers)) <= SCAN_LIMIT
    assert counting.decrypts == 0


def test_one_transaction_too_large_for_a_cookie(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    with pytest.raises(SessionTooLargeError):
        flow.begin({"blob": "x" * 4000})
    assert flow.cookies() == ()


def test_largest_transaction_that_fits_stays_under_4096(
    manager: SessionManager, now: float
) -> None:
    size = 2000
    while True:
        flow = step(manager, [], now)
        try:
            flow.begin({"blob": "x" * size})
        except SessionTooLargeError:
            break
        assert len(only(flow.cookies()).header_value()) < 4096
        size += 64
    assert size > 2500


def test_overlong_return_to_is_not_stored(manager: SessionManager, now: float) -> None:
    flow = step(manager, [], now)
    flow.return_to = "/" + "a" * 2000
    txn = flow.begin({"k": "v"})
    cookie = only(flow.cookies())
    record = step(manager, Browser({cookie.name: cookie.value}).headers(), now).consume(txn)
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


# -- clear and attributes -------------------------------------------------------------------


def test_clear_removes_every_present_flow_cookie(manager: SessionManager, now: float) -> None:
    browser = Browser({"theme": "dark"})
    txns = [started(manager, browser, now + i) for i in range(3)]
    names = manager.flow_cookie_names(browser.headers())
    assert set(names) == {manager.policy.flow_txn_name(t) for t in txns}
    assert names == step(manager, browser.headers(), now).present_names
    out = manager.clear(2, names)
    assert [c.name for c in out[:2]] == [manager.policy.chunk_name(0), manager.policy.chunk_name(1)]
    assert len(out) == len({c.name for c in out}), "no name cleared twice"
    browser.receive(out)
    assert browser.cookies == {"theme": "dark"}
    assert all(c.max_age == 0 and c.value == "" and c.secure for c in out)


def test_the_bare_base_name_is_not_a_flow_cookie(manager: SessionManager, now: float) -> None:
    """Only ``<base>.<txn_id>`` names are flow cookies (the never-released single
    list-holding cookie is gone): a bare base name is somebody else's cookie."""
    browser = Browser({manager.flow_cookie_name: "AQAAAA-whatever", "theme": "dark"})
    flow = step(manager, browser.headers(), now)
    assert not flow.changed
    assert flow.present_names == ()
    assert flow.cookies() == ()


def _attributes(cookie: ResponseCookie) -> tuple[str, dict[str, str]]:
    first, *rest = cookie.header_value().split("; ")
    attributes = {}
    for part in rest:
        key, _, value = part.partition("=")
        assert key.lower() not in attributes
        attributes[key.lower()] = value
    return first.partition("=")[0], attributes


@pytest.mark.parametrize("secure", [True, False])
def test_flow_cookie_attributes(
    config_factory: Callable[..., AuthplugConfig], now: float, secure: bool
) -> None:
    manager = SessionManager(config_factory(cookie_secure=secure, flow_lifetime=300))
    browser = Browser()
    flow = step(manager, browser.headers(), now)
    txn = flow.begin({"k": "v"})
    cookie = only(flow.cookies())
    name, attributes = _attributes(cookie)
    prefix = "__Host-" if secure else ""
    assert name == f"{prefix}authplug_flow.{txn}"
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == "300"
    assert "domain" not in attributes
    assert "expires" not in attributes
    jar: SimpleCookie = SimpleCookie()
    jar.load(cookie.header_value())
    assert jar[name].value == cookie.value
    browser.receive((cookie,))
    callback = step(manager, browser.headers(), now + 1)
    assert callback.consume(txn) is not None
    clear_name, clear_attributes = _attributes(only(callback.cookies()))
    assert clear_name == name
    assert clear_attributes["max-age"] == "0"
    assert clear_attributes["path"] == "/"
    assert ("secure" in clear_attributes) is secure

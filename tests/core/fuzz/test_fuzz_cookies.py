"""Properties of the cookie reader: any Cookie header gives a typed result, never another exception.

Headers are built from arbitrary bytes, from authplug's own cookie names
with arbitrary chunk suffixes, counts and values, and from a genuine
multi-chunk session with chunks dropped, duplicated, swapped, truncated or
re-counted. The reader answers with a :class:`SessionRead`; the only session
it can ever return is the genuine one, and only when every chunk is intact.
"""

from __future__ import annotations

import base64
import os
import string
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authplug.config import AuthplugConfig
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest
from authplug.session import SessionManager
from authplug.session.chunks import read_chunks
from authplug.session.flow import TXN_ID_LENGTH, scan_flow_cookies
from authplug.session.manager import ReadOutcome

pytestmark = pytest.mark.fuzz

NOW = 1_700_000_000.0
KEY = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
CONFIG = AuthplugConfig(cookie_keys=[KEY], store="memory", cookie_secure=True)
MANAGER = SessionManager(CONFIG)
NAME = MANAGER.cookie_name
FLOW = MANAGER.flow_cookie_name
USER = AuthenticatedUser[Any, Any](
    user_id="alice",
    user_type="internal-user",
    custom_data={"blob": base64.b64encode(os.urandom(6000)).decode()},
)
SESSION = MANAGER.new_session(USER, NOW)
GENUINE = [(c.name, c.value) for c in MANAGER.write(SESSION)]
assert len(GENUINE) >= 3

names = st.one_of(
    st.sampled_from([NAME, FLOW, "authplug_session", "__Secure-" + NAME[7:], "other", ""]).flatmap(
        lambda base: st.one_of(
            st.just(base),
            st.integers(-3, 120).map(lambda i: f"{base}.{i}"),
            st.text(max_size=4).map(lambda s: f"{base}.{s}"),
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                min_size=TXN_ID_LENGTH - 1,
                max_size=TXN_ID_LENGTH + 1,
            ).map(lambda s: f"{base}.{s}"),
        )
    ),
    st.text(max_size=12),
)
values = st.one_of(
    st.text(max_size=60),
    st.tuples(st.integers(-1, 1000), st.text(max_size=60)).map(lambda p: f"{p[0]}~{p[1]}"),
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.sampled_from([v for _, v in GENUINE]),
    st.integers(0, 5000).map(lambda n: "A" * n),
)
separators = st.sampled_from(["; ", ";", " ; ", ";\t", ", ", "", ";;"])


@st.composite
def cookie_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """One or more ``cookie`` headers, structured or raw bytes."""
    headers: list[tuple[bytes, bytes]] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            pairs = draw(st.lists(st.tuples(names, values), max_size=8))
            sep = draw(separators)
            text = sep.join(f"{n}={v}" for n, v in pairs)
            headers.append((b"cookie", text.encode("utf-8", "surrogatepass")))
        else:
            headers.append((b"cookie", draw(st.binary(max_size=200))))
    if draw(st.booleans()):
        headers.append((draw(st.sampled_from([b"host", b"x-cookie", b"Cookie"])), b"x"))
    return headers


@given(cookie_headers(), st.floats(NOW - 1e6, NOW + 1e6))
def test_any_cookie_header_reads_as_no_session_or_a_typed_result(
    headers: list[tuple[bytes, bytes]], now: float
) -> None:
    read = MANAGER.read(headers, now)
    assert read.outcome in get_args(ReadOutcome)
    assert read.outcome != "error"  # the reader's last-resort guard never had to catch anything
    if read.session is not None:
        # Only the genuine sealed value opens, so only the genuine session comes back.
        assert read.session == SESSION
    for cookie in read.clear:
        assert cookie.name.startswith(NAME + ".")
        assert cookie.max_age == 0
    scan = read_chunks(headers, NAME.encode(), CONFIG.max_cookie_chunks)
    assert list(scan.indices) == sorted(set(scan.indices))
    assert scan.value is None or not scan.malformed


@given(cookie_headers(), st.text(max_size=30))
def test_flow_cookies_and_request_cookies_never_raise(
    headers: list[tuple[bytes, bytes]], txn_id: str
) -> None:
    scan = scan_flow_cookies(headers, FLOW)
    assert all(len(t) == TXN_ID_LENGTH for t, _ in scan.cookies)
    flow = MANAGER.open_flow(headers, NOW)
    assert flow.consume(txn_id) is None  # nothing random opens
    for cookie in flow.cookies():
        assert cookie.name.startswith(FLOW)
    request = AuthRequest(method="GET", path="/", headers=headers)
    assert isinstance(dict(request.cookies), dict)


def _is_chunk(name: str) -> bool:
    suffix = name.removeprefix(NAME + ".")
    if suffix == name or not suffix.isascii() or not suffix.isdigit():
        return False
    return suffix == "0" or not suffix.startswith("0")


# What a cookie value may hold (RFC 6265 cookie-octets, minus the quote and
# backslash): no ";" or blank, which would start another cookie or be trimmed.
COOKIE_OCTETS = string.ascii_letters + string.digits + "!#$%&'()*+-./:<=>?@[]^_`{|}~"

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("drop"), st.integers(0, 9)),
        st.tuples(st.just("dup"), st.integers(0, 9)),
        st.tuples(st.just("swap"), st.integers(0, 9), st.integers(0, 9)),
        st.tuples(st.just("cut"), st.integers(0, 9), st.integers(0, 4000)),
        st.tuples(st.just("count"), st.text(COOKIE_OCTETS, max_size=4)),
        st.tuples(st.just("rename"), st.integers(0, 9), st.text(COOKIE_OCTETS, max_size=3)),
        st.tuples(st.just("junk"), st.integers(0, 9), st.text(COOKIE_OCTETS, max_size=5)),
    ),
    max_size=4,
)


@given(OPS, separators)
def test_a_tampered_genuine_session_opens_intact_or_not_at_all(
    ops: list[tuple[Any, ...]], sep: str
) -> None:
    chunks = list(GENUINE)
    for op in ops:
        if not chunks:
            break
        i = op[1] % len(chunks) if len(op) > 1 and isinstance(op[1], int) else 0
        name, value = chunks[i]
        if op[0] == "drop":
            del chunks[i]
        elif op[0] == "dup":
            chunks.insert(i, (name, value))
        elif op[0] == "swap":
            j = op[2] % len(chunks)
            chunks[i], chunks[j] = chunks[j], chunks[i]
        elif op[0] == "cut":
            chunks[i] = (name, value[: op[2]])
        elif op[0] == "count":
            first_name, first_value = chunks[0]
            chunks[0] = (first_name, op[1] + "~" + first_value.split("~", 1)[-1])
        elif op[0] == "rename":
            chunks[i] = (f"{NAME}.{op[2]}", value)
        else:
            chunks[i] = (name, value + op[2])
    header = sep.join(f"{n}={v}" for n, v in chunks).encode("utf-8", "surrogatepass")
    read = MANAGER.read([(b"cookie", header)], NOW + 1)
    assert read.outcome != "error"
    # Cookies under the base name whose suffix is not a canonical index
    # ("name.", "name.01", "name.x") are somebody else's and do not count.
    as_written = sorted(c for c in chunks if _is_chunk(c[0])) == sorted(GENUINE)
    if read.session is not None:
        assert read.session == SESSION
        assert as_written  # every chunk exactly as written (in any order)
    elif as_written and sep in ("; ", ";", " ; ", ";\t", ";;"):
        raise AssertionError(f"the genuine chunks did not open ({read.outcome})")

"""``CookiePolicy`` outputs that mutation testing showed unpinned.

The exact ``Set-Cookie`` header values of every cookie kind (session chunk,
its deletion, flow cookie in both modes, their deletions) in production,
development and with ``cookie_domain``; the byte budgets, which must let a
full chunk or flow cookie reach exactly 4095 bytes (one byte less wastes room,
one more is dropped by browsers); and the flow cookie's name for every session
cookie name, ``_session`` included.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from authplug.config import AuthplugConfig
from authplug.session import SessionManager
from authplug.session.cookie_policy import MAX_HEADER_VALUE, CookiePolicy, flow_base_name
from authplug.session.flow import TXN_ID_LENGTH

from .conftest import NOW, cookie_headers, make_key, make_user

TXN = "t" * TXN_ID_LENGTH
SECURE_LAX = "Secure; HttpOnly; SameSite=Lax"
SECURE_NONE = "Secure; HttpOnly; SameSite=None"


def policy(**overrides: object) -> CookiePolicy:
    values: dict[str, object] = {
        "cookie_keys": [make_key()],
        "absolute_lifetime": 86400,
        "flow_lifetime": 300,
    }
    values.update(overrides)
    return CookiePolicy.from_config(AuthplugConfig(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cookie_name", "flow_name"),
    [
        ("authplug_session", "authplug_flow"),
        ("shop_session", "shop_flow"),
        ("shop", "shop_flow"),
        ("_session", "_session_flow"),  # nothing would be left of the stem
        ("_SESSION", "_SESSION_flow"),
        ("x_session_session", "x_session_flow"),
        ("sessions", "sessions_flow"),
    ],
)
def test_flow_base_name(cookie_name: str, flow_name: str) -> None:
    assert flow_base_name(cookie_name) == flow_name
    assert policy(cookie_name=cookie_name, cookie_secure=False).flow_name == flow_name
    assert policy(cookie_name=cookie_name, cookie_secure=True).flow_name == "__Host-" + flow_name


def test_session_and_flow_cookies_never_share_a_name() -> None:
    for cookie_name in ("_session", "a_session", "a", "_flow", "a_flow"):
        names = policy(cookie_name=cookie_name, cookie_secure=False)
        assert names.session_name != names.flow_name


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"cookie_secure": True},
            [
                f"__Host-authplug_session.1=v; Path=/; Max-Age=86400; {SECURE_LAX}",
                f"__Host-authplug_session.1=; Path=/; Max-Age=0; {SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=v; Path=/; Max-Age=300; {SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=v; Path=/; Max-Age=300; {SECURE_NONE}",
                f"__Host-authplug_flow.{TXN}=; Path=/; Max-Age=0; {SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=; Path=/; Max-Age=0; {SECURE_NONE}",
            ],
        ),
        (
            {"cookie_secure": False},
            [
                "authplug_session.1=v; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax",
                "authplug_session.1=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                f"authplug_flow.{TXN}=v; Path=/; Max-Age=300; HttpOnly; SameSite=Lax",
                f"authplug_flow.{TXN}=v; Path=/; Max-Age=300; {SECURE_NONE}",
                f"authplug_flow.{TXN}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
                f"authplug_flow.{TXN}=; Path=/; Max-Age=0; {SECURE_NONE}",
            ],
        ),
        (
            {"cookie_secure": True, "cookie_domain": "example.com"},
            [
                "__Secure-authplug_session.1=v; Path=/; Domain=example.com; Max-Age=86400; "
                f"{SECURE_LAX}",
                "__Secure-authplug_session.1=; Path=/; Domain=example.com; Max-Age=0; "
                f"{SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=v; Path=/; Max-Age=300; {SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=v; Path=/; Max-Age=300; {SECURE_NONE}",
                f"__Host-authplug_flow.{TXN}=; Path=/; Max-Age=0; {SECURE_LAX}",
                f"__Host-authplug_flow.{TXN}=; Path=/; Max-Age=0; {SECURE_NONE}",
            ],
        ),
    ],
    ids=["production", "development", "domain"],
)
def test_exact_set_cookie_values(overrides: dict[str, object], expected: list[str]) -> None:
    cookies = policy(**overrides)
    flow_name = cookies.flow_txn_name(TXN)
    made = [
        cookies.session_cookie(1, "v"),
        cookies.clear_chunk(1),
        cookies.flow_cookie(TXN, "v"),
        cookies.flow_cookie(TXN, "v", cross_site=True),
        cookies.clear(flow_name),
        cookies.clear(flow_name, cross_site=True),
    ]
    assert [c.header_value() for c in made] == expected


@pytest.mark.parametrize(
    "overrides",
    [{"cookie_secure": True}, {"cookie_secure": False}, {"cookie_domain": "example.com"}],
    ids=["production", "development", "domain"],
)
def test_a_full_chunk_is_exactly_one_byte_under_the_limit(overrides: dict[str, object]) -> None:
    cookies = policy(**overrides)
    for index in (0, 1, 9, 10):
        budget = cookies.chunk_value_budget(index)
        full = cookies.session_cookie(index, "v" * budget)
        assert len(full.header_value()) == MAX_HEADER_VALUE - 1


@pytest.mark.parametrize("secure", [True, False])
def test_a_full_flow_cookie_is_exactly_one_byte_under_the_limit(secure: bool) -> None:
    cookies = policy(cookie_secure=secure)
    budget = cookies.flow_value_budget(TXN_ID_LENGTH)
    cross = cookies.flow_cookie(TXN, "v" * budget, cross_site=True)
    lax = cookies.flow_cookie(TXN, "v" * budget)
    # the cross-site attributes are the longer ones: they set the budget
    assert len(cross.header_value()) == MAX_HEADER_VALUE - 1
    assert len(lax.header_value()) < MAX_HEADER_VALUE - 1


def test_budgets_follow_the_header_limit() -> None:
    cookies = policy(cookie_secure=True)
    smaller = replace(cookies, header_limit=1000)
    assert smaller.chunk_value_budget(1) == cookies.chunk_value_budget(1) - (
        MAX_HEADER_VALUE - 1000
    )
    assert smaller.flow_value_budget(TXN_ID_LENGTH) == cookies.flow_value_budget(TXN_ID_LENGTH) - (
        MAX_HEADER_VALUE - 1000
    )


@pytest.mark.parametrize("secure", [True, False])
def test_the_manager_fills_middle_chunks_to_4095_bytes(secure: bool) -> None:
    """Through the manager: a session of three chunks or more, every middle one full."""
    config = AuthplugConfig(cookie_keys=[make_key()], cookie_secure=secure, max_cookie_chunks=20)
    manager = SessionManager(config)
    blob = secrets.token_urlsafe(12000)
    cookies = manager.write(manager.new_session(make_user(auth_data={"t": blob}), NOW))
    sizes = [len(c.header_value()) for c in cookies]
    assert len(sizes) >= 4
    assert sizes[1:-1] == [MAX_HEADER_VALUE - 1] * (len(sizes) - 2)
    assert sizes[0] == MAX_HEADER_VALUE - 2  # chunk 0 keeps room for a two-digit count
    assert sizes[-1] < MAX_HEADER_VALUE
    read = manager.read(cookie_headers(cookies), NOW + 1)
    assert read.session is not None
    assert read.session.user.auth_data == {"t": blob}

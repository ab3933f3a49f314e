"""Session payload behaviours that mutation testing showed no test pinned.

A login whose user keeps a secret-looking key in ``custom_data`` logs the one
WARNING (the key, never the value), from the session's own conversion.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from authplug.session import SessionManager
from authplug.session.payload import as_session_user


def test_a_new_session_warns_about_a_secret_looking_custom_data_key(
    manager: SessionManager,
    user_factory: Callable[..., Any],
    now: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a key this process has never seen (the warning is once per key and process)
    key = f"service_token_{secrets.token_hex(8)}"
    value = secrets.token_urlsafe(16)
    user = user_factory(custom_data={"company": "Wonderland", key: value})
    with caplog.at_level(logging.WARNING, logger="authplug"):
        session = manager.new_session(user, now)
        manager.new_session(user, now)
    assert session.user.custom_data == {"company": "Wonderland", key: value}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([m for m in warnings if key in m]) == 1
    assert not [m for m in warnings if value in m]


def test_as_session_user_warns_too(
    user_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    key = f"api_key_{secrets.token_hex(8)}"
    with caplog.at_level(logging.WARNING, logger="authplug"):
        stored = as_session_user(user_factory(custom_data={key: "v"}))
    assert stored.custom_data == {key: "v"}
    assert any(key in r.getMessage() for r in caplog.records)

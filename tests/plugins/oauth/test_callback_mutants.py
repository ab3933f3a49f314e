"""``safe_error_code``: what of the server's ``error`` parameter may reach a log line.

Mutation testing showed no test pinned it: a plain token passes unchanged,
anything else (markup, spaces, control characters, overlong) becomes exactly
``"unknown"``.
"""

from __future__ import annotations

import pytest

from authplug_oauth.callback import safe_error_code


@pytest.mark.parametrize(
    "code", ["access_denied", "invalid_request", "temporarily_unavailable", "x.y-z_1", "a" * 64]
)
def test_a_plain_error_code_is_kept(code: str) -> None:
    assert safe_error_code(code) == code


@pytest.mark.parametrize(
    "code",
    ["", "a" * 65, "access denied", "<script>", "denied\r\nX-Injected: 1", "d\u00e9ni", "%41"],
    ids=["empty", "65-chars", "space", "markup", "crlf", "non-ascii", "percent"],
)
def test_anything_else_is_unknown(code: str) -> None:
    assert safe_error_code(code) == "unknown"

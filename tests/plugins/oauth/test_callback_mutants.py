"""``safe_error_code``: what of the server's ``error`` parameter may reach a log line.

Mutation testing showed no test pinned it: a plain token passes unchanged,
anything else (markup, spaces, control characters, overlong) becomes exactly
``"unknown"``.
"""

from __future__ import annotations

import pytest

from authplug.request import AuthRequest
from authplug_oauth.callback import MAX_PARAMETER_BYTES, callback_parameters, safe_error_code
from authplug_oauth.errors import OAuthLoginError


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


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "content_type",
    [FORM, f"{FORM}; charset=UTF-8", f"{FORM} ; charset=utf-8; x=1", FORM.upper()],
    ids=["plain", "charset", "two-parameters", "upper-case"],
)
def test_a_form_post_callback_with_content_type_parameters(content_type: str) -> None:
    request = AuthRequest(
        method="POST",
        path="/auth/callback",
        headers=((b"content-type", content_type.encode()),),
        body=b"code=c-1&state=s-1",
    )
    assert callback_parameters(request, form_post=True) == {"code": "c-1", "state": "s-1"}


@pytest.mark.parametrize(
    "content_type", ["text/plain", f"multipart/form-data; x={FORM}", ""], ids=str
)
def test_a_form_post_callback_of_another_type_is_refused(content_type: str) -> None:
    request = AuthRequest(
        method="POST",
        path="/auth/callback",
        headers=((b"content-type", content_type.encode()),),
        body=b"code=c-1&state=s-1",
    )
    with pytest.raises(OAuthLoginError) as caught:
        callback_parameters(request, form_post=True)
    assert caught.value.code == "invalid_callback"


def _query(raw: bytes) -> AuthRequest:
    return AuthRequest(method="GET", path="/auth/callback", query_string=raw)


def test_blank_values_and_bare_names_are_kept() -> None:
    assert callback_parameters(_query(b"code=&state=s-1&flag"), form_post=False) == {
        "code": "",
        "state": "s-1",
        "flag": "",
    }


def test_the_size_cap_is_inclusive() -> None:
    filler = b"&x=" + b"a" * (MAX_PARAMETER_BYTES - len(b"state=s-1&x="))
    exact = b"state=s-1" + filler
    assert len(exact) == MAX_PARAMETER_BYTES
    assert callback_parameters(_query(exact), form_post=False)["state"] == "s-1"
    with pytest.raises(OAuthLoginError) as caught:
        callback_parameters(_query(exact + b"a"), form_post=False)
    assert caught.value.code == "invalid_callback"


@pytest.mark.parametrize("raw", [b"code=%ff&state=s-1", b"code=\xff"], ids=["escaped", "raw"])
def test_a_value_that_is_not_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(OAuthLoginError) as caught:
        callback_parameters(_query(raw), form_post=False)
    assert caught.value.code == "invalid_callback"

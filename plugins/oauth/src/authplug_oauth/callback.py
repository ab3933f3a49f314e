"""Reading the authorization response (RFC 6749 §4.1.2) strictly.

The parameters come from the query (``response_mode=query``) or from an
``application/x-www-form-urlencoded`` POST body (``form_post``). A name sent
twice is refused (RFC 6749 §3.1: parameters must not be included more than
once; a second ``state`` or ``code`` is how parser-differential attacks
start). Values are bounded in size; nothing read here is ever echoed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from authplug.request import AuthRequest
from authplug_oauth.errors import OAuthLoginError

__all__ = ["MAX_PARAMETER_BYTES", "callback_parameters", "safe_error_code"]

MAX_PARAMETER_BYTES: Final = 8192
"""Largest query or form body a callback accepts."""
_ERROR_CODE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def callback_parameters(request: AuthRequest, *, form_post: bool) -> Mapping[str, str]:
    """The callback's parameters, each name at most once.

    :raises OAuthLoginError: ``duplicated_parameter``, or ``invalid_callback``
        (too large, not UTF-8, a form POST with another content type).
    """
    if form_post:
        content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if request.method != "POST" or content_type != "application/x-www-form-urlencoded":
            raise OAuthLoginError("invalid_callback", detail="expected a form POST")
        raw = request.body
    else:
        raw = request.query_string
    if len(raw) > MAX_PARAMETER_BYTES:
        raise OAuthLoginError("invalid_callback", detail="too large")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthLoginError("invalid_callback", detail="not UTF-8") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthLoginError("duplicated_parameter")
        params[name] = value
    return params


def safe_error_code(value: str) -> str:
    """The server's ``error`` code for logs when it is a plain token, else ``"unknown"``."""
    return value if _ERROR_CODE.fullmatch(value) else "unknown"

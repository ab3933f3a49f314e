"""A warning when a user's ``custom_data`` looks like it holds a secret.

``custom_data`` is saved to the user store and shown to tools; credentials
belong in ``auth_data``, which only the encrypted session cookie carries. A
key naming a token, secret, password or key is most likely a mistake, so the
core logs a WARNING on the ``authplug`` logger the first time it sees each
such key in this process (the key only, never the value).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

__all__ = ["SECRET_LOOKING_KEY", "warn_if_secret_looking"]

SECRET_LOOKING_KEY = re.compile(
    r"token|secret|passw(?:or)?d|credential|apikey|(?:^|[_.-])key(?:$|[_.-])", re.IGNORECASE
)
"""Key names that look like credentials (``access_token``, ``api_key``, ``password``)."""

_logger = logging.getLogger("authplug")
_warned: set[str] = set()
_lock = threading.Lock()


def warn_if_secret_looking(custom_data: Mapping[str, str] | None) -> None:
    """Log once per key when ``custom_data`` has a key that looks like a secret."""
    if not custom_data:
        return
    for key in custom_data:
        if key in _warned or not SECRET_LOOKING_KEY.search(key):
            continue
        with _lock:
            if key in _warned:
                continue
            _warned.add(key)
        _logger.warning(
            "custom_data key %r looks like a secret: custom_data is saved to the user store "
            "and shown to tools; put credentials in auth_data, which only the encrypted "
            "session cookie carries",
            key,
        )

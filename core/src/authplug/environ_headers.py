"""Request headers in a WSGI environ: ``X-Api-Key`` is ``HTTP_X_API_KEY`` (CGI naming).

One place for the naming rule, used by the WSGI host's header lookup and by
the remembered fast-path answers (:mod:`authplug.fast_answers`), which read
an environ directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authplug.request import HeaderLookup

__all__ = ["environ_key", "environ_lookup"]

_KEYS: dict[str, str] = {}
_UNPREFIXED = ("CONTENT_TYPE", "CONTENT_LENGTH")


def environ_key(name: str) -> str:
    """The environ key of header ``name`` (``HTTP_X_API_KEY``; ``CONTENT_TYPE`` as is)."""
    key = _KEYS.get(name)
    if key is not None:
        return key
    key = name.upper().replace("-", "_")
    if key not in _UNPREFIXED:
        key = "HTTP_" + key
    if len(_KEYS) < 64:  # the few names providers ask for
        _KEYS[name] = key
    return key


def environ_lookup(environ: Mapping[str, Any]) -> HeaderLookup:
    """A :data:`~authplug.request.HeaderLookup` over a WSGI environ (``str`` values only)."""

    def header(name: str) -> str | None:
        key = _KEYS.get(name)
        value = environ.get(environ_key(name) if key is None else key)
        return value if isinstance(value, str) else None

    return header

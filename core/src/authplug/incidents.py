"""Loud failures: a correlation id and a redacted traceback on the ``authplug`` logger.

When a provider, a plugin or authplug itself fails unexpectedly, the user
gets a generic error carrying a short correlation id, and the operator finds
the same id in the log next to the full traceback. The traceback text is
redacted here, before it is logged (:func:`authplug.redaction.redact`), so
no token from an exception message reaches a handler even when the
application installed no redaction filter.
"""

from __future__ import annotations

import logging
import secrets
import traceback

from authplug.redaction import redact

__all__ = ["LOGGER_NAME", "new_reference", "report_failure"]

LOGGER_NAME = "authplug"
"""The logger failures are reported on (at ERROR)."""

_log = logging.getLogger(LOGGER_NAME)


def new_reference() -> str:
    """A short random correlation id (8 hex digits) shown to the user and logged."""
    return secrets.token_hex(4)


def report_failure(exc: BaseException, what: str, reference: str | None = None) -> str:
    """Log ``exc`` with its traceback (redacted) at ERROR; return the correlation id.

    :param exc: The failure (its ``__cause__`` chain is included).
    :param what: What failed, for the log line (``"authplug_authenticate"``);
        it must not contain request data.
    :param reference: The correlation id to use (default: a new one).
    """
    reference = reference or new_reference()
    text = "".join(traceback.format_exception(exc)).rstrip()
    _log.error("authplug: %s failed [ref %s]\n%s", what, reference, redact(text))
    return reference

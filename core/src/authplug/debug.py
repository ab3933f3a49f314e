"""Debug tracing of the per-request lifecycle (``AUTHPLUG_DEBUG=1`` / ``DEBUG_AUTH=true``).

When ``config.debug`` is on, the lifecycle logs each decision it takes and
each hook it calls, with timings, through the stdlib logger ``authplug.debug``
at ``DEBUG`` level. Every value goes through :mod:`authplug.redaction` first:
users are summarised (id, type, roles; never auth data), free text is
redacted, and query strings, cookie values and tokens are never passed in.

When debug is off the host holds :data:`NULL_TRACER` instead, whose methods
do nothing, so callers never test for a tracer; the hot path checks
:attr:`Tracer.enabled` once, at start-up.

Debug output must show up without the application configuring logging (an
app run by ``uvicorn module:app`` configures only uvicorn's loggers): when a
tracer is created and no handler other than authplug's own redaction handler
would receive ``authplug.debug`` records, one handler writing to stderr is
attached to the ``authplug`` logger (see :func:`ensure_debug_output`). An
application that configured logging keeps full control: nothing is attached.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol

from authplug.models import AuthenticatedUser
from authplug.redaction import redact, summarize_user

__all__ = [
    "LOGGER_NAME",
    "NULL_TRACER",
    "DebugStderrHandler",
    "DebugTracer",
    "NullTracer",
    "Tracer",
    "ensure_debug_output",
    "tracer_for",
]

LOGGER_NAME = "authplug.debug"
"""Name of the logger debug traces go to."""


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class DebugStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler :func:`ensure_debug_output` attaches (one at most)."""


def _has_output_handler(logger: logging.Logger) -> bool:
    """Whether a record on ``logger`` reaches a handler that writes somewhere.

    authplug's redaction handler (installed on ``authplug``) writes nothing
    and does not count.
    """
    from authplug.redaction import _RedactionHandler

    node: logging.Logger | None = logger
    while node is not None:
        if any(not isinstance(h, _RedactionHandler) for h in node.handlers):
            return True
        node = node.parent if node.propagate else None
    return False


def ensure_debug_output(logger: logging.Logger | None = None) -> logging.Logger:
    """Make debug traces on ``logger`` (default ``authplug.debug``) visible.

    When no handler would receive them, attach a :class:`DebugStderrHandler`
    (redacting, like every authplug handler) to the ``authplug`` logger; when
    the logger's level would drop ``DEBUG`` records and nobody set one, set
    it to ``DEBUG``: ``AUTHPLUG_DEBUG=1`` is an explicit request for output.
    Idempotent. Returns ``logger``.
    """
    from authplug.redaction import RedactingFilter

    logger = logger or logging.getLogger(LOGGER_NAME)
    if logger.level == logging.NOTSET and not logger.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.DEBUG)
    if not _has_output_handler(logger):
        handler = DebugStderrHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(RedactingFilter())
        logging.getLogger("authplug").addHandler(handler)
    return logger


class Tracer(Protocol):
    """Where the lifecycle and the hook calls report: :class:`DebugTracer`, :class:`NullTracer`."""

    @property
    def enabled(self) -> bool:
        """Whether anything is recorded (callers may skip building trace data when not)."""
        ...

    def step(self, step: str, **fields: object) -> None:
        """Record one lifecycle decision."""
        ...

    def hook(self, name: str, started: float, outcome: str) -> None:
        """Record one hook call, started at ``started`` (``time.perf_counter()``)."""
        ...

    def request_done(self, path: str, started: float, outcome: str) -> None:
        """Record the final decision for a request."""
        ...


class NullTracer:
    """The tracer of a host with debug off: records nothing, costs a method call."""

    __slots__ = ()
    enabled = False

    def step(self, step: str, **fields: object) -> None:
        """Record nothing."""

    def hook(self, name: str, started: float, outcome: str) -> None:
        """Record nothing."""

    def request_done(self, path: str, started: float, outcome: str) -> None:
        """Record nothing."""


NULL_TRACER = NullTracer()
"""The one :class:`NullTracer` (it holds no state)."""


class DebugTracer:
    """Writes redacted lifecycle traces to the ``authplug.debug`` logger.

    :param logger: Where to log (default: ``logging.getLogger("authplug.debug")``,
        made visible by :func:`ensure_debug_output`).
    """

    __slots__ = ("_logger",)
    enabled = True

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger if logger is not None else ensure_debug_output()

    def step(self, step: str, **fields: object) -> None:
        """Log one lifecycle decision, e.g. ``step("session", result="valid")``.

        Each field value is rendered with ``str`` and redacted; a
        :class:`~authplug.models.AuthenticatedUser` is summarised instead.
        """
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        self._logger.debug("authplug %s%s", step, self._render(fields))

    def hook(self, name: str, started: float, outcome: str) -> None:
        """Log one hook call: its name, its duration since ``started`` and its outcome.

        :param name: The hook or route called.
        :param started: ``time.perf_counter()`` taken before the call.
        :param outcome: A short description of the result (no secrets).
        """
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self._logger.debug(
            "authplug hook %s took %.3f ms -> %s", redact(name), elapsed_ms, redact(outcome)
        )

    def request_done(self, path: str, started: float, outcome: str) -> None:
        """Log the lifecycle's final decision for a request and its total duration."""
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self._logger.debug(
            "authplug request %s decided in %.3f ms -> %s",
            redact(path),
            elapsed_ms,
            redact(outcome),
        )

    @staticmethod
    def _render(fields: dict[str, object]) -> str:
        parts = []
        for key, value in fields.items():
            if isinstance(value, AuthenticatedUser):
                parts.append(f" {summarize_user(value)}")
            else:
                parts.append(f" {key}={redact(str(value))}")
        return "".join(parts)


def tracer_for(debug: bool) -> Tracer:
    """A :class:`DebugTracer` when ``debug`` is on, else :data:`NULL_TRACER`."""
    return DebugTracer() if debug else NULL_TRACER

"""Debug tracing of the per-request lifecycle (``AUTHPLUG_DEBUG=1`` / ``DEBUG_AUTH=true``).

When ``config.debug`` is on, the lifecycle logs each decision it takes and
each hook it calls, with timings, through the stdlib logger ``authplug.debug``
at ``DEBUG`` level. Every value goes through :mod:`authplug.redaction` first:
users are summarised (id, type, roles; never auth data), free text is
redacted, and query strings, cookie values and tokens are never passed in.

When debug is off the host holds :data:`NULL_TRACER` instead, whose methods
do nothing, so callers never test for a tracer; the hot path checks
:attr:`Tracer.enabled` once, at start-up.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from authplug.models import AuthenticatedUser
from authplug.redaction import redact, summarize_user

__all__ = ["LOGGER_NAME", "NULL_TRACER", "DebugTracer", "NullTracer", "Tracer", "tracer_for"]

LOGGER_NAME = "authplug.debug"
"""Name of the logger debug traces go to."""


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

    :param logger: Where to log (default: ``logging.getLogger("authplug.debug")``).
    """

    __slots__ = ("_logger",)
    enabled = True

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(LOGGER_NAME)

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

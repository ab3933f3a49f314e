"""``HookRecorder``: which hooks a host called, through pluggy's hook-call monitoring."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

__all__ = ["HookCall", "HookRecorder"]


@dataclass(frozen=True)
class HookCall:
    """One hook call: its name and the keyword arguments it was called with."""

    name: str
    kwargs: Mapping[str, Any]


class HookRecorder:
    """Record every hook call on a plugin manager (``add_hookcall_monitoring``).

    Assert on behaviour: "validate ran once", "refresh was not called"::

        recorder.assert_called("authplug_validate", times=1)
        recorder.assert_not_called("authplug_refresh")

    Calls from any thread are recorded (the WSGI host calls hooks on its
    background loop). Call :meth:`close` to stop recording.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager) -> None:
        self._lock = threading.Lock()
        self._calls: list[HookCall] = []
        self._undo: Callable[[], None] | None = plugin_manager.add_hookcall_monitoring(
            self._before, self._after
        )

    def _before(self, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        with self._lock:
            self._calls.append(HookCall(hook_name, dict(kwargs)))

    def _after(
        self, outcome: Any, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> None:
        return None

    @property
    def calls(self) -> list[HookCall]:
        """Every call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def count(self, name: str) -> int:
        """How many times hook ``name`` was called."""
        return sum(1 for call in self.calls if call.name == name)

    def assert_called(self, name: str, *, times: int | None = None) -> None:
        """Fail unless ``name`` was called (exactly ``times`` times, when given)."""
        count = self.count(name)
        if count == 0 or (times is not None and count != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(
                f"expected {name} to be called {wanted}, it was called {count} time(s); "
                f"calls: {[c.name for c in self.calls]}"
            )

    def assert_not_called(self, name: str) -> None:
        """Fail if ``name`` was called."""
        count = self.count(name)
        if count:
            raise AssertionError(f"expected {name} not to be called; it was called {count} time(s)")

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self._calls.clear()

    def close(self) -> None:
        """Stop recording."""
        if self._undo is not None:
            self._undo()
            self._undo = None

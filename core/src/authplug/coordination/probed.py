"""``ProbedCoordination``: a backend described without being opened (``authplug check``).

``authplug check`` changes nothing on disk, so a backend that would create
a file when opened (the ``sqlite`` backend) is *probed* instead
(:func:`authplug.coordination.sqlite.probe`) and the host it checks holds
this stand-in: it has the backend's name and sharing (so every rule about a
shared backend, such as "one key ring for all processes", is still
checked), reports the probe's description from :meth:`check`, and refuses
leases, results and broadcasts. It never serves a request.
"""

from __future__ import annotations

from typing import NoReturn

from authplug.coordination.base import CoordinationError, Lease, RevocationListener

__all__ = ["ProbedCoordination"]


class ProbedCoordination:
    """The description of a backend that was checked but not opened.

    :param name: The backend's config name.
    :param description: What :meth:`check` returns (from the backend's probe).
    :param lease_ttl: The configured lease time.
    :param shared: Whether the real backend is shared between processes.
    """

    def __init__(self, name: str, description: str, *, lease_ttl: float, shared: bool) -> None:
        self.name = name
        self.shared = shared
        self.lease_ttl = lease_ttl
        self._description = description

    def _refuse(self) -> NoReturn:
        raise CoordinationError(
            f"the {self.name} coordination was only probed (authplug check), not opened",
            backend=self.name,
        )

    def try_lease(self, key: str) -> Lease | None:
        """Refused: a probed backend holds no lease."""
        self._refuse()

    def release(self, lease: Lease) -> None:
        """Refused: a probed backend holds no lease."""
        self._refuse()

    def wait_released(self, key: str, timeout: float) -> None:
        """Refused: a probed backend holds no lease."""
        self._refuse()

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """Refused: a probed backend keeps nothing."""
        self._refuse()

    def get_result(self, key: str) -> str | None:
        """Refused: a probed backend keeps nothing."""
        self._refuse()

    def publish_revocation(self, sid: str, until: float) -> None:
        """Refused: a probed backend reaches no other process."""
        self._refuse()

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Accepted and ignored: nothing is ever published to a probed backend."""

    def catch_up(self) -> None:
        """Nothing to catch up: nothing is ever published to a probed backend."""

    def check(self) -> str:
        """The probe's description."""
        return self._description

    def close(self) -> None:
        """Nothing to release."""

"""``MemoryFlow``: login-transaction state for a provider called directly in a unit test."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from authplug.request import FlowRecord

__all__ = ["MemoryFlow"]


class MemoryFlow:
    """A :class:`~authplug.request.FlowAccess` kept in a dict, single-use like the real one.

    The hosts back ``request.flow`` with an encrypted cookie; set
    ``request.flow = MemoryFlow()`` to call a provider's hooks or routes
    without a host.

    :param return_to: The ``return_to`` every transaction reports.
    """

    def __init__(self, return_to: str | None = None) -> None:
        self.return_to = return_to
        self.records: dict[str, FlowRecord] = {}
        self.cross_site_transactions: set[str] = set()

    def begin(self, data: Mapping[str, str], *, cross_site: bool = False) -> str:
        """Store ``data`` under a new random transaction id and return the id.

        ``cross_site`` is recorded in :attr:`cross_site_transactions` (the
        hosts use it to choose the flow cookie's ``SameSite``).
        """
        txn_id = secrets.token_urlsafe(16)
        self.records[txn_id] = FlowRecord(txn_id, dict(data), self.return_to)
        if cross_site:
            self.cross_site_transactions.add(txn_id)
        return txn_id

    def consume(self, txn_id: str) -> FlowRecord | None:
        """Return and forget transaction ``txn_id`` (``None`` when unknown or used)."""
        return self.records.pop(txn_id, None)

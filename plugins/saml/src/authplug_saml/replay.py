"""The assertion-ID replay cache, kept in the user store so it holds across processes.

A bearer assertion may be presented once. Its ``ID`` (scoped by the IdP's
entity id and hashed to a fixed length) is claimed in the user store with
:meth:`~authplug.stores.base.UserStore.claim_once` until the bearer
confirmation's ``NotOnOrAfter`` plus the clock skew, after which the
assertion is refused as expired anyway. Every process sharing the store
(SQLite file, PostgreSQL) sees the claim, so a response POSTed twice, to two
workers at once, logs in at most once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from authplug.errors import ConfigError
from authplug.stores.base import UserStore
from authplug_saml.errors import SamlRejectedError

__all__ = ["ReplayCache"]


class ReplayCache:
    """Claims assertion ids in a user store.

    :param store: The host's user store; it must implement ``claim_once``.
    :raises ConfigError: the store cannot record one-time keys.
    """

    __slots__ = ("_store",)

    def __init__(self, store: UserStore) -> None:
        if not callable(getattr(store, "claim_once", None)):
            raise ConfigError(
                f"store: {type(store).__name__} does not implement claim_once, which the SAML"
                " provider's assertion replay cache needs; use the memory or sqlite store or"
                " upgrade this one"
            )
        self._store = store

    @staticmethod
    def key(idp_entity_id: str, assertion_id: str) -> str:
        """The store key of an assertion: ``saml-assertion:`` + SHA-256 of issuer and id."""
        digest = hashlib.sha256(f"{idp_entity_id}\x00{assertion_id}".encode()).hexdigest()
        return f"saml-assertion:{digest}"

    def claim(self, idp_entity_id: str, assertion_id: str, until: float, now: float) -> None:
        """Record the assertion's single use; blocking (run it off the event loop).

        :raises SamlRejectedError: ``replayed_assertion`` when it was used before.
        """
        first = self._store.claim_once(
            self.key(idp_entity_id, assertion_id),
            datetime.fromtimestamp(until, tz=UTC),
            datetime.fromtimestamp(now, tz=UTC),
        )
        if not first:
            raise SamlRejectedError("the assertion was already used", code="replayed_assertion")

"""``RemoteJwks``: the issuer's JWKS, fetched with httpx and cached.

Policy:

* the first request that needs keys fetches them; a fetched set is used for
  ``ttl`` seconds, then refetched on the next request that needs it;
* a token whose ``kid`` no key carries causes at most one refetch per
  ``refetch_interval`` seconds (key rotation works, kid-spraying does not
  turn into a request flood against the issuer);
* a failed fetch keeps the previous keys (stale-if-error); only when no keys
  were ever fetched does it surface as
  :class:`~authplug.errors.ProviderUnavailableError` (503);
* every fetch goes through :mod:`authplug.fetch`: ``timeout`` is a total
  deadline (connect and every read together), redirects are not followed,
  bodies over ``max_bytes`` are refused; the keys are prepared once per fetch
  (:mod:`authplug.jose.keys`);
* errors name the JWKS URL's host (the one that failed), not the issuer's.

The fetch exists in a blocking and an ``async`` form, so the ASGI host never
blocks its event loop and the WSGI host needs no loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from authplug.errors import ProviderUnavailableError
from authplug.fetch import FetchError, FetchResponse, OutboundRequest, fetch, fetch_async, host_of
from authplug.jose.keys import KeySet, UnusableKeyError, keys_from_jwks

__all__ = ["RemoteJwks"]

_log = logging.getLogger("authplug.jose")
_HEADERS = {"accept": "application/jwk-set+json, application/json"}


class RemoteJwks:
    """A JWKS URL with its cached, prepared keys.

    :param url: The JWKS URL (validated by the settings).
    :param allowed: Algorithms keys are prepared for.
    :param ttl: Seconds a fetched set stays fresh.
    :param refetch_interval: Minimum seconds between fetches that are not
        due to expiry (unknown ``kid``, retry after failure).
    :param timeout: Total seconds a fetch may take (a deadline, not per read).
    :param max_bytes: Largest body accepted.
    :param clock: Monotonic clock (seconds).
    """

    def __init__(
        self,
        url: str,
        *,
        allowed: frozenset[str],
        ttl: float,
        refetch_interval: float,
        timeout: float,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.allowed = allowed
        self.host = host_of(url)
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._clock = clock
        self.keys: KeySet | None = None
        self.fetch_count = 0
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._in_flight = False
        self._lock = threading.Lock()

    # -- policy -------------------------------------------------------------

    def fetch_due(self, *, unknown_kid: bool) -> bool:
        """Whether a fetch should happen before using :attr:`keys`.

        :param unknown_kid: The current keys cannot verify the token at hand.
        :raises ProviderUnavailableError: no keys at all and the last attempt
            failed less than ``refetch_interval`` ago.
        """
        now = self._clock()
        since_attempt = now - self._attempted_at
        if self.keys is None:
            if since_attempt < self.refetch_interval:
                raise ProviderUnavailableError(
                    "its JWKS could not be fetched (retrying shortly)", provider=self.host
                )
            return True
        if self._in_flight:
            return False
        if now - self._fetched_at >= self.ttl:
            return since_attempt >= min(self.refetch_interval, self.ttl)
        return unknown_kid and since_attempt >= self.refetch_interval

    # -- transport ----------------------------------------------------------

    def _request(self) -> OutboundRequest:
        return OutboundRequest(
            "GET", self.url, deadline=self.timeout, max_bytes=self.max_bytes, headers=_HEADERS
        )

    def fetch(self, *, unknown_kid: bool) -> None:
        """Fetch the JWKS (blocking) unless another thread just did; keep old keys on failure.

        :raises ProviderUnavailableError: it failed and no keys were ever fetched.
        """
        with self._lock:
            if not self.fetch_due(unknown_kid=unknown_kid):
                return
            self._begin()
            try:
                self._accept(fetch(self._request()))
            except (FetchError, UnusableKeyError) as exc:
                self._failed(exc)
            finally:
                self._in_flight = False

    async def fetch_async(self) -> None:
        """Fetch the JWKS without blocking the event loop (see :meth:`fetch`)."""
        self._begin()
        try:
            self._accept(await fetch_async(self._request()))
        except (FetchError, UnusableKeyError) as exc:
            self._failed(exc)
        finally:
            self._in_flight = False

    # -- shared steps -------------------------------------------------------

    def _begin(self) -> None:
        self._in_flight = True
        self._attempted_at = self._clock()
        self.fetch_count += 1

    def _accept(self, response: FetchResponse) -> None:
        if response.status != 200:
            raise FetchError(self.host, f"the JWKS URL answered HTTP {response.status}")
        try:
            document = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise FetchError(self.host, "the JWKS response is not JSON") from None
        keys, _skipped = keys_from_jwks(document, self.allowed, origin="jwks_url")
        if not keys:
            raise FetchError(
                self.host, "the JWKS holds no key usable with the configured algorithms"
            )
        self.keys = KeySet(keys)
        self._fetched_at = self._clock()
        _log.info("fetched JWKS from %s: %d usable keys", self.host, len(self.keys))

    def _failed(self, exc: FetchError | UnusableKeyError) -> None:
        reason = exc.reason if isinstance(exc, FetchError) else str(exc)
        if self.keys is None:
            raise ProviderUnavailableError(
                f"its JWKS could not be fetched ({reason})", provider=self.host
            ) from None
        _log.warning(
            "JWKS refetch from %s failed (%s); keeping the previous keys", self.host, reason
        )

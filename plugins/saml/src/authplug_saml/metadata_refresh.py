"""The IdP metadata the SP trusts, and its refresh when it comes from a URL.

:class:`IdpMetadata` builds the pysaml2 client (:class:`~authplug_saml.sp_client.SpClient`)
from the configured source at start-up. A ``file`` or ``xml`` source is read
once. A ``url`` source is fetched with the core's bounded fetch
(:mod:`authplug.fetch`: total deadline, size cap, no redirects) at start-up,
where a failure stops the start with a :class:`~authplug.errors.ConfigError`
naming the setting and the host; then every ``refresh_interval`` seconds the
first request after the interval starts one background refresh (requests
never wait for it and keep the current copy). A refresh that fails (host
down, not 200, too large, a DOCTYPE, metadata pysaml2 refuses, a missing
signing certificate) keeps the last good copy, logs a warning naming the host
and retries after :data:`RETRY_AFTER` seconds at most.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from authplug.errors import ConfigError
from authplug_saml.idp_metadata import checked_metadata, read_metadata
from authplug_saml.settings import IdpMetadataSource
from authplug_saml.sp_client import SpClient

__all__ = ["RETRY_AFTER", "IdpMetadata", "fetch_metadata"]

RETRY_AFTER = 300.0
"""Longest wait before a failed refresh is tried again (seconds)."""

_log = logging.getLogger("authplug.saml")
_ACCEPT = "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8"


def fetch_metadata(source: IdpMetadataSource) -> str:
    """Fetch ``source.url`` within its deadline and size cap.

    :raises ConfigError: the fetch failed, the answer is not 200, or the
        document is too large, not UTF-8 or has a DOCTYPE (the message names
        the host, never the document).
    """
    from authplug.fetch import FetchError, OutboundRequest, fetch, host_of

    url = source.url
    if url is None:
        raise ConfigError("saml.idp_metadata.url is not set")
    try:
        response = fetch(
            OutboundRequest(
                "GET",
                url,
                deadline=source.timeout,
                max_bytes=source.max_bytes,
                headers={"accept": _ACCEPT},
            )
        )
    except FetchError as exc:
        raise ConfigError(f"saml.idp_metadata.url: {exc.host}: {exc.reason}") from None
    if response.status != 200:
        raise ConfigError(f"saml.idp_metadata.url: {host_of(url)}: answered HTTP {response.status}")
    return checked_metadata(response.body, "idp_metadata.url", source.max_bytes)


class IdpMetadata:
    """The current :class:`SpClient`, rebuilt when URL metadata is refreshed.

    :param source: Where the metadata comes from.
    :param build: Builds a client from a metadata document (raises ConfigError).
    :param clock: Monotonic-enough seconds clock.
    :raises ConfigError: the first copy cannot be read, fetched or used.
    """

    __slots__ = ("_build", "_client", "_clock", "_due", "_lock", "_refreshing", "_source")

    def __init__(
        self,
        source: IdpMetadataSource,
        build: Callable[[str], SpClient],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._build = build
        self._clock = clock
        self._lock = threading.Lock()
        self._refreshing = False
        document = fetch_metadata(source) if source.url is not None else read_metadata(source)
        self._client = build(document)
        self._due: float | None = (
            clock() + source.refresh_interval if source.url is not None else None
        )

    def current(self) -> SpClient:
        """The client to use now; starts a background refresh when one is due."""
        due = self._due
        if due is not None and self._clock() >= due:
            self._start_refresh()
        return self._client

    def _start_refresh(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self.refresh, name="authplug-saml-metadata", daemon=True).start()

    def refresh(self) -> str | None:
        """Fetch and swap in new metadata now (blocking); ``None``, or why the old copy stays.

        Only for a ``url`` source (others: ``None`` and nothing happens).
        """
        if self._source.url is None:
            return None
        interval = float(self._source.refresh_interval)
        try:
            client = self._build(fetch_metadata(self._source))
        except ConfigError as exc:
            _log.warning("SAML IdP metadata refresh failed; keeping the last good copy: %s", exc)
            self._due = self._clock() + min(interval, RETRY_AFTER)
            return exc.message
        finally:
            with self._lock:
                self._refreshing = False
        self._client = client
        self._due = self._clock() + interval
        return None

"""``SamlSettings``: the ``[saml]`` configuration table, validated at load.

Every refusal names the key. Start-up is refused (``ConfigError``) for
configurations pysaml2 would accept but that are unsafe:

* neither ``want_assertions_signed`` nor ``want_response_signed`` (pysaml2 then
  accepts a completely unsigned response);
* ``only_use_keys_in_metadata = false`` (a certificate in the response's
  KeyInfo would be trusted);
* a SHA-1 (or weaker) ``signing_algorithm``;
* an ``http://`` ``base_url`` outside loopback (the ACS would receive
  assertions in clear text, and the flow cookie needs https anyway);
* ``clock_skew`` above 300 seconds.

The IdP metadata's own checks (an IdP signing certificate present, the
configured IdP found) run when the metadata is loaded
(:mod:`authplug_saml.idp_metadata`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from authplug.claims import ClaimMapping

__all__ = [
    "DEFAULT_ACS_PATH",
    "NAME_ID_FORMATS",
    "SIGNING_ALGORITHMS",
    "SUBJECT_CLAIM",
    "IdpMetadataSource",
    "SamlSettings",
]

DEFAULT_ACS_PATH = "/auth/saml/acs"
"""Where the IdP POSTs its response (HTTP-POST binding)."""

SUBJECT_CLAIM = "saml:subject"
"""The claim holding ``<IdP entity id>!<NameID>``: the default user id."""

SIGNING_ALGORITHMS: dict[str, str] = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}
"""Algorithms the SP signs with (AuthnRequests, LogoutRequests, metadata)."""

NAME_ID_FORMATS: dict[str, str] = {
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}
"""Short names of the NameID formats the SP may ask for."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class IdpMetadataSource(BaseModel):
    """Where the IdP's metadata comes from: exactly one of ``file``, ``xml`` or ``url``.

    Attributes:
        file: A metadata file on disk (read at start-up).
        xml: The metadata document itself, inline.
        url: An ``https://`` URL (``http://`` on loopback only), fetched at
            start-up with a size cap and a deadline (:mod:`authplug.fetch`),
            then refreshed every ``refresh_interval`` seconds; a failed
            refresh keeps the last good copy
            (:mod:`authplug_saml.metadata_refresh`).
        refresh_interval: Seconds between refreshes of a ``url`` (60 s .. 7 days).
        max_bytes: Largest metadata document accepted.
        timeout: Total seconds one fetch may take.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None
    xml: str | None = Field(default=None, min_length=1)
    url: str | None = None
    refresh_interval: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    max_bytes: int = Field(default=1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    timeout: float = Field(default=10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _exactly_one(self) -> IdpMetadataSource:
        given = [name for name in ("file", "xml", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of idp_metadata.file, idp_metadata.xml, idp_metadata.url"
                f" (got {', '.join(given) or 'none'})"
            )
        return self

    @field_validator("url")
    @classmethod
    def _https_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return url
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return url
        raise ValueError("idp_metadata.url must be an https:// URL (http:// only on loopback)")


_CLAIM_DEFAULTS: dict[str, str] = {
    "user_id": SUBJECT_CLAIM,
    "first_name": "givenName",
    "last_name": "sn",
    "roles": "groups",
    "email": "email",
}
"""SAML defaults for the claim mapping's paths (attribute names), beneath what is configured."""


def _default_claims() -> ClaimMapping:
    return ClaimMapping(**_CLAIM_DEFAULTS)


class SamlSettings(BaseModel):
    """The SAML provider's settings (``[saml]``; unknown keys are rejected).

    Attributes:
        sp_entity_id: This service provider's entity id (the ``Audience`` the
            IdP must address).
        base_url: The application's public origin as browsers reach it,
            e.g. ``https://app.example`` (mount prefix included if any); the
            ACS URL is ``base_url + acs_path``.
        acs_path: The assertion consumer service path (under ``/auth/``).
        idp_metadata: Where the IdP's metadata comes from.
        idp_entity_id: The IdP's entity id; required when the metadata
            describes more than one IdP.
        sp_key_file: PEM private key the SP signs with (AuthnRequests,
            LogoutRequests, metadata) and decrypts encrypted assertions with.
            Optional: without it nothing is signed and encrypted assertions are
            refused. ``authplug keygen --saml`` makes a pair for development.
        sp_cert_file: The PEM certificate of ``sp_key_file`` (published in the
            SP metadata). Both or neither.
        want_assertions_signed: The assertion itself must carry a valid IdP
            signature (default ``true``).
        want_response_signed: The Response must carry a valid IdP signature
            (default ``false``). At least one of the two is always on.
        only_use_keys_in_metadata: Must stay ``true``: only certificates from
            the IdP metadata verify signatures.
        name_id_format: ``persistent`` (default), ``email``, ``unspecified``
            or ``transient`` (then set ``claims.user_id`` to a stable
            attribute, since a transient NameID changes at every login).
        signing_algorithm: ``rsa-sha256`` (default), ``rsa-sha384``, ``rsa-sha512``.
        claims: Attribute mapping (:class:`authplug.claims.ClaimMapping`): an
            attribute is found by its ``Name`` or its ``FriendlyName``; a
            single value is a string, several are a list. Defaults: ``user_id``
            ``saml:subject`` (``<IdP entity id>!<NameID>``; ``saml:name_id`` is
            the bare NameID), ``first_name`` ``givenName``, ``last_name``
            ``sn``, ``roles`` ``groups``, ``email`` ``email``.
        clock_skew: Seconds of clock difference tolerated (0..300, default 60).
        session_lifetime: Longest local session in seconds when the IdP sends
            no ``SessionNotOnOrAfter`` (which caps it when sent); default 8 h.
        allow_idp_initiated: Accept unsolicited (IdP-initiated) responses.
            Off by default: they cannot be bound to a browser (login CSRF).
        max_response_bytes: Largest ``SAMLResponse`` form value accepted.
        xmlsec_binary: Path to ``xmlsec1`` (default: found on ``PATH``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sp_entity_id: str = Field(min_length=1, max_length=1024)
    base_url: str = Field(min_length=1, max_length=1024)
    acs_path: str = Field(default=DEFAULT_ACS_PATH, pattern=r"^/auth/[A-Za-z0-9/_.-]+$")
    idp_metadata: IdpMetadataSource
    idp_entity_id: str | None = Field(default=None, min_length=1, max_length=1024)
    sp_key_file: Path | None = None
    sp_cert_file: Path | None = None
    want_assertions_signed: bool = True
    want_response_signed: bool = False
    only_use_keys_in_metadata: bool = True
    name_id_format: Literal["persistent", "email", "unspecified", "transient"] = "persistent"
    signing_algorithm: str = "rsa-sha256"
    claims: ClaimMapping = Field(default_factory=_default_claims)
    clock_skew: int = Field(default=60, ge=0, le=300)
    session_lifetime: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    allow_idp_initiated: bool = False
    max_response_bytes: int = Field(default=256 * 1024, ge=4096, le=1024 * 1024)
    xmlsec_binary: Path | None = None

    @field_validator("claims", mode="before")
    @classmethod
    def _saml_claim_defaults(cls, value: object) -> object:
        """A ``[saml.claims]`` table starts from the SAML defaults, not the JWT ones."""
        if isinstance(value, dict):
            return {**_CLAIM_DEFAULTS, **value}
        return value

    @field_validator("base_url")
    @classmethod
    def _secure_origin(cls, base_url: str) -> str:
        parts = urlsplit(base_url)
        if parts.query or parts.fragment or not parts.hostname:
            raise ValueError("base_url must be an origin such as https://app.example")
        if parts.scheme == "https":
            return base_url.rstrip("/")
        if parts.scheme == "http" and _is_loopback(parts.hostname):
            return base_url.rstrip("/")
        raise ValueError(
            "base_url must be https:// (http:// only on loopback): the ACS receives assertions"
        )

    @field_validator("signing_algorithm")
    @classmethod
    def _strong_algorithm(cls, name: str) -> str:
        if name not in SIGNING_ALGORITHMS:
            raise ValueError(
                f"signing_algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}"
                " (SHA-1 is refused)"
            )
        return name

    @field_validator("only_use_keys_in_metadata")
    @classmethod
    def _metadata_keys_only(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "only_use_keys_in_metadata must stay true: a certificate sent inside a"
                " response must never be trusted"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SamlSettings:
        if not (self.want_assertions_signed or self.want_response_signed):
            raise ValueError(
                "want_assertions_signed and want_response_signed are both false: an unsigned"
                " response would be accepted; turn at least one on"
            )
        if (self.sp_key_file is None) != (self.sp_cert_file is None):
            raise ValueError("sp_key_file and sp_cert_file go together: give both or neither")
        return self

    @property
    def acs_url(self) -> str:
        """The absolute ACS URL (``Destination``/``Recipient`` must equal it)."""
        return self.base_url + self.acs_path

    @property
    def metadata_path(self) -> str:
        """Where the SP metadata is served."""
        return self.acs_path.rsplit("/", 1)[0] + "/metadata"

    @property
    def logout_path(self) -> str:
        """Where the IdP returns after single logout (HTTP-Redirect)."""
        return self.acs_path.rsplit("/", 1)[0] + "/sls"

"""The pysaml2 service provider, configured from :class:`~authplug_saml.settings.SamlSettings`.

This is the only module that imports pysaml2's client (``saml2.client`` takes
close to a second to import); the provider imports it once, when the loader
loads the ``saml`` provider, and never per request. ``authplug providers``
reads entry-point metadata only and never gets here.

:class:`SpClient` wraps one ``Saml2Client`` built from one copy of the IdP
metadata: what it knows about the IdP (entity id, SSO and SLO endpoints,
signing certificates) is read once when it is built. A metadata refresh builds
a new :class:`SpClient` and swaps it in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import saml2
import saml2.client
import saml2.config
import saml2.metadata
import saml2.saml
import saml2.sigver
from saml2.response import AuthnResponse

from authplug.errors import ConfigError
from authplug_saml.document import normalise_certificate
from authplug_saml.settings import NAME_ID_FORMATS, SIGNING_ALGORITHMS, SamlSettings

__all__ = [
    "BINDING_HTTP_POST",
    "BINDING_HTTP_REDIRECT",
    "AuthnResponse",
    "IdpInfo",
    "SpClient",
    "name_id",
]

BINDING_HTTP_POST: str = saml2.BINDING_HTTP_POST
BINDING_HTTP_REDIRECT: str = saml2.BINDING_HTTP_REDIRECT
_DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

# pysaml2 logs documents and exception texts at ERROR/INFO; keep that out of
# the application's logs (our errors say what failed without echoing input).
logging.getLogger("saml2").setLevel(logging.CRITICAL)


@dataclass(frozen=True, slots=True)
class IdpInfo:
    """What the SP uses from the IdP metadata.

    Attributes:
        entity_id: The IdP's entity id (response and assertion ``Issuer``).
        sso_url: Its HTTP-Redirect single sign-on endpoint.
        slo_url: Its HTTP-Redirect single logout endpoint, or ``None``.
        signing_certs: Its signing certificates (base64 DER, no whitespace).
    """

    entity_id: str
    sso_url: str
    slo_url: str | None
    signing_certs: frozenset[str]


def _sp_config(
    settings: SamlSettings, metadata_xml: str, xmlsec_binary: str
) -> saml2.config.SPConfig:
    sp: dict[str, Any] = {
        "endpoints": {
            "assertion_consumer_service": [(settings.acs_url, BINDING_HTTP_POST)],
            "single_logout_service": [
                (settings.base_url + settings.logout_path, BINDING_HTTP_REDIRECT)
            ],
        },
        "allow_unsolicited": settings.allow_idp_initiated,
        "authn_requests_signed": settings.sp_key_file is not None,
        "logout_requests_signed": settings.sp_key_file is not None,
        "want_assertions_signed": settings.want_assertions_signed,
        "want_response_signed": settings.want_response_signed,
        "want_assertions_or_response_signed": False,
        "only_use_keys_in_metadata": True,
        "name_id_format": [NAME_ID_FORMATS[settings.name_id_format]],
        "name_id_format_allow_create": True,
    }
    conf: dict[str, Any] = {
        "entityid": settings.sp_entity_id,
        "service": {"sp": sp},
        "metadata": {"inline": [metadata_xml]},
        "xmlsec_binary": xmlsec_binary,
        "allow_unknown_attributes": True,
        "accepted_time_diff": settings.clock_skew,
        "signing_algorithm": SIGNING_ALGORITHMS[settings.signing_algorithm],
        "digest_algorithm": _DIGEST_SHA256,
        "delete_tmpfiles": True,
    }
    if settings.sp_key_file is not None and settings.sp_cert_file is not None:
        key, cert = str(settings.sp_key_file), str(settings.sp_cert_file)
        conf["key_file"] = key
        conf["cert_file"] = cert
        conf["encryption_keypairs"] = [{"key_file": key, "cert_file": cert}]
    config = saml2.config.SPConfig()
    try:
        config.load(conf)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"saml: pysaml2 refused the configuration or the IdP metadata ({type(exc).__name__})"
        ) from None
    return config


def _idp_info(config: saml2.config.SPConfig, wanted: str | None) -> IdpInfo:
    mds = config.metadata
    idps = sorted(mds.identity_providers())
    if not idps:
        raise ConfigError("saml.idp_metadata: the metadata describes no IdP (IDPSSODescriptor)")
    if wanted is None:
        if len(idps) > 1:
            raise ConfigError(
                "saml.idp_entity_id: the metadata describes several IdPs; name the one to trust"
            )
        entity_id = idps[0]
    elif wanted in idps:
        entity_id = wanted
    else:
        raise ConfigError("saml.idp_entity_id: that IdP is not in the metadata")
    certs = frozenset(
        normalise_certificate(cert) for _, cert in mds.certs(entity_id, "idpsso", "signing")
    )
    if not certs:
        raise ConfigError(
            "saml.idp_metadata: the IdP has no signing certificate (KeyDescriptor) in its metadata"
        )
    sso = mds.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    if not sso:
        raise ConfigError("saml.idp_metadata: the IdP offers no HTTP-Redirect SingleSignOnService")
    try:
        slo = mds.single_logout_service(entity_id, BINDING_HTTP_REDIRECT, "idpsso")
    except Exception:  # pysaml2 raises for a missing endpoint type
        slo = []
    return IdpInfo(
        entity_id=entity_id,
        sso_url=str(sso[0]["location"]),
        slo_url=str(slo[0]["location"]) if slo else None,
        signing_certs=certs,
    )


class SpClient:
    """A configured pysaml2 ``Saml2Client`` and the IdP facts read from its metadata.

    :param settings: The provider settings.
    :param metadata_xml: The IdP metadata document (already checked for a DOCTYPE).
    :param xmlsec_binary: Path of ``xmlsec1``.
    :raises ConfigError: pysaml2 refuses the configuration or metadata, the
        IdP is missing or ambiguous, or has no signing certificate or SSO
        endpoint.
    """

    __slots__ = ("_client", "config", "idp")

    def __init__(self, settings: SamlSettings, metadata_xml: str, xmlsec_binary: str) -> None:
        self.config = _sp_config(settings, metadata_xml, xmlsec_binary)
        self.idp = _idp_info(self.config, settings.idp_entity_id)
        self._client = saml2.client.Saml2Client(self.config)

    def authn_request(
        self, relay_state: str, *, request_id: str, sign: bool, sigalg: str
    ) -> tuple[str, str]:
        """An AuthnRequest to the IdP over HTTP-Redirect: ``(request id, redirect URL)``."""
        built_id, info = self._client.prepare_for_authenticate(
            entityid=self.idp.entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sign=sign,
            sigalg=sigalg if sign else None,
            digest_alg=_DIGEST_SHA256,
            message_id=request_id,
        )
        return str(built_id), _location(info)

    def parse_response(self, encoded: str, outstanding: Mapping[str, str]) -> AuthnResponse:
        """pysaml2's full check of a base64 response: signatures, times, InResponseTo.

        Raises pysaml2's exceptions (mapped by :func:`authplug_saml.errors.from_pysaml2`).
        """
        response = self._client.parse_authn_request_response(
            encoded, BINDING_HTTP_POST, outstanding=dict(outstanding)
        )
        if response is not None and response.name_id is not None:
            # pysaml2 caches every subject in memory; we keep nothing there.
            self._client.users.cache.delete(response.name_id)
        return response

    def logout_request(
        self,
        *,
        name_id: saml2.saml.NameID,
        session_index: str | None,
        relay_state: str,
        sign: bool,
        sigalg: str,
    ) -> tuple[str, str]:
        """A LogoutRequest to the IdP's SLO endpoint (HTTP-Redirect): ``(id, URL)``."""
        slo_url = self.idp.slo_url
        if slo_url is None:
            raise ConfigError("saml: the IdP has no SingleLogoutService")
        request_id, request = self._client.create_logout_request(
            slo_url,
            self.idp.entity_id,
            name_id=name_id,
            session_indexes=[session_index] if session_index else None,
            sign=False,
        )
        info = self._client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            slo_url,
            relay_state,
            sign=sign,
            sigalg=sigalg if sign else None,
        )
        return str(request_id), _location(info)

    def parse_logout_response(self, encoded: str, binding: str) -> Any:
        """pysaml2's check of a LogoutResponse (Redirect binding: deflated, base64)."""
        return self._client.parse_logout_request_response(encoded, binding)

    def metadata_xml(self, *, sign: bool) -> bytes:
        """This SP's metadata, signed (with the SP key) when ``sign``."""
        descriptor = saml2.metadata.entity_descriptor(self.config)
        if sign:
            security = saml2.sigver.security_context(self.config)
            _, signed = saml2.metadata.sign_entity_descriptor(
                descriptor,
                None,
                security,
                sign_alg=self.config.signing_algorithm,
                digest_alg=_DIGEST_SHA256,
            )
            text = str(signed)
        else:
            text = str(descriptor)
        return text.encode("utf-8")


def _location(info: Mapping[str, Any]) -> str:
    for name, value in info.get("headers", ()):
        if name.lower() == "location":
            return str(value)
    raise ConfigError("saml: pysaml2 built no redirect URL")


def name_id(text: str, name_format: str) -> saml2.saml.NameID:
    """A pysaml2 NameID (for a LogoutRequest)."""
    return saml2.saml.NameID(text=text, format=name_format or None)

"""A test IdP in-process: keys made at test time, responses built as XML and signed with signxml.

signxml is an XML-DSig implementation independent of xmlsec1 (what pysaml2
uses), so a response it signs and the SP accepts proves interoperability of
the signature, and every attack here is built from a genuinely signed
document. The XML itself is ours, which is what lets the attack suite bend it.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from authplug.sp_keypair import make_sp_keypair

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key and its self-signed certificate, PEM."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def cert_b64(self) -> str:
        """The certificate's DER, base64 (as in metadata and KeyInfo)."""
        body = b"".join(self.cert_pem.strip().splitlines()[1:-1])
        return body.decode("ascii")


def make_keypair(common_name: str = "test-idp", bits: int = 2048) -> KeyPair:
    """A fresh RSA key and a self-signed certificate valid for a day (``authplug.sp_keypair``)."""
    pair = make_sp_keypair(common_name, days=1, bits=bits)
    return KeyPair(pair.key_pem, pair.cert_pem)


def instant(moment: dt.datetime) -> str:
    """SAML's xs:dateTime in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "_" + secrets.token_hex(16)


@dataclass
class TestIdP:
    """Builds and signs SAML responses for one SP."""

    __test__ = False

    entity_id: str = "https://idp.example/metadata"
    sso_url: str = "https://idp.example/sso"
    slo_url: str | None = "https://idp.example/slo"
    keys: KeyPair = field(default_factory=make_keypair)

    def metadata(self, *, signing_cert: str | None = None) -> str:
        """This IdP's metadata (its signing certificate, SSO and SLO endpoints)."""
        cert = self.keys.cert_b64 if signing_cert is None else signing_cert
        slo = (
            f'<md:SingleLogoutService Binding="{REDIRECT}" Location="{self.slo_url}"/>'
            if self.slo_url
            else ""
        )
        key = (
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f"{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            if cert
            else ""
        )
        return (
            f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{self.entity_id}">'
            f'<md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">{key}{slo}'
            f"<md:NameIDFormat>{PERSISTENT}</md:NameIDFormat>"
            f'<md:SingleSignOnService Binding="{REDIRECT}" Location="{self.sso_url}"/>'
            f"</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    # -- building -------------------------------------------------------------------

    def assertion_xml(
        self,
        *,
        sp_entity_id: str,
        acs_url: str,
        in_response_to: str | None,
        name_id: str = "alice-0001",
        name_id_format: str = PERSISTENT,
        attributes: Mapping[str, Sequence[str]] | None = None,
        now: dt.datetime | None = None,
        assertion_id: str | None = None,
        issuer: str | None = None,
        audience: str | bool | None = True,
        recipient: str | bool | None = True,
        method: str = BEARER,
        not_on_or_after: dt.datetime | bool | None = True,
        not_before: dt.datetime | None = None,
        conditions_not_on_or_after: dt.datetime | bool | None = True,
        session_not_on_or_after: dt.datetime | None = None,
        name_id_xml: str | None = None,
        sign_placeholder: bool = True,
    ) -> str:
        """One ``saml:Assertion`` (unsigned); ``True`` means the correct value, ``None`` absent."""
        now = now or dt.datetime.now(dt.UTC)
        assertion_id = assertion_id or new_id()
        attributes = (
            {"email": ["alice@corp.example"], "givenName": ["Alice"], "sn": ["Liddell"]}
            if attributes is None
            else attributes
        )
        issuer = self.entity_id if issuer is None else issuer
        audience_xml = ""
        if audience is not None and audience is not False:
            value = sp_entity_id if audience is True else audience
            audience_xml = (
                f"<saml:AudienceRestriction><saml:Audience>{escape(str(value))}</saml:Audience>"
                "</saml:AudienceRestriction>"
            )
        noa = now + dt.timedelta(minutes=5) if not_on_or_after is True else not_on_or_after
        data_attrs = []
        if recipient is not None and recipient is not False:
            data_attrs.append(
                f"Recipient={quoteattr(acs_url if recipient is True else str(recipient))}"
            )
        if isinstance(noa, dt.datetime):
            data_attrs.append(f'NotOnOrAfter="{instant(noa)}"')
        if in_response_to is not None:
            data_attrs.append(f"InResponseTo={quoteattr(in_response_to)}")
        cnoa = (
            now + dt.timedelta(minutes=5)
            if conditions_not_on_or_after is True
            else conditions_not_on_or_after
        )
        cond_attrs = [f'NotBefore="{instant(not_before or now - dt.timedelta(minutes=1))}"']
        if isinstance(cnoa, dt.datetime):
            cond_attrs.append(f'NotOnOrAfter="{instant(cnoa)}"')
        session_attr = (
            f' SessionNotOnOrAfter="{instant(session_not_on_or_after)}"'
            if session_not_on_or_after
            else ""
        )
        attrs_xml = "".join(
            f"<saml:Attribute Name={quoteattr(name)} NameFormat={quoteattr(BASIC)}>"
            + "".join(
                f'<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">'
                f"{escape(v)}</saml:AttributeValue>"
                for v in values
            )
            + "</saml:Attribute>"
            for name, values in attributes.items()
        )
        name_id_element = name_id_xml or (
            f"<saml:NameID Format={quoteattr(name_id_format)}>{escape(name_id)}</saml:NameID>"
        )
        placeholder = '<ds:Signature Id="placeholder"/>' if sign_placeholder else ""
        return (
            f'<saml:Assertion xmlns:saml="{SAML}" xmlns:ds="{DS}" ID="{assertion_id}" '
            f'Version="2.0" IssueInstant="{instant(now)}">'
            f"<saml:Issuer>{escape(issuer)}</saml:Issuer>{placeholder}"
            f"<saml:Subject>{name_id_element}"
            f'<saml:SubjectConfirmation Method="{method}">'
            f"<saml:SubjectConfirmationData {' '.join(data_attrs)}/>"
            f"</saml:SubjectConfirmation></saml:Subject>"
            f"<saml:Conditions {' '.join(cond_attrs)}>{audience_xml}</saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{instant(now)}" SessionIndex="{new_id()}"'
            f"{session_attr}><saml:AuthnContext><saml:AuthnContextClassRef>"
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
            f"<saml:AttributeStatement>{attrs_xml}</saml:AttributeStatement>"
            "</saml:Assertion>"
        )

    def response_xml(
        self,
        assertions: Sequence[str],
        *,
        acs_url: str,
        in_response_to: str | None,
        now: dt.datetime | None = None,
        response_id: str | None = None,
        issuer: str | bool | None = True,
        destination: str | bool | None = True,
        status: str = SUCCESS,
        sign_placeholder: bool = True,
    ) -> str:
        """A ``samlp:Response`` around ``assertions`` (already signed or not)."""
        now = now or dt.datetime.now(dt.UTC)
        attrs = [
            f'ID="{response_id or new_id()}"',
            'Version="2.0"',
            f'IssueInstant="{instant(now)}"',
        ]
        if destination is not None and destination is not False:
            attrs.append(
                f"Destination={quoteattr(acs_url if destination is True else str(destination))}"
            )
        if in_response_to is not None:
            attrs.append(f"InResponseTo={quoteattr(in_response_to)}")
        issuer_xml = ""
        if issuer is not None and issuer is not False:
            value = self.entity_id if issuer is True else str(issuer)
            issuer_xml = f'<saml:Issuer xmlns:saml="{SAML}">{escape(value)}</saml:Issuer>'
        placeholder = '<ds:Signature Id="placeholder"/>' if sign_placeholder else ""
        return (
            f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:ds="{DS}" {" ".join(attrs)}>'
            f"{issuer_xml}{placeholder}"
            f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
            f"{''.join(assertions)}</samlp:Response>"
        )

    # -- signing --------------------------------------------------------------------

    def sign(
        self,
        xml: str,
        *,
        keys: KeyPair | None = None,
        method: SignatureMethod = SignatureMethod.RSA_SHA256,
        digest: DigestAlgorithm = DigestAlgorithm.SHA256,
        include_cert: bool = True,
    ) -> str:
        """Sign the root element (enveloped, exc-c14n) at its placeholder."""
        keys = keys or self.keys
        legacy = method.name.endswith("SHA1") or digest.name == "SHA1"
        signer = (_LegacySigner if legacy else XMLSigner)(
            signature_algorithm=method,
            digest_algorithm=digest,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        root = etree.fromstring(xml.encode())
        signed = signer.sign(
            root,
            key=keys.key_pem,
            cert=keys.cert_pem.decode() if include_cert else None,
            reference_uri="#" + root.get("ID"),
            id_attribute="ID",
        )
        return etree.tostring(signed).decode()

    def response(
        self,
        *,
        sp_entity_id: str,
        acs_url: str,
        in_response_to: str | None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        **assertion_options: object,
    ) -> str:
        """A complete response XML, signed as asked (default: the assertion)."""
        assertion = self.assertion_xml(
            sp_entity_id=sp_entity_id,
            acs_url=acs_url,
            in_response_to=in_response_to,
            sign_placeholder=sign_assertion,
            **assertion_options,  # type: ignore[arg-type]
        )
        if sign_assertion:
            assertion = strip_declaration(self.sign(assertion))
        xml = self.response_xml(
            [assertion],
            acs_url=acs_url,
            in_response_to=in_response_to,
            sign_placeholder=sign_response,
        )
        if sign_response:
            xml = self.sign(xml)
        return xml


class _LegacySigner(XMLSigner):
    """signxml refuses SHA-1 by default; the attack suite needs a SHA-1 signature."""

    def check_deprecated_methods(self) -> None:
        return None


def strip_declaration(xml: str) -> str:
    if xml.startswith("<?xml"):
        return xml.split("?>", 1)[1]
    return xml


def encode(xml: str | bytes) -> str:
    """The ``SAMLResponse`` form value (HTTP-POST binding)."""
    data = xml.encode() if isinstance(xml, str) else xml
    return base64.b64encode(data).decode("ascii")

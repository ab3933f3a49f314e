"""The ACS's first line: the posted ``SAMLResponse`` decoded and inspected before pysaml2.

:func:`decode_form_value` turns the form value into bytes: size-bounded,
strict base64 (line breaks tolerated, nothing else). :func:`inspect` parses
those bytes with a parser that refuses any DTD (so no entity expansion, no
external entity, no external-DTD-only DOCTYPE; the bytes are also searched for
``<!DOCTYPE``/``<!ENTITY`` before parsing), keeps comments and processing
instructions only to refuse them, and checks the document's shape:

* UTF-8 only (a UTF-16 or other encoding could hide a DOCTYPE from the
  byte search);
* no comments or processing instructions anywhere (exclusive c14n drops
  comments, so ``user@example.com<!---->.evil.example`` keeps a valid
  signature while parsers disagree on the text), no XInclude element;
* the root is one ``samlp:Response``; there is exactly one ``saml:Assertion``
  or ``saml:EncryptedAssertion`` in the whole document, a direct child of
  the root (every XML-signature-wrapping layout, XSW1-XSW8, needs a second
  copy somewhere);
* no two elements share an ``ID``;
* every ``ds:Signature`` is a direct child of the Response or of the
  Assertion and signs exactly its parent: one ``Reference`` whose ``URI`` is
  ``#`` + the parent's ``ID``; transforms only enveloped-signature and
  canonicalisation; canonicalisation without comments; SHA-256/384/512
  digests and RSA or ECDSA with SHA-256/384/512 (no SHA-1, MD5, HMAC); no
  ``ds:Object``; a certificate in ``KeyInfo`` must be one of the IdP
  metadata's signing certificates (pysaml2 also only verifies with those).

The result says which elements carry a signature; pysaml2 then verifies
them cryptographically.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from authplug_saml.errors import SamlRejectedError

__all__ = [
    "ALLOWED_DIGESTS",
    "ALLOWED_SIGNATURE_METHODS",
    "Inspected",
    "decode_form_value",
    "inspect",
    "normalise_certificate",
]

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XINCLUDE = "http://www.w3.org/2001/XInclude"

ALLOWED_SIGNATURE_METHODS = frozenset(
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
)
"""Signature methods accepted from the IdP (no SHA-1, MD5 or HMAC)."""

ALLOWED_DIGESTS = frozenset(
    {
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "http://www.w3.org/2001/04/xmlenc#sha512",
    }
)
"""Reference digests accepted (no SHA-1, MD5)."""

_C14N = frozenset(
    {
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    }
)
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_TRANSFORMS = _C14N | {_ENVELOPED}
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_LINE_BREAKS = re.compile(rb"[\r\n]")
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True, slots=True)
class Inspected:
    """What the structural inspection found.

    Attributes:
        response_signed: The Response carries a ``ds:Signature`` over itself.
        assertion_signed: The (plain) Assertion carries one over itself.
        encrypted: The assertion is an ``EncryptedAssertion``.
    """

    response_signed: bool
    assertion_signed: bool
    encrypted: bool


def _reject(message: str, code: str) -> SamlRejectedError:
    return SamlRejectedError(message, code=code)


def decode_form_value(value: str, max_bytes: int) -> bytes:
    """The bytes of a base64 ``SAMLResponse`` form value.

    :param value: The form value (URL-decoding already done).
    :param max_bytes: Largest value accepted, in characters.
    :raises SamlRejectedError: ``response_too_large``, ``not_base64`` or ``empty_response``.
    """
    if len(value) > max_bytes:
        raise _reject("SAMLResponse is larger than max_response_bytes", "response_too_large")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise _reject("SAMLResponse is not base64", "not_base64") from None
    compact = _LINE_BREAKS.sub(b"", raw)
    if not compact:
        raise _reject("SAMLResponse is empty", "empty_response")
    if len(compact) % 4 or _BASE64.fullmatch(compact) is None:
        raise _reject("SAMLResponse is not base64", "not_base64")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _reject("SAMLResponse is not base64", "not_base64") from None


def normalise_certificate(text: str) -> str:
    """A base64 certificate without whitespace, for comparison."""
    return "".join(text.split())


def _parse(document: bytes) -> ET.Element:
    """Parse with every DTD refused; comments and PIs kept (to be refused)."""
    if document.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in document:
        raise _reject("SAML response is not UTF-8 XML", "bad_encoding")
    declared = _DECLARED_ENCODING.match(document)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"us-ascii"):
        raise _reject("SAML response is not UTF-8 XML", "bad_encoding")
    try:
        document.decode("utf-8")
    except UnicodeDecodeError:
        raise _reject("SAML response is not UTF-8 XML", "bad_encoding") from None
    lowered = document.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise _reject("SAML response contains a DOCTYPE", "doctype_forbidden")
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(document)
        root: ET.Element = parser.close()
    except DefusedXmlException:
        raise _reject("SAML response contains a DOCTYPE", "doctype_forbidden") from None
    except ET.ParseError:
        raise _reject("SAML response is not well-formed XML", "malformed_xml") from None
    return root


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    return [child for child in element if child.tag == tag]


def _one(element: ET.Element, tag: str, what: str) -> ET.Element:
    found = _children(element, tag)
    if len(found) != 1:
        raise _reject(f"signature needs exactly one {what}", "signature_structure")
    return found[0]


def _check_signature(
    signature: ET.Element, parent: ET.Element, trusted_certs: frozenset[str]
) -> None:
    """One ``ds:Signature``: signs exactly ``parent`` with allowed algorithms."""
    signed_info = _one(signature, f"{{{DS}}}SignedInfo", "SignedInfo")
    c14n = _one(signed_info, f"{{{DS}}}CanonicalizationMethod", "CanonicalizationMethod")
    if c14n.get("Algorithm") not in _C14N:
        raise _reject("signature canonicalisation is not allowed", "signature_transform")
    method = _one(signed_info, f"{{{DS}}}SignatureMethod", "SignatureMethod")
    if method.get("Algorithm") not in ALLOWED_SIGNATURE_METHODS:
        raise _reject("signature method is weak or not allowed", "weak_signature_algorithm")
    references = _children(signed_info, f"{{{DS}}}Reference")
    if len(references) != 1:
        raise _reject("signature must have exactly one Reference", "signature_reference")
    reference = references[0]
    parent_id = parent.get("ID")
    if not parent_id or reference.get("URI") != "#" + parent_id:
        raise _reject("signature does not reference its parent element", "signature_reference")
    transforms_element = _children(reference, f"{{{DS}}}Transforms")
    transforms = [t.get("Algorithm") for t in transforms_element[0]] if transforms_element else []
    if (
        len(transforms_element) > 1
        or len(transforms) > 2
        or _ENVELOPED not in transforms
        or any(t not in _TRANSFORMS for t in transforms)
        or len(set(transforms)) != len(transforms)
    ):
        raise _reject("signature transforms are not allowed", "signature_transform")
    digest = _one(reference, f"{{{DS}}}DigestMethod", "DigestMethod")
    if digest.get("Algorithm") not in ALLOWED_DIGESTS:
        raise _reject("signature digest is weak or not allowed", "weak_signature_algorithm")
    if _children(signature, f"{{{DS}}}Object"):
        raise _reject("signature carries a ds:Object", "signature_structure")
    for key_info in _children(signature, f"{{{DS}}}KeyInfo"):
        for element in key_info.iter():
            if element.tag == f"{{{DS}}}RetrievalMethod":
                raise _reject("signature KeyInfo uses RetrievalMethod", "untrusted_certificate")
            if (
                element.tag == f"{{{DS}}}X509Certificate"
                and normalise_certificate(element.text or "") not in trusted_certs
            ):
                raise _reject(
                    "signature certificate is not in the IdP metadata",
                    "untrusted_certificate",
                )


def _walk(root: ET.Element) -> Iterable[tuple[ET.Element, ET.Element | None]]:
    """Every element with its parent (``None`` for the root)."""
    stack: list[tuple[ET.Element, ET.Element | None]] = [(root, None)]
    while stack:
        element, parent = stack.pop()
        yield element, parent
        stack.extend((child, element) for child in reversed(element))


def inspect(document: bytes, trusted_certs: frozenset[str]) -> Inspected:
    """Refuse a response whose shape is unsafe, before any SAML library reads it.

    :param document: The decoded response bytes.
    :param trusted_certs: The IdP metadata's signing certificates
        (:func:`normalise_certificate` form).
    :raises SamlRejectedError: see the module docstring for each ``code``.
    """
    root = _parse(document)
    if root.tag != f"{{{SAMLP}}}Response":
        raise _reject("the document is not a samlp:Response", "not_a_response")
    assertion_tags = (f"{{{SAML}}}Assertion", f"{{{SAML}}}EncryptedAssertion")
    assertions: list[tuple[ET.Element, ET.Element | None]] = []
    signatures: list[tuple[ET.Element, ET.Element | None]] = []
    ids: set[str] = set()
    for element, parent in _walk(root):
        tag: object = element.tag  # typeshed says str; comments and PIs carry a factory
        if tag is ET.Comment:
            raise _reject("SAML response contains an XML comment", "xml_comment")
        if tag is ET.ProcessingInstruction:
            raise _reject(
                "SAML response contains a processing instruction", "processing_instruction"
            )
        if not isinstance(tag, str):
            raise _reject("SAML response contains an unexpected node", "malformed_xml")
        if tag.startswith(f"{{{XINCLUDE}}}"):
            raise _reject("SAML response contains an XInclude element", "xinclude")
        if tag in assertion_tags:
            assertions.append((element, parent))
        elif tag == f"{{{DS}}}Signature":
            signatures.append((element, parent))
        for name in ("ID", "Id", "id"):
            value = element.get(name)
            if value is not None:
                if value in ids:
                    raise _reject("two elements share an ID", "duplicate_id")
                ids.add(value)
    if len(assertions) != 1 or assertions[0][1] is not root:
        raise _reject(
            "SAML response must hold exactly one assertion, directly in the Response",
            "assertion_count",
        )
    assertion = assertions[0][0]
    encrypted = assertion.tag == f"{{{SAML}}}EncryptedAssertion"
    response_signed = assertion_signed = False
    for signature, parent in signatures:
        if parent is root:
            if response_signed:
                raise _reject("the Response carries two signatures", "signature_structure")
            response_signed = True
        elif parent is assertion and not encrypted:
            if assertion_signed:
                raise _reject("the Assertion carries two signatures", "signature_structure")
            assertion_signed = True
        else:
            raise _reject("a signature is not where SAML puts one", "signature_misplaced")
        _check_signature(signature, root if parent is root else assertion, trusted_certs)
    return Inspected(response_signed, assertion_signed, encrypted)

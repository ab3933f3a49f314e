"""``check_response`` on its own: the checks pysaml2 or the ACS's earlier steps would hide.

Through the whole ACS, several of these checks never decide: pysaml2 refuses
an assertion that is not yet valid or has expired, and the structural
inspection refuses a SHA-1 digest before ``check_response`` runs. They are
our defence in depth, so they are pinned here on their own: the documents
are built by the test IdP, parsed by pysaml2 into the very objects the ACS
hands over (``saml2.samlp.Response``), and checked at an exact clock, so the
bounds can be tested to the second. Each refusal asserts its reason code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

import pytest
import saml2.samlp
from signxml import DigestAlgorithm, SignatureMethod

from authplug_saml.assertion_checks import (
    CheckedAssertion,
    Expectations,
    check_response,
)
from authplug_saml.errors import SamlRejectedError

from .conftest import ACS_URL, SP_ENTITY_ID, idp_module

SAML = idp_module.SAML
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
SKEW = 60
REQUEST_ID = "_request-0001"
ASSERTION_ID = "_assertion-0001"
SECOND = dt.timedelta(seconds=1)


@dataclass
class Parsed:
    """What pysaml2's ``AuthnResponse`` hands ``check_response`` after verifying."""

    response: Any
    assertions: list[Any]
    assertion: Any


def expect(**changes: Any) -> Expectations:
    base = Expectations(
        idp_entity_id=idp_module.TestIdP.entity_id,
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        request_id=REQUEST_ID,
        now=NOW.timestamp(),
        skew=float(SKEW),
    )
    return replace(base, **changes)


def assertion_xml(idp: Any, **options: Any) -> str:
    options.setdefault("in_response_to", REQUEST_ID)
    options.setdefault("now", NOW)
    options.setdefault("assertion_id", ASSERTION_ID)
    options.setdefault("sign_placeholder", False)
    return str(idp.assertion_xml(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options))


def response_xml(idp: Any, assertions: list[str], **options: Any) -> str:
    options.setdefault("in_response_to", REQUEST_ID)
    options.setdefault("now", NOW)
    options.setdefault("sign_placeholder", False)
    return str(idp.response_xml(assertions, acs_url=ACS_URL, **options))


def parse(xml: str) -> Parsed:
    message = saml2.samlp.response_from_string(xml)
    assert message is not None
    return Parsed(message, list(message.assertion), message.assertion[0])


def check(xml: str, **changes: Any) -> CheckedAssertion:
    return check_response(parse(xml), expect(**changes))


def refusal(xml: str, **changes: Any) -> str:
    with pytest.raises(SamlRejectedError) as caught:
        check(xml, **changes)
    return str(caught.value.code)


def simple(idp: Any, **options: Any) -> str:
    return response_xml(idp, [assertion_xml(idp, **options)])


def test_a_good_response_gives_every_fact(idp: Any) -> None:
    done = check(simple(idp, session_not_on_or_after=NOW + dt.timedelta(hours=1)))
    assert done.assertion_id == ASSERTION_ID
    assert done.name_id == "alice-0001"
    assert done.name_id_format == idp_module.PERSISTENT
    assert done.name_id_element is not None
    assert done.name_id_element.text == "alice-0001"
    assert done.not_on_or_after == (NOW + dt.timedelta(minutes=5)).timestamp()
    assert done.session_not_on_or_after == (NOW + dt.timedelta(hours=1)).timestamp()
    assert done.session_index is not None
    assert done.session_index.startswith("_")
    assert done.attributes["email"] == ["alice@corp.example"]


# -- Conditions times, to the second ----------


def test_conditions_not_before_exactly_now_plus_skew_is_accepted(idp: Any) -> None:
    check(simple(idp, not_before=NOW + SKEW * SECOND))


def test_conditions_not_before_past_the_skew_is_refused(idp: Any) -> None:
    assert refusal(simple(idp, not_before=NOW + (SKEW + 1) * SECOND)) == "not_yet_valid"


def test_conditions_without_not_before_are_accepted(idp: Any) -> None:
    xml = re.sub(r' NotBefore="[^"]*"', "", simple(idp))
    assert "NotBefore" not in xml
    check(xml)


def test_conditions_not_on_or_after_exactly_now_minus_skew_is_refused(idp: Any) -> None:
    xml = simple(idp, conditions_not_on_or_after=NOW - SKEW * SECOND)
    assert refusal(xml) == "expired"


def test_conditions_not_on_or_after_within_the_skew_is_accepted(idp: Any) -> None:
    check(simple(idp, conditions_not_on_or_after=NOW - (SKEW - 1) * SECOND))


def test_conditions_without_not_on_or_after_are_accepted(idp: Any) -> None:
    check(simple(idp, conditions_not_on_or_after=None))


def test_an_empty_audience_never_matches(idp: Any) -> None:
    """An ``<Audience/>`` without text is no audience, whatever this SP's entity id is."""
    xml = simple(idp, audience="")
    assert "<saml:Audience></saml:Audience>" in xml
    assert refusal(xml, sp_entity_id="XXXX") == "audience_mismatch"


# -- bearer confirmation and IdP session times ----------


def test_bearer_not_on_or_after_exactly_now_minus_skew_is_refused(idp: Any) -> None:
    assert refusal(simple(idp, not_on_or_after=NOW - SKEW * SECOND)) == "expired"


def test_bearer_not_on_or_after_within_the_skew_is_accepted(idp: Any) -> None:
    done = check(simple(idp, not_on_or_after=NOW - (SKEW - 1) * SECOND))
    assert done.not_on_or_after == (NOW - (SKEW - 1) * SECOND).timestamp()


def test_session_not_on_or_after_exactly_now_minus_skew_is_refused(idp: Any) -> None:
    xml = simple(idp, session_not_on_or_after=NOW - SKEW * SECOND)
    assert refusal(xml) == "expired"


@pytest.mark.parametrize("seconds", [-(SKEW - 1), 1, SKEW, SKEW + 1], ids=str)
def test_session_not_on_or_after_within_or_past_the_skew_is_accepted(
    idp: Any, seconds: int
) -> None:
    end = NOW + seconds * SECOND
    assert check(simple(idp, session_not_on_or_after=end)).session_not_on_or_after == (
        end.timestamp()
    )


def _two_statements(xml: str, first: str, second: str) -> str:
    """Two AuthnStatements (SessionNotOnOrAfter ``first`` then ``second``, indexes _s1, _s2)."""
    match = re.search(r"<saml:AuthnStatement .*?</saml:AuthnStatement>", xml)
    assert match is not None
    statement = re.sub(r' SessionNotOnOrAfter="[^"]*"', "", match.group(0))
    statement = re.sub(r'SessionIndex="[^"]*"', "SessionIndex={}", statement)

    def one(index: str, end: str) -> str:
        return statement.replace(
            "SessionIndex={}", f'SessionIndex="{index}" SessionNotOnOrAfter="{end}"'
        )

    return xml.replace(match.group(0), one("_s1", first) + one("_s2", second))


def test_the_earliest_session_end_and_the_first_session_index_are_kept(idp: Any) -> None:
    later = idp_module.instant(NOW + dt.timedelta(hours=2))
    sooner = idp_module.instant(NOW + dt.timedelta(hours=1))
    for first, second in ((later, sooner), (sooner, later)):
        done = check(response_xml(idp, [_two_statements(assertion_xml(idp), first, second)]))
        assert done.session_not_on_or_after == (NOW + dt.timedelta(hours=1)).timestamp()
        assert done.session_index == "_s1"


# -- issuers ----------


@pytest.mark.parametrize("which", ["response", "assertion"])
@pytest.mark.parametrize(
    "fmt",
    [idp_module.PERSISTENT, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"],
    ids=["persistent", "unspecified"],
)
def test_an_issuer_of_another_format_is_refused(idp: Any, which: str, fmt: str) -> None:
    """The right text under a non-entity ``Format`` is not the IdP."""
    opening = "<saml:Issuer>" if which == "assertion" else f'<saml:Issuer xmlns:saml="{SAML}">'
    xml = simple(idp).replace(opening, f'{opening[:-1]} Format="{fmt}">')
    assert f'Format="{fmt}">{idp.entity_id}</saml:Issuer>' in xml
    assert refusal(xml) == "issuer_mismatch"


@pytest.mark.parametrize(
    "fmt", ["", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"], ids=["empty", "entity"]
)
def test_an_issuer_of_the_entity_format_or_an_empty_one_is_accepted(idp: Any, fmt: str) -> None:
    xml = simple(idp).replace(
        f"<saml:Issuer>{idp.entity_id}</saml:Issuer>",
        f'<saml:Issuer Format="{fmt}">{idp.entity_id}</saml:Issuer>',
    )
    assert f'Format="{fmt}"' in xml
    check(xml)


def test_an_assertion_from_another_idp_is_refused(idp: Any) -> None:
    xml = simple(idp, issuer="https://other-idp.example/metadata")
    assert refusal(xml) == "issuer_mismatch"


def test_an_empty_issuer_is_no_issuer(idp: Any) -> None:
    """An ``<Issuer/>`` without text names no IdP, whatever the IdP's entity id is."""
    xml = response_xml(idp, [assertion_xml(idp, issuer="")], issuer=False)
    assert "<saml:Issuer></saml:Issuer>" in xml
    assert refusal(xml, idp_entity_id="XXXX") == "issuer_mismatch"


def test_an_assertion_without_issuer_is_refused(idp: Any) -> None:
    """SAML makes the Response's Issuer optional, never the Assertion's."""
    xml = re.sub(r"<saml:Issuer>[^<]*</saml:Issuer>", "", simple(idp))
    assert xml.count("<saml:Issuer") == 1  # the Response's, kept
    assert refusal(xml) == "issuer_mismatch"


def test_a_response_without_issuer_is_accepted(idp: Any) -> None:
    check(response_xml(idp, [assertion_xml(idp)], issuer=False))


# -- status ----------


def test_a_response_without_status_is_refused(idp: Any) -> None:
    xml = re.sub(r"<samlp:Status>.*?</samlp:Status>", "", simple(idp))
    assert "Status" not in xml
    assert refusal(xml) == "status_not_success"


# -- NameID ----------


def test_an_encrypted_id_beside_a_name_id_is_refused(idp: Any) -> None:
    """A Subject with both is ambiguous: pysaml2 would pick one, we take neither."""
    encrypted = (
        '<saml:EncryptedID><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">'
        "<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>"
        "</xenc:EncryptedData></saml:EncryptedID>"
    )
    name_id = f'<saml:NameID Format="{idp_module.PERSISTENT}">alice-0001</saml:NameID>'
    xml = simple(idp, name_id_xml=name_id + encrypted)
    assert parse(xml).assertion.subject.encrypted_id is not None
    assert refusal(xml) == "name_id_missing"


# -- attributes ----------


def test_an_empty_friendly_name_is_no_attribute_name(idp: Any) -> None:
    named = '<saml:Attribute Name="email"'
    xml = simple(idp).replace(named, '<saml:Attribute FriendlyName="" Name="email"')
    assert 'FriendlyName=""' in xml
    done = check(xml)
    assert "" not in done.attributes
    assert done.attributes["email"] == ["alice@corp.example"]


# -- signature algorithms (on the objects pysaml2 verified) ----------


def _signed(idp: Any, which: str, **options: Any) -> str:
    if which == "assertion":
        signed = idp_module.strip_declaration(
            idp.sign(assertion_xml(idp, sign_placeholder=True), **options)
        )
        return response_xml(idp, [signed])
    return idp.sign(response_xml(idp, [assertion_xml(idp)], sign_placeholder=True), **options)


@pytest.mark.parametrize("which", ["assertion", "response"])
def test_a_strong_signature_is_accepted(idp: Any, which: str) -> None:
    check(_signed(idp, which))


@pytest.mark.parametrize("which", ["assertion", "response"])
@pytest.mark.parametrize(
    "options",
    [{"method": SignatureMethod.RSA_SHA1}, {"digest": DigestAlgorithm.SHA1}],
    ids=["sha1-method", "sha1-digest"],
)
def test_a_weak_signature_is_refused(idp: Any, which: str, options: dict[str, Any]) -> None:
    assert refusal(_signed(idp, which, **options)) == "weak_signature_algorithm"


@pytest.mark.parametrize("which", ["assertion", "response"])
@pytest.mark.parametrize("element", ["SignatureMethod", "DigestMethod"])
def test_a_signature_without_its_algorithm_is_refused(idp: Any, which: str, element: str) -> None:
    xml = re.sub(rf"<ds:{element} [^>]*/>", "", _signed(idp, which))
    assert element not in xml
    assert refusal(xml) == "weak_signature_algorithm"

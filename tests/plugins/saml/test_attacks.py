"""The SAML attack suite: every negative case of issue #12, each a typed 401 and nothing kept.

Responses are built as XML and signed with signxml (an XML-DSig
implementation independent of the xmlsec1 the SP verifies with), then bent
the way each attack bends them. Each attempt must end in a 401 carrying a
reason code (never a 500), set no session cookie and leave the user store
empty.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from lxml import etree
from signxml import SignatureMethod

from .conftest import ACS_URL, SP_ENTITY_ID, Login, idp_module, start_login

pytestmark = pytest.mark.anyio

NS = {"samlp": idp_module.SAMLP, "saml": idp_module.SAML, "ds": idp_module.DS}
NOW = dt.datetime.now


def tree(xml: str) -> Any:
    return etree.fromstring(xml.encode())


def text(root: Any) -> str:
    return etree.tostring(root).decode()


async def refused(
    client: httpx.AsyncClient,
    store: Any,
    form: dict[str, str],
    codes: set[str] | None = None,
) -> str:
    """POST ``form`` to the ACS; assert a typed 401, no session, no store row; return the code."""
    response = await client.post(
        "/auth/saml/acs", data=form, headers={"accept": "application/json"}
    )
    assert response.status_code == 401, (response.status_code, response.text)
    reason = response.json()["reason"]
    assert reason not in ("internal_error", "", None)
    if codes is not None:
        assert reason in codes, reason
    assert not any(
        c.startswith(("authplug_session", "__Host-authplug_session"))
        and "max-age=0" not in c.lower()
        for c in response.headers.get_list("set-cookie")
    )
    assert len(store) == 0
    me = await client.get("/whoami", headers={"accept": "application/json"})
    assert me.status_code == 401  # still no session
    return str(reason)


def form(xml: str | bytes, login: Login) -> dict[str, str]:
    return {"SAMLResponse": idp_module.encode(xml), "RelayState": login.relay_state}


@pytest.fixture
async def login(client: httpx.AsyncClient) -> Login:
    return await start_login(client)


@pytest.fixture
def build(idp: Any, login: Login) -> Callable[..., str]:
    """A response to ``login`` (signed assertion by default), with options passed through."""

    def make(**options: Any) -> str:
        options.setdefault("in_response_to", login.request_id)
        return str(idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options))

    return make


def assertion(idp: Any, login: Login, **options: Any) -> str:
    options.setdefault("in_response_to", login.request_id)
    return str(idp.assertion_xml(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options))


def wrap(idp: Any, login: Login, assertions: list[str], **options: Any) -> str:
    options.setdefault("in_response_to", login.request_id)
    return str(idp.response_xml(assertions, acs_url=ACS_URL, **options))


async def test_the_baseline_response_is_accepted(
    client: httpx.AsyncClient, login: Login, build: Callable[..., str]
) -> None:
    """Guard: the builders make an acceptable response, so each refusal below is the attack's."""
    done = await client.post("/auth/saml/acs", data=form(build(), login))
    assert done.status_code == 302, done.text


# -- signatures ----------


async def test_unsigned_response_and_assertion(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    await refused(client, store, form(build(sign_assertion=False), login), {"assertion_unsigned"})


async def test_unsigned_assertion_in_a_signed_response_when_assertions_must_be_signed(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    xml = build(sign_assertion=False, sign_response=True)
    await refused(client, store, form(xml, login), {"assertion_unsigned"})


async def test_tampered_signed_assertion(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    xml = build().replace("alice-0001", "admin-0001")
    await refused(client, store, form(xml, login), {"bad_signature"})


async def test_assertion_outside_the_signed_element(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
    evil = assertion(idp, login, name_id="admin", sign_placeholder=False)
    xml = wrap(idp, login, [signed, evil])
    await refused(client, store, form(xml, login), {"assertion_count"})


# -- XML signature wrapping (XSW1-XSW8, as catalogued by SAML Raider / "On Breaking SAML") ------


def _signed_response(idp: Any, login: Login) -> Any:
    """A Response signed over itself, holding an unsigned assertion."""
    xml = wrap(idp, login, [assertion(idp, login, sign_placeholder=False)])
    return tree(idp.sign(xml))


def _signed_assertion_response(idp: Any, login: Login) -> Any:
    """A Response (unsigned) holding a signed assertion."""
    signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
    return tree(wrap(idp, login, [signed], sign_placeholder=False))


def _evil(element: Any, new_id: str = "_evil") -> Any:
    """A copy of ``element`` with another ID, the NameID changed, its own signature removed."""
    clone = copy.deepcopy(element)
    clone.set("ID", new_id)
    for signature in clone.findall("ds:Signature", NS):
        clone.remove(signature)
    for name_id in clone.iter(f"{{{idp_module.SAML}}}NameID"):
        name_id.text = "admin-0001"
    for child in clone.iter(f"{{{idp_module.SAML}}}Assertion"):
        child.set("ID", child.get("ID") + "-evil")
    return clone


def xsw1(idp: Any, login: Login) -> Any:
    """Evil Response at the root; the signed original inside its Signature."""
    original = _signed_response(idp, login)
    evil = _evil(original)
    signature = copy.deepcopy(original.find("ds:Signature", NS))
    original.remove(original.find("ds:Signature", NS))
    signature.append(original)
    evil.insert(1, signature)
    return evil


def xsw2(idp: Any, login: Login) -> Any:
    """Evil Response at the root; the signed original as a sibling before its Signature."""
    original = _signed_response(idp, login)
    evil = _evil(original)
    signature = copy.deepcopy(original.find("ds:Signature", NS))
    original.remove(original.find("ds:Signature", NS))
    evil.insert(1, original)
    evil.insert(2, signature)
    return evil


def _parts(idp: Any, login: Login) -> tuple[Any, Any]:
    response = _signed_assertion_response(idp, login)
    return response, response.find("saml:Assertion", NS)


def xsw3(idp: Any, login: Login) -> Any:
    """Evil assertion inserted before the signed one."""
    response, signed = _parts(idp, login)
    response.insert(list(response).index(signed), _evil(signed))
    return response


def xsw4(idp: Any, login: Login) -> Any:
    """Signed assertion moved inside the evil one."""
    response, signed = _parts(idp, login)
    evil = _evil(signed)
    response.remove(signed)
    evil.append(signed)
    response.append(evil)
    return response


def xsw5(idp: Any, login: Login) -> Any:
    """The signed assertion's content changed, the signature kept; an intact copy appended."""
    response, signed = _parts(idp, login)
    intact = copy.deepcopy(signed)
    intact.remove(intact.find("ds:Signature", NS))
    for name_id in signed.iter(f"{{{idp_module.SAML}}}NameID"):
        name_id.text = "admin-0001"
    signed.set("ID", "_evil")
    response.append(intact)
    return response


def xsw6(idp: Any, login: Login) -> Any:
    """As XSW5, the intact copy inside the evil assertion's Signature."""
    response, signed = _parts(idp, login)
    intact = copy.deepcopy(signed)
    intact.remove(intact.find("ds:Signature", NS))
    for name_id in signed.iter(f"{{{idp_module.SAML}}}NameID"):
        name_id.text = "admin-0001"
    signed.set("ID", "_evil")
    signed.find("ds:Signature", NS).append(intact)
    return response


def xsw7(idp: Any, login: Login) -> Any:
    """An Extensions element holding the signed assertion; the evil one where SAML looks."""
    response, signed = _parts(idp, login)
    evil = _evil(signed)
    response.remove(signed)
    extensions = etree.SubElement(response, f"{{{idp_module.SAMLP}}}Extensions")
    extensions.append(signed)
    response.insert(1, extensions)
    response.append(evil)
    return response


def xsw8(idp: Any, login: Login) -> Any:
    """The evil assertion carries the signature; an Object in it holds the intact original."""
    response, signed = _parts(idp, login)
    evil = _evil(signed)
    signature = copy.deepcopy(signed.find("ds:Signature", NS))
    intact = copy.deepcopy(signed)
    intact.remove(intact.find("ds:Signature", NS))
    obj = etree.SubElement(signature, f"{{{idp_module.DS}}}Object")
    obj.append(intact)
    evil.insert(1, signature)
    response.remove(signed)
    response.append(evil)
    return response


XSW = [xsw1, xsw2, xsw3, xsw4, xsw5, xsw6, xsw7, xsw8]
XSW_CODES = {
    "assertion_count",
    "signature_misplaced",
    "signature_reference",
    "signature_structure",
    "duplicate_id",
}


@pytest.mark.parametrize("attack", XSW, ids=[f.__name__ for f in XSW])
@pytest.mark.parametrize("want_response", [False, True], ids=["want-assertion", "want-response"])
async def test_signature_wrapping(
    settings_values: dict[str, Any],
    provider_factory: Any,
    store: Any,
    idp: Any,
    attack: Callable[[Any, Login], Any],
    want_response: bool,
) -> None:
    async with _client(settings_values, provider_factory, store, want_response) as client:
        login = await start_login(client)
        xml = text(attack(idp, login))
        await refused(client, store, form(xml, login), XSW_CODES)


def _client(
    settings_values: dict[str, Any], provider_factory: Any, store: Any, want_response: bool
) -> httpx.AsyncClient:
    from authplug.asgi import AuthMiddleware
    from authplug.config import AuthplugConfig
    from authplug.host import PluginInfo, build_host

    from .conftest import APP, _key, _whoami

    values = {
        **settings_values,
        "want_response_signed": want_response,
        "want_assertions_signed": not want_response,
    }
    host = build_host(
        provider_factory(values),
        AuthplugConfig(cookie_keys=[_key()], cookie_secure=False),
        provider_info=PluginInfo(name="saml"),
        store=store,
    )
    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    return httpx.AsyncClient(transport=transport, base_url=APP)


# -- signature shape ----------


def _signature(root: Any) -> Any:
    return root.find(".//ds:Signature", NS)


async def test_reference_uri_empty(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    root = tree(build())
    _signature(root).find(".//ds:Reference", NS).set("URI", "")
    await refused(client, store, form(text(root), login), {"signature_reference"})


async def test_reference_pointing_elsewhere(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    """A genuine signature over the Response, moved into the assertion: it signs another element."""
    response = _signed_response(idp, login)
    signature = response.find("ds:Signature", NS)
    response.remove(signature)
    response.find("saml:Assertion", NS).insert(1, signature)
    await refused(client, store, form(text(response), login), {"signature_reference"})


async def test_two_references(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    root = tree(build())
    reference = _signature(root).find(".//ds:Reference", NS)
    reference.addnext(copy.deepcopy(reference))
    await refused(client, store, form(text(root), login), {"signature_reference"})


@pytest.mark.parametrize(
    "algorithm",
    [
        "http://www.w3.org/TR/1999/REC-xpath-19991116",
        "http://www.w3.org/TR/1999/REC-xslt-19991116",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    ],
)
async def test_extra_transforms(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str], algorithm: str
) -> None:
    root = tree(build())
    transforms = _signature(root).find(".//ds:Transforms", NS)
    etree.SubElement(transforms, f"{{{idp_module.DS}}}Transform", Algorithm=algorithm)
    await refused(client, store, form(text(root), login), {"signature_transform"})


async def test_certificate_in_key_info_not_in_metadata(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    attacker = idp_module.make_keypair("attacker")
    signed = idp.sign(assertion(idp, login), keys=attacker)
    xml = wrap(idp, login, [idp_module.strip_declaration(signed)], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"untrusted_certificate"})


async def test_signed_by_another_key_without_key_info(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    attacker = idp_module.make_keypair("attacker")
    signed = idp.sign(assertion(idp, login), keys=attacker, include_cert=False)
    xml = wrap(idp, login, [idp_module.strip_declaration(signed)], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"bad_signature", "untrusted_certificate"})


async def test_hmac_signature(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    from signxml import CanonicalizationMethod, DigestAlgorithm
    from signxml.signer import XMLSigner

    root = tree(assertion(idp, login))
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.HMAC_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # The "key" an attacker knows: the IdP's public certificate bytes.
    signed = signer.sign(root, key=idp.keys.cert_pem, reference_uri="#" + root.get("ID"))
    xml = wrap(idp, login, [text(signed)], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"weak_signature_algorithm"})


@pytest.mark.parametrize("which", ["assertion", "response"])
async def test_sha1_signature(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login, which: str
) -> None:
    from signxml import DigestAlgorithm

    sha1 = {"method": SignatureMethod.RSA_SHA1, "digest": DigestAlgorithm.SHA1}
    if which == "assertion":
        signed = idp_module.strip_declaration(idp.sign(assertion(idp, login), **sha1))
        xml = wrap(idp, login, [signed], sign_placeholder=False)
    else:
        signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
        xml = idp.sign(wrap(idp, login, [signed]), **sha1)
    await refused(client, store, form(xml, login), {"weak_signature_algorithm"})


# -- NameID tricks ----------


async def test_comment_injection_in_name_id(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    """Signed for ``user@example.com.evil.example``; the comment keeps the signature valid."""
    signed = idp.sign(assertion(idp, login, name_id="user@example.com.evil.example"))
    injected = signed.replace(
        "user@example.com.evil.example", "user@example.com<!---->.evil.example"
    )
    xml = wrap(idp, login, [idp_module.strip_declaration(injected)], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"xml_comment"})


async def test_processing_instruction_in_name_id(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    signed = idp.sign(assertion(idp, login, name_id="user@example.com.evil.example"))
    injected = signed.replace(
        "user@example.com.evil.example", "user@example.com<?x y?>.evil.example"
    )
    xml = wrap(idp, login, [idp_module.strip_declaration(injected)], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"processing_instruction"})


# -- issuers, audience, recipient, destination ----------


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        (
            {"issuer": "https://other-idp.example/metadata"},
            {"issuer_mismatch", "untrusted_certificate"},
        ),
        ({"audience": "https://other-sp.example"}, {"audience_mismatch", "invalid_response"}),
        ({"audience": None}, {"audience_missing"}),
        ({"recipient": "https://app.example/elsewhere"}, {"recipient_mismatch"}),
        ({"recipient": None}, {"recipient_mismatch", "verification_failed"}),
        ({"not_on_or_after": None}, {"subject_confirmation"}),
        ({"method": "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"}, {"subject_confirmation"}),
        (
            {"method": "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"},
            {"subject_confirmation", "verification_failed"},
        ),
    ],
    ids=[
        "assertion-issuer",
        "wrong-audience",
        "missing-audience",
        "wrong-recipient",
        "missing-recipient",
        "bearer-without-not-on-or-after",
        "sender-vouches",
        "holder-of-key",
    ],
)
async def test_assertion_claims(
    client: httpx.AsyncClient,
    store: Any,
    login: Login,
    build: Callable[..., str],
    options: dict[str, Any],
    codes: set[str],
) -> None:
    await refused(client, store, form(build(**options), login), codes)


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        ({"issuer": "https://other-idp.example/metadata"}, {"issuer_mismatch", "bad_signature"}),
        (
            {"destination": "https://app.example/other"},
            {"destination_mismatch", "invalid_response"},
        ),
        ({"destination": None}, {"destination_mismatch"}),
        ({"status": "urn:oasis:names:tc:SAML:2.0:status:Requester"}, {"status_not_success"}),
    ],
    ids=["response-issuer", "wrong-destination", "missing-destination", "non-success-status"],
)
async def test_response_claims(
    client: httpx.AsyncClient,
    store: Any,
    idp: Any,
    login: Login,
    options: dict[str, Any],
    codes: set[str],
) -> None:
    signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
    xml = wrap(idp, login, [signed], sign_placeholder=False, **options)
    await refused(client, store, form(xml, login), codes)


async def test_foreign_idp(client: httpx.AsyncClient, store: Any, login: Login) -> None:
    foreign = idp_module.TestIdP(entity_id="https://foreign.example/metadata")
    xml = foreign.response(
        sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=login.request_id
    )
    await refused(client, store, form(xml, login), {"untrusted_certificate", "issuer_mismatch"})


# -- InResponseTo, replay ----------


async def test_unknown_in_response_to(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    codes = {"unsolicited_response", "in_response_to_mismatch"}
    await refused(client, store, form(build(in_response_to="id-unknown"), login), codes)


async def test_missing_in_response_to(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    codes = {"unsolicited_response", "in_response_to_mismatch"}
    await refused(client, store, form(build(in_response_to=None), login), codes)


async def test_foreign_in_response_to(
    client: httpx.AsyncClient,
    store: Any,
    host: Any,
    login: Login,
    build: Callable[..., str],
) -> None:
    """A response to another browser's live request, delivered with this browser's RelayState."""
    from authplug.asgi import AuthMiddleware

    from .conftest import APP, _whoami

    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as other:
        theirs = await start_login(other)
    codes = {"unsolicited_response", "in_response_to_mismatch"}
    await refused(client, store, form(build(in_response_to=theirs.request_id), login), codes)


async def test_relay_state_of_another_browser(
    client: httpx.AsyncClient, store: Any, host: Any, build: Callable[..., str], idp: Any
) -> None:
    from authplug.asgi import AuthMiddleware

    from .conftest import APP, _whoami

    transport = httpx.ASGITransport(app=AuthMiddleware(_whoami, host=host))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as other:
        theirs = await start_login(other)
    xml = idp.response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=theirs.request_id)
    await refused(client, store, form(xml, theirs), {"unknown_transaction"})


async def test_the_same_response_posted_twice(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    flow_cookies = dict(client.cookies)
    body = form(build(), login)
    first = await client.post("/auth/saml/acs", data=body)
    assert first.status_code == 302
    second_client_store = store  # the replay must not log in again, even with the flow cookie
    client.cookies.clear()
    client.cookies.update(flow_cookies)
    response = await client.post(
        "/auth/saml/acs", data=body, headers={"accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "replayed_assertion"
    assert len(second_client_store) == 1  # only the first login


async def test_replay_without_the_flow_cookie(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    body = form(build(), login)
    assert (await client.post("/auth/saml/acs", data=body)).status_code == 302
    response = await client.post(
        "/auth/saml/acs", data=body, headers={"accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "unknown_transaction"


async def test_flow_is_consumed_even_when_the_response_fails(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    await refused(client, store, form(build(audience=None), login), {"audience_missing"})
    await refused(client, store, form(build(), login), {"unknown_transaction"})


# -- times ----------


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        # Offsets from the moment the test runs, not from collection: a long
        # suite on a busy machine must not let "ten minutes ahead" go stale.
        ({"not_before": dt.timedelta(minutes=10)}, {"not_yet_valid"}),
        ({"conditions_not_on_or_after": -dt.timedelta(minutes=10)}, {"expired"}),
        ({"not_on_or_after": -dt.timedelta(minutes=10)}, {"expired"}),
    ],
    ids=["not-before-in-future", "conditions-expired", "bearer-expired"],
)
async def test_times(
    client: httpx.AsyncClient,
    store: Any,
    login: Login,
    build: Callable[..., str],
    options: dict[str, dt.timedelta],
    codes: set[str],
) -> None:
    at = {name: NOW(dt.UTC) + offset for name, offset in options.items()}
    await refused(client, store, form(build(**at), login), codes | {"verification_failed"})


# -- assertion count, encryption ----------


async def test_zero_assertions(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    await refused(client, store, form(idp.sign(wrap(idp, login, [])), login), {"assertion_count"})


async def test_two_signed_assertions(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    one = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
    two = idp_module.strip_declaration(idp.sign(assertion(idp, login, name_id="bob")))
    xml = wrap(idp, login, [one, two], sign_placeholder=False)
    await refused(client, store, form(xml, login), {"assertion_count"})


async def test_junk_in_encrypted_assertion(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login
) -> None:
    junk = (
        f'<saml:EncryptedAssertion xmlns:saml="{idp_module.SAML}">'
        '<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">'
        "<xenc:CipherData><xenc:CipherValue>bm90IGNpcGhlcnRleHQ=</xenc:CipherValue>"
        "</xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"
    )
    xml = idp.sign(wrap(idp, login, [junk]))
    codes = {"decryption_failed", "invalid_response", "bad_signature", "assertion_count"}
    await refused(client, store, form(xml, login), codes)


# -- hostile XML ----------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f'<samlp:Response xmlns:samlp="{idp_module.SAMLP}" ID="_x">&lol3;</samlp:Response>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<samlp:Response xmlns:samlp="{idp_module.SAMLP}" ID="_x">&xxe;</samlp:Response>'
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?><!DOCTYPE samlp:Response SYSTEM "http://127.0.0.1:9/evil.dtd">'
    f'<samlp:Response xmlns:samlp="{idp_module.SAMLP}" ID="_x"/>'
)


@pytest.mark.parametrize(
    "document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"]
)
async def test_doctype_is_refused_before_parsing(
    client: httpx.AsyncClient, store: Any, login: Login, document: str
) -> None:
    await refused(client, store, form(document, login), {"doctype_forbidden"})


async def test_doctype_hidden_in_utf16_is_refused(
    client: httpx.AsyncClient, store: Any, login: Login
) -> None:
    document = EXTERNAL_ENTITY.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    await refused(client, store, form(document.encode("utf-16"), login), {"bad_encoding"})


async def test_xinclude(client: httpx.AsyncClient, store: Any, idp: Any, login: Login) -> None:
    signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
    xml = wrap(idp, login, [signed], sign_placeholder=False).replace(
        "</samlp:Response>",
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
        "</samlp:Response>",
    )
    await refused(client, store, form(xml, login), {"xinclude"})


# -- the form itself ----------


async def test_oversized_response(client: httpx.AsyncClient, store: Any, login: Login) -> None:
    body = {"SAMLResponse": "A" * (256 * 1024 + 4), "RelayState": login.relay_state}
    await refused(client, store, body, {"response_too_large"})


@pytest.mark.parametrize(
    "value",
    ["not base64!", "PHNhbWxwOlJlc3BvbnNl=", "PHg+\x00", "PHg+ PC94Pg==", "PHg+PC94Pg=%3D"],
)
async def test_non_base64_response(
    client: httpx.AsyncClient, store: Any, login: Login, value: str
) -> None:
    body = {"SAMLResponse": value, "RelayState": login.relay_state}
    await refused(client, store, body, {"not_base64"})


async def test_duplicated_saml_response(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    good = idp_module.encode(build())
    content = httpx.QueryParams(
        [("SAMLResponse", good), ("SAMLResponse", good), ("RelayState", login.relay_state)]
    )
    response = await client.post(
        "/auth/saml/acs",
        content=str(content),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        },
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "duplicate_parameter"
    assert len(store) == 0


@pytest.mark.parametrize(
    "relay_state", ["https://evil.example/", "//evil.example", "/admin", "x" * 23]
)
async def test_relay_state_is_never_a_redirect_target(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str], relay_state: str
) -> None:
    body = {"SAMLResponse": idp_module.encode(build()), "RelayState": relay_state}
    await refused(client, store, body, {"bad_relay_state"})


async def test_missing_relay_state_is_unsolicited(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    body = {"SAMLResponse": idp_module.encode(build())}
    await refused(client, store, body, {"unsolicited_response"})


async def test_decoded_value_is_the_one_inspected(login: Login) -> None:
    """Guard for the form tests: the encoder produces plain base64."""
    assert base64.b64decode(idp_module.encode("<x/>")) == b"<x/>"

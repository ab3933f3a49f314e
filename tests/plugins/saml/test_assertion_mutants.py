"""``check_response`` cases that mutation testing showed no test pinned: the NameID rules.

An assertion whose Subject has no NameID is refused with ``name_id_missing``
(a typed 401, no session, nothing stored), through the whole ACS like the
rest of the attack suite.
"""

from __future__ import annotations

import base64
import datetime as dt
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .conftest import Login, idp_module
from .test_attacks import build, form, login, refused

pytestmark = pytest.mark.anyio

__all__ = ["build", "login"]  # fixtures shared with the attack suite


async def test_subject_without_a_name_id(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    reason = await refused(client, store, form(build(name_id_xml=" "), login))
    assert reason == "name_id_missing"


PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def _name_id(value: str) -> str:
    return f'<saml:NameID Format="{PERSISTENT}">{value}</saml:NameID>'


@pytest.mark.parametrize(
    "value",
    ["", "   ", " alice", "alice ", "ali\u200bce", "a" * 257],
    ids=["empty", "blank", "leading-space", "trailing-space", "format-character", "257-chars"],
)
async def test_malformed_name_id(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str], value: str
) -> None:
    reason = await refused(client, store, form(build(name_id_xml=_name_id(value)), login))
    assert reason == "name_id_invalid"


async def test_a_name_id_of_256_characters_is_accepted(
    client: httpx.AsyncClient, store: Any, login: Login, build: Callable[..., str]
) -> None:
    done = await client.post(
        "/auth/saml/acs", data=form(build(name_id_xml=_name_id("a" * 256)), login)
    )
    assert done.status_code == 302, done.text
    assert len(store) == 1


@pytest.mark.parametrize(
    ("name_id_xml", "recorded"),
    [(_name_id("alice-0001"), PERSISTENT), ("<saml:NameID>alice-0001</saml:NameID>", None)],
    ids=["persistent", "no-format"],
)
async def test_the_name_id_and_its_format_go_into_the_logout_request(
    client: httpx.AsyncClient,
    login: Login,
    build: Callable[..., str],
    name_id_xml: str,
    recorded: str | None,
) -> None:
    done = await client.post("/auth/saml/acs", data=form(build(name_id_xml=name_id_xml), login))
    assert done.status_code == 302, done.text
    page = await client.get("/auth/logout")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = await client.post("/auth/logout", data={"csrf_token": token})
    query = parse_qs(urlsplit(out.headers["location"]).query)
    raw = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    request = ET.fromstring(raw)  # noqa: S314 - our own SP's request
    name_id = request.find("{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
    assert name_id is not None
    assert name_id.text == "alice-0001"
    assert name_id.get("Format") == recorded


@pytest.mark.parametrize("which", ["assertion", "response"])
async def test_a_sha1_digest_under_a_sha256_signature_is_refused(
    client: httpx.AsyncClient, store: Any, idp: Any, login: Login, which: str
) -> None:
    from signxml import DigestAlgorithm

    from .test_attacks import assertion, wrap

    sha1_digest = {"digest": DigestAlgorithm.SHA1}
    if which == "assertion":
        signed = idp_module.strip_declaration(idp.sign(assertion(idp, login), **sha1_digest))
        xml = wrap(idp, login, [signed], sign_placeholder=False)
    else:
        signed = idp_module.strip_declaration(idp.sign(assertion(idp, login)))
        xml = idp.sign(wrap(idp, login, [signed]), **sha1_digest)
    reason = await refused(client, store, form(xml, login))
    assert reason == "weak_signature_algorithm"


@pytest.mark.parametrize(
    ("option", "offset"),
    [
        ("not_on_or_after", dt.timedelta(seconds=30)),
        ("not_on_or_after", -dt.timedelta(seconds=30)),
        ("conditions_not_on_or_after", -dt.timedelta(seconds=30)),
        ("not_before", dt.timedelta(seconds=30)),
    ],
    ids=["bearer-ends-in-30s", "bearer-ended-30s-ago", "conditions-ended-30s-ago", "valid-in-30s"],
)
async def test_times_within_the_clock_skew_are_accepted(
    client: httpx.AsyncClient,
    login: Login,
    build: Callable[..., str],
    option: str,
    offset: dt.timedelta,
) -> None:
    """The default skew is 60 s: a bound 30 s on the wrong side of now still holds."""
    at = dt.datetime.now(dt.UTC) + offset
    done = await client.post("/auth/saml/acs", data=form(build(**{option: at}), login))
    assert done.status_code == 302, done.text

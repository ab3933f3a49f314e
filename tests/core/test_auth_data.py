"""``auth_data`` cannot leak by accident: only the session codec serialises it."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import JSONResponse

from authplug import custom_data as custom_data_module
from authplug.models import AuthenticatedUser
from authplug.session.payload import SessionData, as_session_user

ACCESS = "at-must-never-reach-the-browser"
REFRESH = "rt-must-never-reach-the-browser"
User = AuthenticatedUser[dict[str, str], dict[str, str]]


def make_user() -> User:
    return User(
        user_id="u-1",
        first_name="Ada",
        user_type="internal-user",
        custom_data={"company": "Acme"},
        auth_data={"access_token": ACCESS, "refresh_token": REFRESH},
    )


def leaks(text: str) -> bool:
    return ACCESS in text or REFRESH in text or "auth_data" in text or "authData" in text


@pytest.mark.parametrize(
    "render",
    [
        lambda u: json.dumps(u.model_dump()),
        lambda u: json.dumps(u.model_dump(by_alias=True)),
        lambda u: json.dumps(u.model_dump(mode="json")),
        lambda u: u.model_dump_json(),
        lambda u: u.model_dump_json(by_alias=True),
        lambda u: u.model_dump_json(include={"auth_data", "user_id"}),
        lambda u: repr(dict(u)),
        lambda u: repr(u),
        lambda u: str(u),
        lambda u: repr(u.tool_view()),
        lambda u: u.tool_view().model_dump_json(),
    ],
    ids=[
        "model_dump",
        "model_dump-alias",
        "model_dump-json-mode",
        "model_dump_json",
        "model_dump_json-alias",
        "model_dump_json-include",
        "dict",
        "repr",
        "str",
        "tool_view",
        "tool_view-json",
    ],
)
def test_no_serialisation_carries_auth_data(render: object) -> None:
    user = make_user()
    text = render(user)  # type: ignore[operator]
    assert "u-1" in text
    assert not leaks(text)
    assert user.auth_data == {"access_token": ACCESS, "refresh_token": REFRESH}  # still there


@pytest.mark.anyio
async def test_a_fastapi_endpoint_returning_the_user_sends_no_tokens() -> None:
    app = FastAPI()

    @app.get("/me")
    def me() -> User:
        return make_user()

    @app.get("/me-untyped")
    def me_untyped() -> object:
        return make_user()

    @app.get("/me-starlette")
    def me_starlette() -> JSONResponse:
        return JSONResponse(make_user().model_dump(mode="json"))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/me", "/me-untyped", "/me-starlette"):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            body = response.json()  # FastAPI's response_model dumps by alias (camelCase)
            assert body.get("userId", body.get("user_id")) == "u-1"
            assert body.get("customData", body.get("custom_data")) == {"company": "Acme"}
            assert not leaks(response.text), path


def test_the_session_codec_is_the_one_path_that_keeps_auth_data() -> None:
    session = SessionData.start(make_user(), 1_700_000_000.0)
    sealed_json = session.model_dump_json()
    assert ACCESS in sealed_json  # it goes inside the encrypted cookie...
    again = SessionData.model_validate_json(sealed_json)
    assert again.user.auth_data == {"access_token": ACCESS, "refresh_token": REFRESH}
    assert again == session
    # ... and the user inside it still refuses every other dump
    assert not leaks(again.user.model_dump_json())


def test_as_session_user_keeps_auth_data_of_any_user_type() -> None:
    plain = AuthenticatedUser(user_id="p", user_type="external-user", auth_data={"t": ACCESS})
    assert as_session_user(plain).auth_data == {"t": ACCESS}


def test_secret_looking_custom_data_key_warns_once_without_the_value(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(custom_data_module, "_warned", set())
    user = User(
        user_id="u-2",
        user_type="internal-user",
        custom_data={"company": "Acme", "github_token": "ghp-value-not-logged", "api_key": "v2"},
    )
    with caplog.at_level(logging.WARNING, logger="authplug"):
        SessionData.start(user, 1.0)
        SessionData.start(user, 2.0)  # a second login: no second warning
    messages = [r.getMessage() for r in caplog.records if r.name == "authplug"]
    assert len(messages) == 2
    assert any("'github_token' looks like a secret" in m for m in messages)
    assert any("'api_key' looks like a secret" in m for m in messages)
    assert not any("ghp-value-not-logged" in m or "company" in m for m in messages)


@pytest.mark.parametrize("key", ["company", "locale", "keyboard_layout", "monkey", "keynote"])
def test_ordinary_custom_data_keys_do_not_warn(
    key: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(custom_data_module, "_warned", set())
    user = User(user_id="u-3", user_type="internal-user", custom_data={key: "x"})
    with caplog.at_level(logging.WARNING, logger="authplug"):
        SessionData.start(user, 1.0)
    assert caplog.records == []

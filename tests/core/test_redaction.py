"""Redaction: every secret form is masked, ordinary text is kept, logs are filtered."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterator

import pytest

from authplug.models import AuthenticatedUser
from authplug.redaction import (
    REDACTED,
    RedactingFilter,
    install_redaction,
    is_secret_key,
    redact,
    redact_mapping,
    summarize_user,
)


def _jwt() -> str:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return ".".join(
        [part(b'{"alg":"RS256","typ":"JWT"}'), part(b'{"sub":"u1"}'), part(secrets.token_bytes(64))]
    )


JWT = _jwt()
OPAQUE = secrets.token_urlsafe(32)
HEX = secrets.token_hex(20)
SAML = base64.b64encode(b"<samlp:Response>" + secrets.token_bytes(200)).decode()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"got token {JWT} from idp", JWT),
        (f"id_token={JWT}", JWT),
        (f"jwt in bytes: b'{JWT}'", JWT),
        (f"Authorization: Bearer {OPAQUE}", OPAQUE),
        (f"authorization=Basic {base64.b64encode(b'user:pw').decode()}", "dXNlcjpwdw"),
        (f"sent Bearer {OPAQUE[:6]} upstream", OPAQUE[:6]),
        ("headers=[(b'authorization', b'Bearer abc')]", "abc"),
        (f"DPoP {OPAQUE}", OPAQUE),
        (f"Cookie: authplug_session.0={OPAQUE}; theme=dark", OPAQUE),
        ("Cookie: theme=dark-secret-ish", "dark-secret-ish"),
        (f"Set-Cookie: authplug_session.0={OPAQUE}; Path=/; HttpOnly", OPAQUE),
        (f"access_token={OPAQUE[:8]}&state=ok", OPAQUE[:8]),
        (f"refresh_token: {OPAQUE[:8]}", OPAQUE[:8]),
        (f'{{"refresh_token": "{OPAQUE[:8]}", "name": "Ada"}}', OPAQUE[:8]),
        (f"{{'client_secret': '{OPAQUE[:8]}'}}", OPAQUE[:8]),
        ("{'cookie': 'a=hunter2; b=c'}", "hunter2"),
        ("password=hunter2", "hunter2"),
        ("db passwd: hunter2", "hunter2"),
        ("api_key=k-1234", "k-1234"),
        ("X-Api-Key: k-1234", "k-1234"),
        ("apiKey=k-1234", "k-1234"),
        ("signing key: k-1234", "k-1234"),
        (f"https://app.example/auth/callback?code={OPAQUE[:10]}&state=xyz", OPAQUE[:10]),
        ("code=4/0AX4XfWh", "0AX4XfWh"),
        ("code_verifier=abcdefgh", "abcdefgh"),
        ("assertion=PHNhbWw", "PHNhbWw"),
        (f"SAMLResponse={SAML[:12]}", SAML[:12]),
        (f"posted {SAML}", SAML[:60]),
        ("session_id=s3ss10n", "s3ss10n"),
        ("csrf_token=abc", "abc"),
        (f"opaque {OPAQUE} here", OPAQUE),
        (f"hex {HEX} here", HEX),
        (f"url-safe {secrets.token_urlsafe(20)}", None),
    ],
)
def test_secret_forms_are_masked(text: str, secret: str | None) -> None:
    masked = redact(text)
    assert REDACTED in masked
    if secret is not None:
        assert secret not in masked


@pytest.mark.parametrize(
    "text",
    [
        "user admin signed in via mock provider",
        "GET /auth/mock/login?user=admin 302",
        "return_to=/admin/reports&state=ok",
        "status_code=200 error_code=E42 HTTP status code: 404",
        "request 123e4567-e89b-12d3-a456-426614174000 took 12 ms",
        "ForceUserToReauthenticateError raised; UserIdIsMissingFromRequest",
        "AUTHPLUG_COOKIE_KEYS is unset; using an ephemeral key",
        "module authplug.stores.sqlite opened authplug-users.sqlite3",
        "test_redaction_keeps_ordinary_text and instruction_feature_enabled",
        "path /api/v1/Users/12345/Profile/Settings/Display/Advanced",
        "Basic authentication is disabled",
        "roles=pika:content-admin user_type=internal-user",
        "email ada.lovelace@example.com, 2024-05-01T12:00:00+00:00",
        "",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_set_cookie_attributes_are_kept() -> None:
    masked = redact("Set-Cookie: sid=abc123; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    assert masked == "Set-Cookie: sid=[redacted]; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"


def test_every_cookie_of_a_cookie_header_is_masked() -> None:
    masked = redact("Cookie: a=1; b=2; authplug_session.1=xyz")
    assert masked == "Cookie: a=[redacted]; b=[redacted]; authplug_session.1=[redacted]"


def test_authorization_header_keeps_its_name() -> None:
    assert redact(f"Authorization: Bearer {JWT}") == "Authorization: [redacted]"


def test_redaction_is_idempotent() -> None:
    text = f"Cookie: s={OPAQUE}\nAuthorization: Bearer {JWT}\naccess_token={OPAQUE} code: x"
    once = redact(text)
    assert redact(once) == once
    assert OPAQUE not in once
    assert JWT not in once


def test_harmless_pair_does_not_hide_a_secret_after_it() -> None:
    masked = redact(f"url=https://app/cb?code={OPAQUE[:10]}")
    assert OPAQUE[:10] not in masked


@pytest.mark.parametrize("n", range(200))
def test_random_tokens_of_realistic_size_are_masked(n: int) -> None:
    for token in (
        secrets.token_urlsafe(32),
        secrets.token_hex(16),
        base64.b64encode(secrets.token_bytes(48)).decode(),
    ):
        assert token not in redact(f"value {token} seen"), n


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("access_token", True),
        ("accessToken", True),
        ("refresh_token", True),
        ("id_token", True),
        ("client_secret", True),
        ("password", True),
        ("api_key", True),
        ("X-Api-Key", True),
        ("Set-Cookie", True),
        ("cookie", True),
        ("Authorization", True),
        ("code", True),
        ("authorization_code", True),
        ("assertion", True),
        ("SAMLResponse", True),
        ("authData", True),
        ("auth_data", True),
        ("session", True),
        ("status_code", False),
        ("error_code", False),
        ("monkey", False),
        ("user_id", False),
        ("roles", False),
        ("custom_data", False),
        ("return_to", False),
        ("author", False),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_mapping_masks_secret_keys_recursively() -> None:
    data: dict[str, object] = {
        "userId": "u1",
        "authData": {"access_token": OPAQUE},
        "custom_data": {"company": "Acme", "api_key": "k1"},
        "headers": [{"Authorization": f"Bearer {JWT}"}, ("x", f"Bearer {OPAQUE}")],
        "note": f"saw {JWT}",
        "raw": b"bytes are opaque",
        "count": 3,
        "code": None,
    }
    out = redact_mapping(data)
    assert out["userId"] == "u1"
    assert out["authData"] == REDACTED
    assert out["custom_data"] == {"company": "Acme", "api_key": REDACTED}
    assert out["headers"] == [{"Authorization": REDACTED}, ["x", "Bearer [redacted]"]]
    assert out["note"] == "saw [redacted]"
    assert out["raw"] == REDACTED
    assert out["count"] == 3
    assert out["code"] == REDACTED
    assert OPAQUE not in repr(out)
    assert JWT not in repr(out)
    assert data["authData"] == {"access_token": OPAQUE}  # the input is not modified


def test_summarize_user_shows_only_id_type_and_roles() -> None:
    user: AuthenticatedUser[dict[str, str], dict[str, str]] = AuthenticatedUser(
        user_id="ada\nFAKE LOG LINE",
        first_name="Ada",
        last_name="Lovelace",
        user_type="external-user",
        roles=("pika:content-admin",),
        custom_data={"company": "Analytical Engines"},
        auth_data={"access_token": OPAQUE},
        features=("history",),
    )
    summary = summarize_user(user)
    assert summary == ("user='ada\\nFAKE LOG LINE' type=external-user roles=['pika:content-admin']")
    assert "\n" not in summary
    for hidden in ("Ada", "Lovelace", "Analytical", OPAQUE, "history"):
        assert hidden not in summary.replace("'ada", "")


@pytest.fixture
def authplug_logger() -> Iterator[logging.Logger]:
    logger = install_redaction()
    try:
        yield logger
    finally:
        logger.filters = [f for f in logger.filters if not isinstance(f, RedactingFilter)]
        logger.handlers = []


def test_filter_redacts_messages_args_and_tracebacks(
    authplug_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    authplug_logger.info("callback with code=%s and %s", OPAQUE[:10], f"Bearer {JWT}")
    logging.getLogger("authplug.lifecycle.deep").debug("cookie header: Cookie: s=%s", OPAQUE)
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        logging.getLogger("authplug.hooks").exception("hook failed")
    text = caplog.text
    assert "code=[redacted]" in text
    assert "hook failed" in text
    assert "ValueError: bad token [redacted]" in text
    for secret in (OPAQUE, OPAQUE[:10], JWT):
        assert secret not in text
    for record in caplog.records:
        assert record.args is None
        assert JWT not in (record.exc_text or "")


def test_install_redaction_is_idempotent(authplug_logger: logging.Logger) -> None:
    install_redaction()
    install_redaction()
    assert sum(isinstance(f, RedactingFilter) for f in authplug_logger.filters) == 1
    assert len(authplug_logger.handlers) == 1


def test_other_loggers_are_untouched(
    authplug_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("someapp").info("token=%s", "visible")
    assert "token=visible" in caplog.text


def test_filter_survives_a_bad_format_string(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("authplug", logging.INFO, __file__, 1, "%d %s", ("x",), None)
    assert RedactingFilter().filter(record) is True
    assert record.args is None
    assert isinstance(record.msg, str)


def test_last_resort_still_reports_warnings_when_logging_is_unconfigured(
    authplug_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        logging.getLogger("authplug.x").warning("password=%s", "hunter2")
    finally:
        root.handlers = saved
    err = capsys.readouterr().err
    assert "password=[redacted]" in err
    assert "hunter2" not in err

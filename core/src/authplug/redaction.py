"""The one place secrets are redacted before anything reaches a log.

:func:`redact` masks, in free text:

* JWT-looking strings (``eyJ...``, with or without their dots);
* credentials after an auth scheme (``Bearer ...``, ``Basic ...``) and whole
  ``Authorization:`` header values;
* every cookie value in ``Cookie:`` and the cookie value of ``Set-Cookie:``;
* ``key=value`` / ``key: value`` / ``"key": "value"`` pairs whose key looks
  secret (token, secret, password, key, cookie, authorization, code,
  assertion, SAMLResponse, session, credential, ...);
* long opaque runs: base64url or hex of 20+ characters that are not plain
  identifiers (UUIDs and ``snake_case``/``CamelCase`` words are kept), and
  standard base64 of 40+ characters.

:func:`redact_mapping` does the same for structured data, :func:`summarize_user`
describes a user without anything secret, and :func:`install_redaction` puts
:class:`RedactingFilter` on the ``authplug`` logger so every record logged by
authplug (or its plugins under ``authplug.*``) is redacted before any handler
above it formats it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "install_redaction",
    "is_secret_key",
    "redact",
    "redact_mapping",
    "summarize_user",
]

REDACTED = "[redacted]"
"""What a masked secret is replaced with."""

_SECRET_WORDS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "key",
        "keys",
        "cookie",
        "cookies",
        "authorization",
        "auth",
        "code",
        "assertion",
        "credential",
        "credentials",
        "session",
        "sid",
        "csrf",
        "xsrf",
        "otp",
        "verifier",
        "signature",
        "jwt",
        "bearer",
    }
)
_SECRET_JOINED = frozenset(
    {"samlresponse", "samlrequest", "apikey", "xapikey", "setcookie", "jsessionid", "phpsessid"}
)
_SECRET_FRAGMENTS = ("token", "secret", "passw", "cookie", "assertion", "credential")
_BENIGN_CODE_PREFIXES = frozenset(
    {
        "status",
        "error",
        "http",
        "exit",
        "response",
        "return",
        "reason",
        "country",
        "zip",
        "postal",
        "currency",
        "language",
        "lang",
        "locale",
        "region",
        "area",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret_key(key: str) -> bool:
    """Whether a field, header, cookie or parameter called ``key`` holds a secret.

    ``key`` is split into words (``access_token``, ``accessToken``,
    ``X-Api-Key``); any secret word makes it secret. ``code`` is secret
    (OAuth codes) except after a benign word (``status_code``, ``error_code``).
    """
    words = [w.lower() for w in _WORD.findall(key)]
    joined = "".join(words)
    if joined in _SECRET_JOINED or any(f in joined for f in _SECRET_FRAGMENTS):
        return True
    for index, word in enumerate(words):
        if word == "code" and index > 0 and words[index - 1] in _BENIGN_CODE_PREFIXES:
            continue
        if word in _SECRET_WORDS:
            return True
    return False


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){0,4}")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization)([\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])([^\s\"',;][^\r\n\"',;]*)"
)
_SCHEME = re.compile(
    r"(?i)\b(bearer|basic|digest|negotiate|dpop)(\s+)(?!\[redacted\])([A-Za-z0-9._~+/=-]+)"
)
_COOKIE_HEADER = re.compile(r"(?i)\b(set-cookie|cookie)(\s*:\s*)([^\r\n\"']*)")
_COOKIE_PAIR = re.compile(r"([^\s=;,]+)=([^;,\s]*)")
_SET_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "partitioned"}
)
_PAIR = re.compile(
    r"(?P<q>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P=q)"
    r"(?P<sep>\s*[:=]\s*)"
    r"(?=(?P<value>\"[^\"]*\"|'[^']*'|[^\s&,;\"'<>()\[\]{}]+))"
)
_PREVIOUS_WORD = re.compile(r"([A-Za-z]+)[\s_-]+$")
_RUN = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{20,}={0,2}(?![A-Za-z0-9_\-])")
_STD_B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SCREAMING_SNAKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_VOWELS = frozenset("aeiouyAEIOUY")
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5,}")


def _wordlike(segment: str) -> bool:
    """A digit group of up to 4, an acronym of up to 5 capitals, or a word with a vowel.

    A lower-case word needs two letters; a capitalised one may be short ("To").
    Five consonants in a row ("Fnqcxv") is not a word ("strengths" is the rare
    exception and gets masked).
    """
    if segment.isdigit():
        return len(segment) <= 4
    if segment.isupper():
        return len(segment) <= 5
    if _CONSONANTS.search(segment):
        return False
    if segment[0].isupper():
        return any(ch in _VOWELS for ch in segment)  # "To", "Id", "Error"
    return len(segment) >= 2 and any(ch in _VOWELS for ch in segment)


def _looks_like_identifier(run: str) -> bool:
    """Words joined by ``_``/``-`` or CamelCase: ``ForceUserToReauthenticate``, ``sqlite3_file``.

    Random base64 and hex switch between upper case, lower case and digits
    every couple of characters and string consonants together, so they split
    into short or vowel-less segments; an identifier splits into words.
    """
    if run.endswith("="):
        return False
    if _HEX.fullmatch(run) and not run.isalpha():
        return False
    has_digit = any(ch.isdigit() for ch in run)
    if has_digit and any(ch.isupper() for ch in run) and any(ch.islower() for ch in run):
        return False  # "oauth2ClientCredentials" is masked too: a small price
    if _SCREAMING_SNAKE.fullmatch(run):
        return all(p.isdigit() or set(p) & _VOWELS for p in run.split("_"))
    segments = _SEGMENT.findall(run)
    if not segments or not all(_wordlike(segment) for segment in segments):
        return False
    return sum(len(segment) for segment in segments) / len(segments) >= 3


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _UUID.fullmatch(run) or _looks_like_identifier(run):
        return run
    return REDACTED


def _mask_std_b64(match: re.Match[str]) -> str:
    run = match.group(0)
    pieces = [p for p in re.split(r"[/+]", run.rstrip("=")) if p]
    if all(len(p) < 8 or p.isdigit() or _looks_like_identifier(p) for p in pieces):
        return run
    return REDACTED


def _mask_cookie_header(match: re.Match[str]) -> str:
    name, sep, value = match.groups()
    is_set_cookie = name.lower() == "set-cookie"
    first = True

    def mask_pair(pair: re.Match[str]) -> str:
        nonlocal first
        cookie_name = pair.group(1)
        keep = is_set_cookie and not first and cookie_name.lower() in _SET_COOKIE_ATTRIBUTES
        first = False
        return pair.group(0) if keep else f"{cookie_name}={REDACTED}"

    return f"{name}{sep}{_COOKIE_PAIR.sub(mask_pair, value)}"


def _code_after_benign_word(text: str, key: str, start: int) -> bool:
    """``status code: 200``: the word before a bare ``code`` key makes it harmless."""
    if key.lower() != "code":
        return False
    previous = _PREVIOUS_WORD.search(text[max(0, start - 40) : start])
    return previous is not None and previous.group(1).lower() in _BENIGN_CODE_PREFIXES


def _mask_pairs(text: str) -> str:
    """Mask the values of ``key=value`` pairs whose key is secret.

    Values are matched in a lookahead, so a harmless pair never swallows the
    text after it (``https://host/cb?code=...`` still finds ``code``).
    """
    out: list[str] = []
    last = 0
    for match in _PAIR.finditer(text):
        if match.start() < last:
            continue
        key = match.group("key")
        start, end = match.span("value")
        value = match.group("value")
        if REDACTED in value or not is_secret_key(key):
            continue
        if key.lower() in ("cookie", "set-cookie") and f"={REDACTED}" in text[start : end + 12]:
            continue  # a header the cookie rule has already masked
        if _code_after_benign_word(text, key, match.start()):
            continue
        quote = value[0] if value[:1] in ("'", '"') else ""
        out.append(text[last:start])
        out.append(f"{quote}{REDACTED}{quote}")
        last = end
    out.append(text[last:])
    return "".join(out)


def _mask_scheme(match: re.Match[str]) -> str:
    scheme, space, credential = match.groups()
    if scheme.lower() not in ("bearer", "dpop") and _looks_like_identifier(credential):
        return match.group(0)  # "Basic authentication", "Negotiate support": prose
    return f"{scheme}{space}{REDACTED}"


def _mask_auth_header(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def redact(text: str) -> str:
    """Return ``text`` with every secret-looking part replaced by ``[redacted]``.

    Ordinary prose, paths, URLs without credentials, identifiers, numbers and
    UUIDs are kept. Applying it twice changes nothing more.
    """
    text = _COOKIE_HEADER.sub(_mask_cookie_header, text)
    text = _AUTH_HEADER.sub(_mask_auth_header, text)
    text = _SCHEME.sub(_mask_scheme, text)
    text = _mask_pairs(text)
    text = _JWT.sub(REDACTED, text)
    text = _STD_B64.sub(_mask_std_b64, text)
    return _RUN.sub(_mask_run, text)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):
        return REDACTED
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return value


def redact_mapping(mapping: Mapping[str, object]) -> dict[str, object]:
    """Return a copy of ``mapping`` safe to log.

    Values under secret-looking keys (see :func:`is_secret_key`) become
    ``"[redacted]"`` whatever they are; other strings go through
    :func:`redact`; nested mappings and sequences are handled recursively;
    bytes are always masked. Keys are kept (as strings).
    """
    out: dict[str, object] = {}
    for key, value in mapping.items():
        name = str(key)
        out[name] = REDACTED if is_secret_key(name) else _redact_value(value)
    return out


class _UserLike(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def user_type(self) -> str: ...

    @property
    def roles(self) -> Sequence[str]: ...


def summarize_user(user: _UserLike) -> str:
    """Describe ``user`` for a log line: id, type and roles only.

    Names, custom data and auth data are left out; the id is quoted with
    ``repr`` so control characters cannot forge log lines.
    """
    roles = ",".join(repr(role) for role in user.roles)
    return f"user={user.user_id!r} type={user.user_type} roles=[{roles}]"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message, arguments and traceback.

    The formatted message replaces ``msg`` and ``args`` is cleared, so a
    handler's formatter sees only redacted text; exception and stack text
    are formatted and redacted up front. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and keep it."""
        if getattr(record, "_authplug_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._authplug_redacted = True
        return True


class _RedactionHandler(logging.Handler):
    """Emits nothing: it exists so its filter runs on records from child loggers.

    Logger filters only see records logged on that very logger; handlers see
    every record propagating through. Installed on ``authplug``, this redacts
    records from ``authplug.*`` before the root logger's handlers format them.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Emit nothing, unless no other handler will: then act as ``logging.lastResort``.

        Without this, merely installing redaction would silence the warnings
        Python prints to stderr when an application configured no logging.
        """
        if logging.lastResort is None or record.levelno < logging.lastResort.level:
            return
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(not isinstance(h, _RedactionHandler) for h in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        logging.lastResort.handle(record)


def install_redaction(logger_name: str = "authplug") -> logging.Logger:
    """Redact every record logged on ``logger_name`` and its children.

    Adds a :class:`RedactingFilter` to the logger itself and a handler that
    emits nothing but carries the filter, so records from child loggers are
    redacted as they propagate. Idempotent. Returns the logger.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    if not any(isinstance(h, _RedactionHandler) for h in logger.handlers):
        handler = _RedactionHandler()
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
    return logger

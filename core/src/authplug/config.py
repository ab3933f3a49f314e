"""Configuration: one pydantic-validated place, from a file and the environment.

Sources, later ones winning:

1. defaults;
2. ``authplug.toml`` in the working directory (or the file named by
   ``AUTHPLUG_CONFIG``), or the ``[tool.authplug]`` table of ``pyproject.toml``;
3. environment variables: ``AUTHPLUG_<FIELD>`` for top-level fields and
   ``AUTHPLUG_<SECTION>__<KEY>`` for a section's key (``AUTHPLUG_OAUTH__CLIENT_ID``);
   ``DEBUG_AUTH=true`` is an alias of ``AUTHPLUG_DEBUG=1``;
4. explicit arguments to :func:`authplug.load`.

Top-level tables named after a provider (``[jwt]``, ``[mock]``) hold that
provider's settings, validated by the provider's own model when it is loaded.
Unknown keys are errors naming their path; values of secret fields are never
echoed in errors.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from authplug.errors import ConfigError
from authplug.models import UserType

__all__ = [
    "AccessRuleConfig",
    "AuthplugConfig",
    "ConfigReading",
    "ConfigSource",
    "collect_config",
    "core_rule_problems",
    "decode_cookie_key",
    "did_you_mean",
    "format_validation_error",
    "read_config",
]

ENV_PREFIX = "AUTHPLUG_"
_NON_FIELD_ENV = {"AUTHPLUG_CONFIG"}
_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}
_WEAK_KEY_WORDS = (b"changeme", b"secret", b"password")


def decode_cookie_key(text: str) -> bytes:
    """Decode one cookie key (URL-safe base64 of 32 random bytes, as ``authplug keygen`` prints).

    :raises ValueError: not base64, not 32 bytes, or an obviously weak value.
        The message never contains the key.
    """
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not URL-safe base64 (generate one with `authplug keygen`)") from None
    if len(key) != 32:
        raise ValueError(
            f"decodes to {len(key)} bytes, need 32 (generate one with `authplug keygen`)"
        )
    if len(set(key)) < 8 or any(word in key.lower() for word in _WEAK_KEY_WORDS):
        raise ValueError("is too weak (generate one with `authplug keygen`)")
    return key


class AccessRuleConfig(BaseModel):
    """An access rule for a path prefix.

    ``roles`` and ``user_types`` name what may enter; with ``require = "any"``
    (the default) holding one of the roles *or* being one of the user types is
    enough, with ``require = "all"`` the user must hold every role *and* be of
    one of the listed types. A rule that names nothing denies everyone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(pattern=r"^/")
    roles: list[str] = Field(default_factory=list)
    user_types: list[UserType] = Field(default_factory=list)
    require: Literal["any", "all"] = "any"


Seconds = Annotated[int, Field(gt=0, le=10 * 365 * 24 * 3600)]

_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
"""A lower-case DNS name of two labels or more (``example.com``, ``a.b-c.example``)."""


class AuthplugConfig(BaseModel):
    """The validated core configuration.

    Attributes:
        provider: Name of the provider entry point to load (``mock``, ``oauth``,
            ``saml``, ``jwt`` or a third party's).
        env: ``development`` or ``production``. Production refuses the mock
            provider, ephemeral cookie keys and insecure cookies.
        debug: Log each lifecycle step (secrets redacted). Env
            ``AUTHPLUG_DEBUG=1`` or ``DEBUG_AUTH=true``.
        cookie_keys: Cookie encryption keys, newest first: the first encrypts,
            all decrypt (rotation). Empty in development means one ephemeral
            key per process.
        cookie_name: Base name of the session cookie (``__Host-`` is prefixed
            when cookies are secure).
        cookie_secure: Force ``Secure``/``__Host-`` cookies on or off; default:
            on in production, off in development (plain-HTTP localhost).
        cookie_domain: Share the session cookie with sub-domains: its
            ``Domain`` attribute (``example.com``: sent to ``example.com`` and
            every ``*.example.com``). ``None`` (the default) keeps it
            host-only. Since ``__Host-`` forbids ``Domain``, a secure session
            cookie is then named ``__Secure-<cookie_name>``; flow cookies stay
            host-only. Refused in production with ``cookie_secure = false``.
        max_cookie_chunks: Most cookies one session may span before login
            fails with ``SessionTooLargeError``.
        idle_timeout: Seconds without a request after which a session ends.
        absolute_lifetime: Seconds after login after which a session ends.
        validate_interval: Seconds between two ``authplug_validate`` calls for
            one session.
        refresh_margin: Tokens expiring within this many seconds are refreshed.
        revocation_capacity: Most revoked session ids one process keeps in
            memory (checked on every request); the store keeps them all.
        session_cache_size: Most recently opened session cookies one process
            remembers, so a cookie sent again is not decrypted again; also
            bounds the Cookie headers remembered as valid and the stateless
            providers' remembered answers (0: all three off).
        flow_lifetime: Seconds a login transaction (flow cookie) stays valid.
        public_paths: Paths that pass untouched (exact, or a prefix at a ``/``).
        default_redirect: Where a browser lands after login without a
            ``return_to`` (a same-origin path).
        access: Access rules by path prefix (deny by default per rule).
        store: Name of the user store entry point (``sqlite``, ``memory``).
        store_options: Options for the store (``path`` for sqlite, ``dsn``
            for postgres).
        coordination: How the processes of one deployment coordinate
            refreshes and revocations: ``inprocess`` (one process, the
            default), ``sqlite`` (one machine), ``postgres`` or ``redis``
            (many machines). See :mod:`authplug.coordination`.
        coordination_options: Options for the coordination backend (``url``
            for redis, ``dsn`` for postgres, ``path`` for sqlite, ``lease_ttl``).
        failure_policy: What a session whose validation is due does while the
            store or the coordination backend is down: ``fail_closed`` (503
            until it is back, the default) or ``stay_available`` (keep the
            session working on what this process knows). New logins always
            get a 503 naming the backend.
        plugins_disabled: Extension plugins (``authplug.plugins`` names) not to load.
        sections: Provider and plugin settings tables, by name; validated by
            their own models when loaded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(default="mock", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    env: Literal["development", "production"] = "development"
    debug: StrictBool = False
    cookie_keys: list[SecretStr] = Field(default_factory=list)
    cookie_name: str = Field(default="authplug_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    cookie_secure: StrictBool | None = None
    cookie_domain: str | None = None
    max_cookie_chunks: int = Field(default=5, ge=1, le=20)
    idle_timeout: Seconds = 8 * 3600
    absolute_lifetime: Seconds = 7 * 24 * 3600
    validate_interval: Seconds = 300
    refresh_margin: int = Field(default=60, ge=0, le=3600)
    revocation_capacity: int = Field(default=100_000, ge=1, le=10_000_000)
    session_cache_size: int = Field(default=2048, ge=0, le=1_000_000)
    flow_lifetime: Seconds = Field(default=600, le=3600)
    public_paths: list[str] = Field(default_factory=lambda: ["/login", "/static/"])
    default_redirect: str = "/"
    access: list[AccessRuleConfig] = Field(default_factory=list)
    store: str = Field(default="sqlite", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    store_options: dict[str, str | int | bool] = Field(default_factory=dict)
    coordination: str = Field(default="inprocess", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    coordination_options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    failure_policy: Literal["fail_closed", "stay_available"] = "fail_closed"
    plugins_disabled: list[str] = Field(default_factory=list)
    sections: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("cookie_keys")
    @classmethod
    def _check_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        seen: set[bytes] = set()
        for index, key in enumerate(keys):
            try:
                raw = decode_cookie_key(key.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"key #{index + 1} {exc}") from None
            if raw in seen:
                raise ValueError(f"key #{index + 1} repeats an earlier key")
            seen.add(raw)
        return keys

    @field_validator("cookie_domain")
    @classmethod
    def _check_cookie_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = value.strip().lower().removeprefix(".")
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(
                f"{value!r} is not a domain name: give the bare domain the session cookie is "
                "shared under (example.com), without scheme, port, path or wildcard"
            )
        if domain.rsplit(".", 1)[-1].isdigit():
            raise ValueError(
                f"{value!r} is an IP address: cookies cannot be shared across sub-domains of "
                "an address; leave cookie_domain unset"
            )
        return domain

    @field_validator("public_paths")
    @classmethod
    def _check_public_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"{path!r} must start with '/'")
            if path == "/" or path.startswith("/auth"):
                raise ValueError(f"{path!r} cannot be public (it would expose everything)")
        return paths

    @field_validator("default_redirect")
    @classmethod
    def _check_default_redirect(cls, value: str) -> str:
        if not value.startswith("/") or value.startswith(("//", "/\\")):
            raise ValueError("must be a same-origin path starting with a single '/'")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> AuthplugConfig:
        problems = core_rule_problems(self.__dict__)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are ``Secure`` and carry a ``__Host-``/``__Secure-`` prefix."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == "production"

    def section(self, name: str) -> dict[str, Any]:
        """The settings table called ``name`` (empty when absent)."""
        return dict(self.sections.get(name, {}))


_FIELDS = frozenset(AuthplugConfig.model_fields) - {"sections"}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def core_rule_problems(values: Mapping[str, Any]) -> list[str]:
    """The core's cross-field rules, each as ``path: message``.

    ``values`` may be raw (not yet validated) settings: a rule is checked when
    the values it needs are usable, so a production rule is reported even when
    an unrelated setting is also wrong.
    """
    problems: list[str] = []
    fields = AuthplugConfig.model_fields
    idle = values.get("idle_timeout", fields["idle_timeout"].default)
    absolute = values.get("absolute_lifetime", fields["absolute_lifetime"].default)
    if _number(idle) and _number(absolute) and absolute < idle:
        problems.append("absolute_lifetime: must not be shorter than idle_timeout")
    # cookie_keys: required in production only for providers that set cookies,
    # which the config cannot know; the loader and the host check it
    # (authplug.session.keyring.KeyRing.from_config).
    if values.get("env") == "production" and values.get("cookie_secure") is False:
        if values.get("cookie_domain") is not None:
            problems.append(
                "cookie_domain: production refuses cookie_domain together with "
                "cookie_secure = false: a session cookie shared with every sub-domain must at "
                "least be Secure (__Secure- prefix); remove cookie_secure = false"
            )
        else:
            problems.append(
                "cookie_secure: production refuses insecure cookies (cookie_secure = false)"
            )
    return problems


@dataclass(frozen=True)
class ConfigSource:
    """Where the configuration came from, for ``authplug check`` and errors."""

    file: Path | None
    env_keys: tuple[str, ...]
    env_sections: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    def section_settings(
        self, name: str, config: AuthplugConfig | ConfigReading, model: type[BaseModel]
    ) -> dict[str, Any]:
        """The raw settings of section ``name``: the file's, overlaid by converted env values.

        :raises ConfigError: an env variable names a key ``model`` does not have.
        """
        data = config.section(name)
        problems: list[str] = []
        for key, (var, value) in self.env_sections.get(name, {}).items():
            try:
                _set_env_key(data, model, key.split("__"), value, var, name)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return data


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` for the closest candidate, or ``""`` when none is close."""
    close = difflib.get_close_matches(word.lower(), sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    target = _unwrap(annotation)
    return target if isinstance(target, type) and issubclass(target, BaseModel) else None


def _set_env_key(
    data: dict[str, Any],
    model: type[BaseModel],
    path: list[str],
    value: str,
    var: str,
    section: str,
) -> None:
    """Put env ``value`` at ``path`` (``claims__roles`` -> ``data["claims"]["roles"]``).

    :raises ConfigError: a step of ``path`` names no setting (with the closest one).
    """
    key, rest = path[0], path[1:]
    field = model.model_fields.get(key)
    where = f"[{section}]"
    if field is None:
        raise ConfigError(
            f"{var}: unknown setting {key!r} for {where}{did_you_mean(key, model.model_fields)}"
        )
    if not rest:
        data[key] = coerce_env_value(value, field.annotation, var)
        return
    nested = _model_of(field.annotation)
    if nested is None:
        raise ConfigError(f"{var}: {key!r} in {where} has no nested settings")
    inner = data.get(key)
    inner = dict(inner) if isinstance(inner, Mapping) else {}
    _set_env_key(inner, nested, rest, value, var, f"{section}.{key}")
    data[key] = inner


def _find_file(cwd: Path, environ: Mapping[str, str]) -> tuple[Path | None, dict[str, Any]]:
    explicit = environ.get("AUTHPLUG_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"AUTHPLUG_CONFIG: file {str(path)!r} does not exist")
        return path, _read_toml(path, table=None)
    path = cwd / "authplug.toml"
    if path.is_file():
        return path, _read_toml(path, table=None)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject, table=("tool", "authplug"))
        if data:
            return pyproject, data
    return None, {}


def _read_toml(path: Path, table: tuple[str, ...] | None) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    for name in table or ():
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{'.'.join(table or ())}] must be a table")
        data = value
    return data


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` to reach the type an env string must become."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----", re.DOTALL)


def _env_kinds(annotation: Any) -> set[str]:
    """What shapes a field accepts: ``bool``, ``list``, ``table`` (dict or model), ``scalar``."""
    target = _unwrap(annotation)
    origin = typing.get_origin(target)
    if origin in (typing.Union, types.UnionType):
        kinds: set[str] = set()
        for arg in typing.get_args(target):
            if arg is not type(None):
                kinds |= _env_kinds(arg)
        return kinds
    if target is bool:
        return {"bool"}
    if (origin or target) in (list, set, frozenset, tuple):
        return {"list"}
    if (origin or target) is dict or (isinstance(target, type) and issubclass(target, BaseModel)):
        return {"table"}
    return {"scalar"}


def coerce_env_value(value: str, annotation: Any, name: str) -> Any:
    """Turn an environment string into the shape a field of type ``annotation`` takes.

    One rule for every field, core or provider:

    * booleans accept ``1/0/true/false/yes/no/on/off`` only;
    * a field that takes a list or a table (a mapping or a model), including a
      union with such a branch, accepts JSON (``["a","b"]``, ``{"k":"v"}``);
    * a list field also accepts one or more bare PEM blocks (each becomes one
      element) or, otherwise, comma-separated text;
    * a field that takes only a table requires JSON;
    * everything else is passed as the string for pydantic to convert.

    :raises ConfigError: invalid JSON, or JSON of a shape the field does not take.
    """
    kinds = _env_kinds(annotation)
    if kinds == {"bool"}:
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConfigError(f"{name}: expected a boolean (true/false), got something else")
    text = value.strip()
    structured = kinds & {"list", "table"}
    if structured and text[:1] in ("[", "{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{name}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
            ) from None
        if isinstance(parsed, list) and "list" in kinds:
            return parsed
        if isinstance(parsed, dict) and "table" in kinds:
            return parsed
        wanted = " or ".join(
            word
            for kind, word in (("list", "a JSON list"), ("table", "a JSON object"))
            if kind in kinds
        )
        raise ConfigError(f"{name}: expected {wanted}")
    if "scalar" in kinds or "bool" in kinds or not structured:
        return value
    if "list" in kinds:
        blocks = _PEM_BLOCK.findall(text)
        if blocks:
            return blocks
        return [part.strip() for part in text.split(",") if part.strip()]
    raise ConfigError(f'{name}: expected a JSON object (e.g. {{"key": "value"}})')


EnvSections = dict[str, dict[str, tuple[str, str]]]


def _env_overlay(
    environ: Mapping[str, str],
) -> tuple[dict[str, Any], EnvSections, list[str], list[str]]:
    """Split ``AUTHPLUG_*`` variables into top-level values and section values.

    Section values stay strings (with the variable's name) until the loader
    knows the section's settings model and can convert them.
    """
    overlay: dict[str, Any] = {}
    env_sections: EnvSections = {}
    used: list[str] = []
    problems: list[str] = []
    debug_alias = environ.get("DEBUG_AUTH")
    if debug_alias is not None:
        try:
            overlay["debug"] = coerce_env_value(debug_alias, bool, "DEBUG_AUTH")
            used.append("DEBUG_AUTH")
        except ConfigError as exc:
            problems.extend(exc.problems)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in _NON_FIELD_ENV:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        value = environ[name]
        used.append(name)
        if "__" in rest:
            section, _, key = rest.partition("__")
            if not section or not key:
                problems.append(f"{name}: expected AUTHPLUG_<SECTION>__<KEY>")
                continue
            if section in ("store_options", "coordination_options"):
                overlay.setdefault(section, {})[key] = value
                continue
            env_sections.setdefault(section, {})[key] = (name, value)
            continue
        if rest not in _FIELDS:
            problems.append(f"{name}: unknown setting{did_you_mean(rest, _FIELDS)}")
            continue
        try:
            overlay[rest] = coerce_env_value(
                value, AuthplugConfig.model_fields[rest].annotation, name
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
    return overlay, env_sections, used, problems


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


_BRANCH_WORDS = (
    (list, "a list"),
    (tuple, "a list"),
    (set, "a list"),
    (frozenset, "a list"),
    (dict, "a table"),
    (str, "a string"),
    (bool, "true or false"),
    (int, "a number"),
    (float, "a number"),
)


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _branches(annotation: Any) -> list[Any] | None:
    """The non-None members of a union of two or more types; ``None`` for anything else."""
    target = _strip(annotation)
    if typing.get_origin(target) not in (typing.Union, types.UnionType):
        return None
    members = [_strip(a) for a in typing.get_args(target) if a is not type(None)]
    if len(members) == 1:
        return _branches(members[0])
    return members


def _describe(annotation: Any) -> str:
    target = _strip(annotation)
    origin = typing.get_origin(target) or target
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return "a table"
    if typing.get_origin(target) is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(target))
    for kind, word in _BRANCH_WORDS:
        if origin is kind:
            return word
    return getattr(origin, "__name__", str(origin))


def _branch_for(tag: str, members: list[Any]) -> Any:
    """The union member pydantic's location tag (``list[str]``, ``dict[str,str]``) names."""
    for member in members:
        origin = typing.get_origin(member) or member
        name = getattr(origin, "__name__", "")
        if name and (tag == name or tag.startswith(f"{name}[")):
            return member
    return None


@dataclass
class _Located:
    path: list[str | int]
    union_at: int | None = None
    union_type: Any = None
    depth: int = 0
    parent: Any = None


def _locate(model: type[BaseModel] | None, loc: tuple[str | int, ...]) -> _Located:
    """Walk ``loc`` through ``model``'s types: drop union tags, remember where the union was."""
    found = _Located(path=[])
    annotation: Any = model
    for element in loc:
        members = _branches(annotation) if annotation is not None else None
        if members is not None and isinstance(element, str):
            if found.union_at is None:
                found.union_at, found.union_type = len(found.path), annotation
            annotation = _branch_for(element, members)
            continue
        target = _strip(annotation) if annotation is not None else None
        inner = _branches(target)
        if inner is None and target is not None:
            args = [a for a in typing.get_args(target) if a is not type(None)]
            if typing.get_origin(target) in (typing.Union, types.UnionType) and len(args) == 1:
                target = _strip(args[0])
        found.parent = target
        origin = typing.get_origin(target) or target
        if isinstance(origin, type) and issubclass(origin, BaseModel) and isinstance(element, str):
            field_info = origin.model_fields.get(element)
            annotation = field_info.annotation if field_info is not None else None
        elif origin in (list, tuple, set, frozenset) and isinstance(element, int):
            items = typing.get_args(target)
            annotation = items[0] if items else None
        elif origin is dict:
            items = typing.get_args(target)
            annotation = items[1] if len(items) == 2 else None
        else:
            annotation = None
        found.path.append(element)
        if found.union_at is not None:
            found.depth += 1
    return found


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        if message.startswith(noise):
            message = message[len(noise) :]
    return message


def format_validation_error(
    exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> list[str]:
    """Render pydantic errors as ``path: message`` lines, never echoing input values.

    With ``model`` (the model that raised), union member tags are removed
    from paths and a value no member accepts is one line ("expected a list or
    a table") instead of one line per member; an unknown key names the
    closest valid one. Model-level rules (``model_validator``) are reported
    under ``prefix`` (the section) without pydantic's ``Value error,`` text.
    """
    lines: list[str] = []
    unions: dict[tuple[str | int, ...], list[tuple[_Located, str]]] = {}
    section = prefix.rstrip(".")

    def render(path: list[str | int], message: str) -> str:
        if not path:
            return f"{section}: {message}" if section else message
        return f"{prefix}{'.'.join(str(p) for p in path)}: {message}"

    for error in exc.errors(include_url=False, include_input=False):
        found = _locate(model, tuple(error["loc"]))
        message = _message(error)
        if error["type"] == "extra_forbidden":
            key = str(found.path[-1]) if found.path else ""
            parent = found.parent
            known = (
                parent.model_fields
                if isinstance(parent, type) and issubclass(parent, BaseModel)
                else ()
            )
            message = f"unknown setting{did_you_mean(key, known)}"
        if found.union_at is not None:
            unions.setdefault(tuple(found.path[: found.union_at]), []).append((found, message))
            continue
        line = render(found.path, message)
        if line not in lines:
            lines.append(line)
    for base, entries in unions.items():
        deepest = max(found.depth for found, _ in entries)
        if deepest == 0:
            members = _branches(entries[0][0].union_type) or []
            words = list(dict.fromkeys(_describe(m) for m in members))
            lines.append(render(list(base), "expected " + " or ".join(words)))
            continue
        for found, message in entries:
            line = render(found.path, message)
            if found.depth == deepest and line not in lines:
                lines.append(line)
    return lines


@dataclass
class ConfigReading:
    """The configuration as read, with every problem found (nothing raised yet).

    The loader adds the problems of each plugin's section and of the
    production rules before reporting them all at once.

    Attributes:
        config: The validated core configuration, or ``None`` when it has problems.
        source: Where it came from.
        problems: Every problem found, as ``path: message`` lines.
        values: The merged raw values (file, environment, arguments).
    """

    config: AuthplugConfig | None
    source: ConfigSource
    problems: list[str]
    values: dict[str, Any]

    @property
    def provider(self) -> str | None:
        """The provider name asked for, when it is a usable name (even if other settings fail)."""
        if self.config is not None:
            return self.config.provider
        name = self.values.get("provider", AuthplugConfig.model_fields["provider"].default)
        return name if isinstance(name, str) and _NAME.fullmatch(name) else None

    @property
    def env(self) -> str:
        """``production`` or ``development`` (the default when the value is unusable)."""
        env = self.values.get("env")
        return "production" if env == "production" else "development"

    def section(self, name: str) -> dict[str, Any]:
        """The settings table called ``name`` (empty when absent or not a table)."""
        if self.config is not None:
            return self.config.section(name)
        sections = self.values.get("sections")
        table = sections.get(name) if isinstance(sections, Mapping) else None
        return dict(table) if isinstance(table, Mapping) else {}


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def collect_config(
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    known_sections: frozenset[str] = frozenset(),
) -> ConfigReading:
    """Read, merge and validate the core configuration, collecting every problem.

    Parameters as :func:`read_config`.

    :raises ConfigError: only when there is nothing to read (``AUTHPLUG_CONFIG``
        names a missing file, a file is not valid TOML).
    """
    environ = os.environ if environ is None else environ
    file, file_data = _find_file(cwd or Path.cwd(), environ)
    overlay, env_sections, used, problems = _env_overlay(environ)

    def split(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in _FIELDS or key == "sections":
                out[key] = value
            elif isinstance(value, Mapping):
                out.setdefault("sections", {})[key] = dict(value)
            else:
                problems.append(f"{origin}{key}: unknown setting{did_you_mean(key, _FIELDS)}")
        return out

    merged = _merge(split(file_data, ""), overlay)
    merged = _merge(merged, split(overrides or {}, ""))
    for section in sorted({*merged.get("sections", {}), *env_sections}):
        if known_sections and section not in known_sections:
            hint = did_you_mean(section, known_sections | _FIELDS)
            problems.append(
                f"{section}: unknown section{hint} (no installed provider or plugin is "
                f"called {section!r}; installed: {', '.join(sorted(known_sections)) or 'none'})"
            )
    source = ConfigSource(file=file, env_keys=tuple(used), env_sections=env_sections)
    config: AuthplugConfig | None = None
    try:
        config = AuthplugConfig.model_validate(merged)
    except ValidationError as exc:
        for line in format_validation_error(exc, model=AuthplugConfig):
            if line not in problems:
                problems.append(line)
        # Model rules run only when every field is valid: check them on the raw values too.
        for line in core_rule_problems(merged):
            if not any(line in p for p in problems):
                problems.append(line)
    return ConfigReading(
        config=config if not problems else None, source=source, problems=problems, values=merged
    )


def read_config(
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    known_sections: frozenset[str] = frozenset(),
) -> tuple[AuthplugConfig, ConfigSource]:
    """Read, merge and validate the core configuration.

    :param overrides: Explicit values (as :func:`authplug.load` keyword
        arguments), winning over everything. Provider settings go under their
        section name (``{"jwt": {...}}``).
    :param environ: The environment (default ``os.environ``).
    :param cwd: Where to look for ``authplug.toml``/``pyproject.toml``.
    :param known_sections: Names a top-level table may have (installed
        provider, plugin names); any other table is an unknown key.
    :raises ConfigError: listing every problem found.
    """
    reading = collect_config(
        overrides=overrides, environ=environ, cwd=cwd, known_sections=known_sections
    )
    if reading.config is None:
        raise ConfigError(reading.problems)
    return reading.config, reading.source

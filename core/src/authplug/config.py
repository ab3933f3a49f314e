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
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
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
    "ConfigSource",
    "decode_cookie_key",
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
            remembers, so a cookie sent again is not decrypted again (0: off).
        flow_lifetime: Seconds a login transaction (flow cookie) stays valid.
        public_paths: Paths that pass untouched (exact, or a prefix at a ``/``).
        default_redirect: Where a browser lands after login without a
            ``return_to`` (a same-origin path).
        access: Access rules by path prefix (deny by default per rule).
        store: Name of the user store entry point (``sqlite``, ``memory``).
        store_options: Options for the store (``path`` for sqlite).
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
        if self.absolute_lifetime < self.idle_timeout:
            raise ValueError("absolute_lifetime must not be shorter than idle_timeout")
        # cookie_keys: required in production only for providers that set
        # cookies, which the config cannot know; the host checks it
        # (authplug.session.keyring.KeyRing.from_config).
        if self.env == "production" and self.cookie_secure is False:
            raise ValueError("production refuses insecure cookies (cookie_secure = false)")
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies get ``Secure`` and the ``__Host-`` prefix."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == "production"

    def section(self, name: str) -> dict[str, Any]:
        """The settings table called ``name`` (empty when absent)."""
        return dict(self.sections.get(name, {}))


_FIELDS = frozenset(AuthplugConfig.model_fields) - {"sections"}


@dataclass(frozen=True)
class ConfigSource:
    """Where the configuration came from, for ``authplug check`` and errors."""

    file: Path | None
    env_keys: tuple[str, ...]
    env_sections: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    def section_settings(
        self, name: str, config: AuthplugConfig, model: type[BaseModel]
    ) -> dict[str, Any]:
        """The raw settings of section ``name``: the file's, overlaid by converted env values.

        :raises ConfigError: an env variable names a key ``model`` does not have.
        """
        data = config.section(name)
        problems = []
        for key, (var, value) in self.env_sections.get(name, {}).items():
            field = model.model_fields.get(key)
            if field is None:
                problems.append(f"{var}: unknown setting for [{name}]")
                continue
            try:
                data[key] = coerce_env_value(value, field.annotation, var)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return data


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


def coerce_env_value(value: str, annotation: Any, name: str) -> Any:
    """Turn an environment string into the shape a field of type ``annotation`` takes.

    Booleans accept ``1/0/true/false/yes/no/on/off`` only; list-like fields
    accept JSON (``["a","b"]``) or comma-separated text; mappings accept JSON.
    Everything else is passed as the string for pydantic to convert.
    """
    target = _unwrap(annotation)
    origin = typing.get_origin(target) or target
    if target is bool:
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConfigError(f"{name}: expected a boolean (true/false), got something else")
    if origin in (list, set, frozenset, tuple):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ConfigError(f"{name}: not a valid JSON list") from None
        return [part.strip() for part in text.split(",") if part.strip()]
    if origin is dict or (isinstance(origin, type) and issubclass(origin, BaseModel)):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(f"{name}: not a valid JSON object") from None
    return value


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
            if section == "store_options":
                overlay.setdefault("store_options", {})[key] = value
                continue
            env_sections.setdefault(section, {})[key] = (name, value)
            continue
        if rest not in _FIELDS:
            problems.append(
                f"{name}: unknown setting (top-level settings: {', '.join(sorted(_FIELDS))})"
            )
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


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """Render pydantic errors as ``path: message`` lines, never echoing input values."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{prefix}{path}: {message}")
    return lines


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
                problems.append(f"{origin}{key}: unknown setting")
        return out

    merged = _merge(split(file_data, ""), overlay)
    merged = _merge(merged, split(overrides or {}, ""))
    for section in {*merged.get("sections", {}), *env_sections}:
        if known_sections and section not in known_sections:
            problems.append(
                f"{section}: unknown section (no installed provider or plugin is called "
                f"{section!r}; installed: {', '.join(sorted(known_sections)) or 'none'})"
            )
    try:
        config = AuthplugConfig.model_validate(merged)
    except ValidationError as exc:
        problems.extend(format_validation_error(exc))
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config, ConfigSource(file=file, env_keys=tuple(used), env_sections=env_sections)

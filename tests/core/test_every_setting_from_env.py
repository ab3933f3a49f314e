"""Every field of every first-party settings model can be set from the environment.

The models are discovered, not listed: the core's :class:`AuthplugConfig` and
the ``settings_model`` of every installed ``authplug.providers`` entry point
(the mock, jwt, and any provider distribution added later), including nested
models (``AUTHPLUG_JWT__CLAIMS__ROLES``). Each field is set through its
``AUTHPLUG_*`` variable on top of a minimal valid environment, loaded the way
an application loads (``authplug.load``), and must arrive with the value the
same data gives through Python. Values are built from the field's type and
name (keys and files generated here); a field the builders do not know how to
fill fails this test by name, so a new setting cannot slip through untested.
"""

from __future__ import annotations

import base64
import importlib.metadata as md
import json
import secrets
import shutil
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from types import UnionType
from typing import Any, Literal

import annotated_types
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

import authplug
from authplug.config import AuthplugConfig
from authplug.errors import ConfigError
from authplug.loader import load_config
from authplug.stores.memory import MemoryUserStore

CORE = "core"


# --- values that need generated material -------------------------------------------------


@dataclass
class Material:
    """Keys and files generated once per test, and the folder they live in."""

    folder: Path
    pem: str = ""
    pem2: str = ""
    jwk: dict[str, Any] = field(default_factory=dict)
    saml: dict[str, str] = field(default_factory=dict)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    @classmethod
    def make(cls, folder: Path) -> Material:
        keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
        pems = [
            k.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
            for k in keys
        ]
        numbers = keys[0].public_key().public_numbers()

        def b64(n: int) -> str:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        jwk = {"kty": "RSA", "kid": "env-kid", "alg": "RS256", "use": "sig",
               "n": b64(numbers.n), "e": b64(numbers.e)}  # fmt: skip
        return cls(folder=folder, pem=pems[0], pem2=pems[1], jwk=jwk)


SAML_IDP = "https://idp.env.example/metadata"


def _saml(m: Material) -> dict[str, str]:
    """IdP metadata (file, and served on 127.0.0.1) and an SP key pair, made once."""
    if m.saml:
        return m.saml
    from authplug.sp_keypair import make_sp_keypair

    idp, sp = make_sp_keypair("env-idp", bits=2048), make_sp_keypair("env-sp", bits=2048)
    cert = "".join(idp.cert_pem.decode().strip().splitlines()[1:-1])
    md_ns, ds_ns = "urn:oasis:names:tc:SAML:2.0:metadata", "http://www.w3.org/2000/09/xmldsig#"
    xml = (
        f'<md:EntityDescriptor xmlns:md="{md_ns}" xmlns:ds="{ds_ns}" entityID="{SAML_IDP}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"'
        ' Location="https://idp.env.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    )
    (m.folder / "idp.xml").write_text(xml)
    (m.folder / "sp.key").write_bytes(sp.key_pem)
    (m.folder / "sp.crt").write_bytes(sp.cert_pem)
    body = xml.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    m.servers.append(server)
    m.saml.update(
        xml=xml,
        file=str(m.folder / "idp.xml"),
        url=f"http://127.0.0.1:{server.server_address[1]}/idp.xml",
        key=str(m.folder / "sp.key"),
        cert=str(m.folder / "sp.crt"),
    )
    return m.saml


def cookie_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


# A builder returns the Python value for the field, or (value, {other field: value}) when the
# field only validates together with other values (e.g. an HMAC secret needs HS algorithms).
Built = Any
Builder = Callable[[Material], Built]

BY_NAME: dict[tuple[str, str], Builder] = {
    # core
    (CORE, "env"): lambda m: ("production", {"cookie_keys": [cookie_key()]}),
    (CORE, "cookie_keys"): lambda m: [cookie_key(), cookie_key()],
    (CORE, "public_paths"): lambda m: ["/health", "/static/"],
    (CORE, "default_redirect"): lambda m: "/home",
    (CORE, "access"): lambda m: [{"path": "/admin", "roles": ["pika:content-admin"]}],
    (CORE, "store"): lambda m: "memory",
    (CORE, "store_options"): lambda m: {"path": str(m.folder / "users.sqlite3")},
    (CORE, "provider"): lambda m: "jwt",
    # mock
    ("mock", "users"): lambda m: [
        {"user_id": "env-user", "user_type": "external-user", "roles": ["env:role"]}
    ],
    ("mock", "trusted_proxies"): lambda m: ["127.0.0.1/32", "10.0.0.0/8"],
    # jwt
    ("jwt", "issuer"): lambda m: ["https://env-issuer.example/"],
    ("jwt", "audience"): lambda m: ["api://env"],
    ("jwt", "algorithms"): lambda m: ["PS256", "RS256"],
    ("jwt", "public_keys"): lambda m: [m.pem, m.pem2],
    ("jwt", "jwks"): lambda m: {"keys": [m.jwk]},
    ("jwt", "jwks_file"): lambda m: _jwks_file(m),
    ("jwt", "jwks_url"): lambda m: "https://env-issuer.example/.well-known/jwks.json",
    # oauth
    **{
        ("oauth", name): (lambda m, name=name: f"https://env-op.example/{name}")
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
            "revocation_endpoint",
            "redirect_uri",
            "post_logout_redirect_uri",
        )
    },
    ("oauth", "issuer"): lambda m: "https://env-op.example/realms/env",
    ("oauth", "redirect_path"): lambda m: "/auth/env-callback",
    ("oauth", "pkce"): lambda m: "S256",
    ("oauth", "algorithms"): lambda m: ["ES256", "RS256"],
    ("oauth", "scopes"): lambda m: ["openid", "env-scope"],
    ("jwt", "hmac_secret"): lambda m: (
        secrets.token_urlsafe(48),
        {"algorithms": ["HS256"], "public_keys": []},
    ),
    # saml
    ("saml", "sp_entity_id"): lambda m: "https://env.example/sp",
    ("saml", "base_url"): lambda m: "https://env.example",
    ("saml", "acs_path"): lambda m: "/auth/env/acs",
    ("saml", "idp_metadata"): lambda m: {"file": _saml(m)["file"]},
    ("saml", "idp_entity_id"): lambda m: SAML_IDP,
    ("saml", "sp_key_file"): lambda m: (_saml(m)["key"], {"sp_cert_file": _saml(m)["cert"]}),
    ("saml", "sp_cert_file"): lambda m: (_saml(m)["cert"], {"sp_key_file": _saml(m)["key"]}),
    ("saml", "want_assertions_signed"): lambda m: (False, {"want_response_signed": True}),
    ("saml", "signing_algorithm"): lambda m: "rsa-sha512",
    ("saml", "xmlsec_binary"): lambda m: shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
    ("IdpMetadataSource", "file"): lambda m: _saml(m)["file"],
    ("IdpMetadataSource", "xml"): lambda m: _saml(m)["xml"],
    ("IdpMetadataSource", "url"): lambda m: _saml(m)["url"],
    # header (examples/authplug-header)
    ("header", "user_header"): lambda m: "X-Remote-User",
    ("header", "email_header"): lambda m: "X-Remote-Email",
    ("header", "name_header"): lambda m: "X-Remote-Name",
    ("header", "groups_header"): lambda m: "X-Remote-Groups",
    ("header", "groups_separator"): lambda m: ";",
    ("header", "shared_secret_header"): lambda m: (
        "X-Proxy-Secret",
        {"shared_secret": secrets.token_urlsafe(24)},
    ),
    ("header", "shared_secret"): lambda m: (
        secrets.token_urlsafe(24),
        {"shared_secret_header": "X-Proxy-Secret"},
    ),
}

# Fields that cannot leave their default: setting the other value must be refused at load.
PINNED: dict[tuple[str, str], Any] = {("saml", "only_use_keys_in_metadata"): False}

# Nested fields that replace their parent's baseline value rather than add to it.
REPLACING: set[tuple[str, str, str]] = {
    ("saml", "idp_metadata", "file"),
    ("saml", "idp_metadata", "xml"),
    ("saml", "idp_metadata", "url"),
}

# The least each model needs to validate, as Python values (fields under test override it).
BASELINE: dict[str, Callable[[Material], dict[str, Any]]] = {
    CORE: lambda m: {},
    "mock": lambda m: {},
    "oauth": lambda m: {
        "issuer": "https://op.example/realms/test",
        "client_id": "env-client",
        "client_secret": "env-secret-value",
    },
    "jwt": lambda m: {
        "issuer": ["https://issuer.example/"],
        "audience": ["api://test"],
        "algorithms": ["RS256"],
        "public_keys": [m.pem],
    },
    "saml": lambda m: {
        "sp_entity_id": "https://app.example/sp",
        "base_url": "https://app.example",
        "idp_metadata": {"xml": _saml(m)["xml"]},
    },
    # examples/authplug-header (installed in the tests session like a third party's)
    "header": lambda m: {"trusted_proxies": ["10.0.0.0/8"]},
}


def _jwks_file(m: Material) -> str:
    path = m.folder / "jwks.json"
    path.write_text(json.dumps({"keys": [m.jwk]}))
    return str(path)


# --- values built from a field's type -----------------------------------------------------


class UnfillableError(LookupError):
    """The builders do not know how to fill a field: add one above."""


def _bounds(info: FieldInfo | None, metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for item in [*(info.metadata if info else []), *metadata]:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low = item.gt + (1 if isinstance(item.gt, int) else 0.5)
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high = item.lt - 1
    return low, high  # type: ignore[return-value]


def from_type(name: str, annotation: Any, default: Any, info: FieldInfo | None, m: Material) -> Any:
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata += extra
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return from_type(name, options[0], default, info, m)
    if annotation is bool:
        return not bool(default)
    if annotation in (int, float):
        low, high = _bounds(info, metadata)
        base = default if isinstance(default, int | float) and default is not None else low or 1
        value = base + 1
        if high is not None and value > high:
            value = base - 1
        if low is not None and value < low:
            value = low
        return annotation(value)
    if annotation is SecretStr:
        return "env-" + secrets.token_urlsafe(40)
    if annotation is str:
        if name.endswith("_url"):
            return f"https://env.example/{name}"
        if "domain" in name:
            return "app.example.com"
        if name.endswith(("path", "redirect")):
            return f"/env-{name}"
        return f"env-{name}"
    if annotation is Path:
        path = m.folder / f"{name}.txt"
        path.write_text("env\n")
        return str(path)
    if origin is Literal:
        options = [o for o in typing.get_args(annotation) if o != default]
        return options[0]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(e.value for e in annotation if e != default)
    if origin in (list, tuple, set, frozenset):
        (item, *_) = typing.get_args(annotation) or (str,)
        return [from_type(f"{name}_item", item, None, None, m)]
    if origin is dict:
        _, value_type = typing.get_args(annotation)
        return {f"env-{name}-key": from_type(f"{name}_value", value_type, None, None, m)}
    if annotation in (IPv4Network, IPv6Network):
        return "10.0.0.0/8"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            key: build(annotation.__name__, key, sub, m)[0]
            for key, sub in annotation.model_fields.items()
        }
    raise UnfillableError(f"no builder for {name}: {annotation!r}")


def build(owner: str, name: str, info: FieldInfo, m: Material) -> tuple[Any, dict[str, Any]]:
    builder = BY_NAME.get((owner, name))
    try:
        built = builder(m) if builder else from_type(name, info.annotation, info.default, info, m)
    except UnfillableError as exc:
        raise UnfillableError(
            f"{owner}.{name}: {exc}; add a builder to BY_NAME in {Path(__file__).name}"
        ) from None
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[1], dict):
        return built[0], built[1]
    return built, {}


# --- environment text, the way an operator writes it ----------------------------------------


def env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def env_name(section: str, *path: str) -> str:
    parts = [] if section == CORE else [section.upper()]
    return "AUTHPLUG_" + "__".join([*parts, *(p.upper() for p in path)])


# --- discovery -------------------------------------------------------------------------------


def provider_models() -> dict[str, type[BaseModel]]:
    models = {}
    for ep in md.entry_points(group="authplug.providers"):
        dist = ep.dist
        if dist is None or not dist.metadata["Name"].startswith("authplug-"):
            continue  # first-party distributions only
        model = getattr(ep.load(), "settings_model", None)
        if isinstance(model, type) and issubclass(model, BaseModel) and model.model_fields:
            models[ep.name] = model
    return models


PROVIDERS = provider_models()
CASES = [(CORE, name) for name in AuthplugConfig.model_fields if name != "sections"] + [
    (section, name) for section, model in sorted(PROVIDERS.items()) for name in model.model_fields
]
NESTED = [
    (section, name, sub)
    for section, model in sorted(PROVIDERS.items())
    for name, info in model.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    for sub in info.annotation.model_fields
]


def test_first_party_providers_are_discovered() -> None:
    assert {"mock", "jwt"} <= set(PROVIDERS)
    assert ("jwt", "claims", "roles") in NESTED


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Material]:
    made = Material.make(tmp_path_factory.mktemp("material"))
    yield made
    for server in made.servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _environ(section: str, values: Mapping[str, Any]) -> dict[str, str]:
    env = {env_name(section, key): env_text(value) for key, value in values.items()}
    if section != CORE:
        env["AUTHPLUG_PROVIDER"] = section
    return env


def _load_section(section: str, environ: dict[str, str], cwd: Path) -> Any:
    if section == CORE:
        config, _ = load_config(environ=environ, cwd=cwd)
        return config
    host = authplug.load(environ=environ, cwd=cwd, store=MemoryUserStore())
    try:
        return host.provider.settings  # type: ignore[attr-defined]
    finally:
        host.close()


def _model(section: str) -> type[BaseModel]:
    return AuthplugConfig if section == CORE else PROVIDERS[section]


def _comparable(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    return value


@pytest.mark.parametrize(("section", "name"), CASES, ids=[f"{s}.{n}" for s, n in CASES])
def test_every_field_can_be_set_from_the_environment(
    section: str, name: str, material: Material, clean_env: Path
) -> None:
    model = _model(section)
    info = model.model_fields[name]
    if (section, name) in PINNED:
        data = {**BASELINE[section](material), name: PINNED[(section, name)]}
        with pytest.raises(ConfigError, match=name):
            _load_section(section, _environ(section, data), clean_env)
        return
    value, together = build(section, name, info, material)
    data = {**BASELINE[section](material), **together, name: value}
    expected = getattr(model.model_validate(data), name)
    if not info.is_required():
        assert _comparable(expected) != _comparable(info.get_default(call_default_factory=True)), (
            f"the builder for {section}.{name} produced the default; it proves nothing"
        )
    loaded = _load_section(section, _environ(section, data), clean_env)
    assert _comparable(getattr(loaded, name)) == _comparable(expected)


@pytest.mark.parametrize(
    ("section", "name", "sub"), NESTED, ids=[f"{s}.{n}.{x}" for s, n, x in NESTED]
)
def test_every_nested_field_can_be_set_from_its_own_variable(
    section: str, name: str, sub: str, material: Material, clean_env: Path
) -> None:
    model = _model(section)
    nested = model.model_fields[name].annotation
    assert isinstance(nested, type)
    assert issubclass(nested, BaseModel)
    value, together = build(nested.__name__, sub, nested.model_fields[sub], material)
    base = {**BASELINE[section](material), **together}
    if (section, name, sub) in REPLACING:
        base.pop(name, None)
    environ = {**_environ(section, base), env_name(section, name, sub): env_text(value)}
    inherited = base.get(name) if isinstance(base.get(name), dict) else {}
    expected = getattr(model.model_validate({**base, name: {**inherited, sub: value}}), name)
    loaded = _load_section(section, environ, clean_env)
    assert getattr(loaded, name) == expected
    assert getattr(getattr(loaded, name), sub) != nested.model_fields[sub].get_default(
        call_default_factory=True
    )


# --- the forms the documentation promises --------------------------------------------------


def _jwt_env(material: Material, **extra: str) -> dict[str, str]:
    base = _environ(
        "jwt", {k: v for k, v in BASELINE["jwt"](material).items() if k != "public_keys"}
    )
    return {**base, **extra}


@pytest.mark.parametrize("form", ["bare PEM", "two bare PEMs", "JSON list", "JSON object"])
def test_jwt_public_keys_in_every_documented_form(
    form: str, material: Material, clean_env: Path
) -> None:
    text, expected = {
        "bare PEM": (material.pem, [material.pem.strip()]),
        "two bare PEMs": (
            material.pem + material.pem2,
            [material.pem.strip(), material.pem2.strip()],
        ),
        "JSON list": (json.dumps([material.pem]), [material.pem]),
        "JSON object": (json.dumps({"k1": material.pem}), {"k1": material.pem}),
    }[form]
    settings = _load_section("jwt", _jwt_env(material, AUTHPLUG_JWT__PUBLIC_KEYS=text), clean_env)
    assert settings.public_keys == expected


def test_lists_also_take_comma_separated_text(material: Material, clean_env: Path) -> None:
    settings = _load_section(
        "jwt",
        _jwt_env(
            material,
            AUTHPLUG_JWT__PUBLIC_KEYS=json.dumps([material.pem]),
            AUTHPLUG_JWT__ISSUER="https://a.example/, https://b.example/",
        ),
        clean_env,
    )
    assert settings.issuer == ["https://a.example/", "https://b.example/"]
    config = _load_section(CORE, {"AUTHPLUG_PUBLIC_PATHS": "/health,/static/"}, clean_env)
    assert config.public_paths == ["/health", "/static/"]


@pytest.mark.parametrize(
    ("var", "text", "message"),
    [
        ("AUTHPLUG_JWT__PUBLIC_KEYS", "[not json", "AUTHPLUG_JWT__PUBLIC_KEYS: not valid JSON"),
        ("AUTHPLUG_JWT__JWKS", "[1]", "AUTHPLUG_JWT__JWKS: expected a JSON object"),
        ("AUTHPLUG_JWT__CLAIMS", "roles=groups", "AUTHPLUG_JWT__CLAIMS: expected a JSON object"),
        ("AUTHPLUG_JWT__REQUIRE_TYPE", "maybe", "AUTHPLUG_JWT__REQUIRE_TYPE: expected a boolean"),
        ("AUTHPLUG_JWT__CLAIMS__ROLZ", "groups", "did you mean `roles`?"),
    ],
)
def test_malformed_environment_values_are_named(
    var: str, text: str, message: str, material: Material, clean_env: Path
) -> None:
    environ = {**_jwt_env(material, AUTHPLUG_JWT__PUBLIC_KEYS=material.pem), var: text}
    with pytest.raises(authplug.ConfigError) as caught:
        _load_section("jwt", environ, clean_env)
    assert message in str(caught.value)
    assert material.pem not in str(caught.value)

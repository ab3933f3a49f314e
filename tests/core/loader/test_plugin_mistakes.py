"""Each plugin-author mistake of issue #10, caught at start-up with the error it now produces.

Every provider here is a real installed distribution (a fake ``.dist-info``
in ``tmp_path``) loaded by name, as an operator's ``authplug.load()`` would.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from authplug.distributions import FIRST_PARTY_PROVIDERS, PROVIDER_GROUP, installed
from authplug.errors import PluginLoadError
from authplug.loader import load
from authplug.stores.memory import MemoryUserStore

from .conftest import FakeDist

HEADER = """
from pydantic import BaseModel, ConfigDict
from authplug import AuthProvider, NoSettings, hookimpl
from authplug.results import Redirect


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    realm: str = "acme"
"""


def install(fake_dist: FakeDist, name: str, body: str, target: str = "Provider") -> None:
    """Install ``acme-<name>`` 1.2.3 whose provider entry point is ``<name>_mod:<target>``."""
    fake_dist(
        f"acme-{name}",
        "1.2.3",
        entry_points={
            "authplug.providers": {name: f"{name}_mod:{target}" if target else f"{name}_mod"}
        },
        modules={f"{name}_mod": HEADER + textwrap.dedent(body)},
    )


def load_error(name: str) -> PluginLoadError:
    with pytest.raises(PluginLoadError) as info:
        load(provider=name, environ={}, store="memory")
    error = info.value
    # every load error names the plugin and the distribution that provides it
    assert error.entry_point == name
    assert error.distribution == f"acme-{name}"
    assert error.version == "1.2.3"
    assert f"acme-{name} 1.2.3" in error.message
    return error


def test_misspelled_authenticate_is_refused_with_the_right_name(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "typo",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authentcate(self, request):
                return Redirect("/auth/typo/login")
        """,
    )
    message = load_error("typo").message
    assert "does not override `authenticate(self, request)`" in message
    assert "it defines `authentcate`; did you mean `authenticate`?" in message


def test_authenticate_with_the_wrong_arguments_is_refused(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "args",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self):
                return Redirect("/auth/args/login")

            def refresh(self, user, force):
                return user
        """,
    )
    message = load_error("args").message
    assert "`authenticate(self)` cannot be called as `authenticate(self, request)`" in message
    # every problem at once, not only the first
    assert "`refresh(self, user, force)` cannot be called as `refresh(self, user)`" in message


def test_validate_instead_of_validate_user_is_named(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "val",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/val/login")

            def validate(self, request, user):
                return None
        """,
    )
    assert "it defines `validate`; did you mean `validate_user`?" in load_error("val").message


def test_settings_model_without_extra_forbid_is_refused(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "lax",
        """
        class LaxSettings(BaseModel):
            realm: str = "acme"

        class Provider(AuthProvider[LaxSettings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/lax/login")
        """,
    )
    message = load_error("lax").message
    assert "settings model LaxSettings does not forbid unknown keys" in message
    assert 'model_config = ConfigDict(extra="forbid")' in message


def test_settings_model_comes_from_the_type_argument(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "typed",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/typed/login")
        """,
    )
    host = load(
        provider="typed", settings={"typed": {"realm": "north"}}, environ={}, store="memory"
    )
    settings = host.provider.settings  # type: ignore[attr-defined]
    assert type(settings).__name__ == "Settings"
    assert settings.realm == "north"


def test_bare_class_whose_constructor_takes_no_settings_is_explained(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "bare",
        """
        class Provider:
            def __init__(self):
                pass

            @hookimpl
            def authplug_authenticate(self, request):
                return Redirect("/auth/bare/login")
        """,
    )
    message = load_error("bare").message
    assert "calls as `cls(settings)`" in message
    assert "point the entry point at an instance" in message


def test_constructor_failure_keeps_the_original_message(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "boom",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def __init__(self, settings):
                raise ValueError("realm 'acme' has no signing key configured")

            def authenticate(self, request):
                return Redirect("/auth/boom/login")
        """,
    )
    error = load_error("boom")
    assert (
        "failed to start: ValueError: realm 'acme' has no signing key configured" in error.message
    )
    assert isinstance(error.__cause__, ValueError)  # the traceback stays available to logs


def test_every_missing_hook_is_listed_with_the_hookimpl_hint(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "hooks",
        """
        @hookimpl
        def authplug_authenticate(request):
            return Redirect("/auth/hooks/login")

        def authplug_validate(request, user):  # @hookimpl forgotten
            return None
        """,
        target="",
    )
    message = load_error("hooks").message
    assert "authplug_refresh" in message
    assert "authplug_validate (a `authplug_validate` is defined but not marked" in message
    assert "did you forget `@hookimpl`?" in message


def test_misspelled_hook_name_suggests_the_real_one(fake_dist: FakeDist) -> None:
    install(
        fake_dist,
        "hookname",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/hookname/login")

            @hookimpl
            def authplug_loged_in(self, request, user):
                return None
        """,
    )
    assert "did you mean authplug_logged_in?" in load_error("hookname").message


@pytest.mark.parametrize(
    ("target", "body"),
    [
        (
            "Provider",
            """
            class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
                def authenticate(self, request):
                    return Redirect("/auth/form/login")
            """,
        ),
        (
            "provider",
            """
            class Provider(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
                def authenticate(self, request):
                    return Redirect("/auth/form/login")

            provider = Provider(NoSettings())
            """,
        ),
        (
            "",
            """
            @hookimpl
            def authplug_authenticate(request):
                return Redirect("/auth/form/login")

            @hookimpl
            def authplug_validate(request, user):
                return None

            @hookimpl
            def authplug_refresh(user):
                return user
            """,
        ),
    ],
    ids=["class-taking-settings", "instance", "module"],
)
def test_the_three_entry_point_forms_load(fake_dist: FakeDist, target: str, body: str) -> None:
    install(fake_dist, "form", body, target=target)
    host = load(provider="form", environ={}, store="memory")
    assert host.provider_info.distribution == "acme-form"
    assert host.routes == {}


def test_store_and_cwd_arguments_are_checked_at_load(fake_dist: FakeDist, tmp_path: Path) -> None:
    install(
        fake_dist,
        "args2",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/args2/login")
        """,
    )
    # a store name works like the `store` setting; a ready store object is used as is
    assert load(provider="args2", environ={}, store="memory").config.store == "memory"
    store = MemoryUserStore()
    assert load(provider="args2", environ={}, store=store).store is store
    with pytest.raises(TypeError, match="user store object or a store name"):
        load(provider="args2", environ={}, store=42)  # type: ignore[arg-type]
    # cwd may be a str as well as a Path
    (tmp_path / "authplug.toml").write_text('[args2]\nrealm = "from-file"\n')
    host = load(provider="args2", environ={}, store="memory", cwd=str(tmp_path))
    assert host.provider.settings.realm == "from-file"  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="cwd must be a path"):
        load(provider="args2", environ={}, store="memory", cwd=3)  # type: ignore[arg-type]


def test_unknown_provider_suggests_an_installed_name_without_install_hint() -> None:
    with pytest.raises(PluginLoadError) as info:
        load(provider="jwtt", environ={}, store="memory")
    message = info.value.message
    assert "unknown provider 'jwtt'; did you mean 'jwt'?" in message
    assert "jwt (authplug-jwt" in message  # the installed list
    assert "pip install" not in message  # authplug-jwtt could be anyone's package


def test_unknown_provider_offers_install_hints_only_for_first_party_names(
    fake_dist: FakeDist,
) -> None:
    # hide every installed first-party provider but jwt behind a site of our own
    install(
        fake_dist,
        "zebra",
        """
        class Provider(AuthProvider[Settings, dict[str, str], dict[str, str]]):
            def authenticate(self, request):
                return Redirect("/auth/zebra/login")
        """,
    )
    installed_names = set(installed(PROVIDER_GROUP))
    missing_first_party = sorted(FIRST_PARTY_PROVIDERS - installed_names)
    for name in missing_first_party:  # a first-party name that is not installed: hint
        with pytest.raises(PluginLoadError) as info:
            load(provider=name, environ={}, store="memory")
        assert f"Install it with `pip install authplug-{name}`" in info.value.message
    # a near miss of a third-party name: suggested, never an install hint
    with pytest.raises(PluginLoadError) as info:
        load(provider="zebro", environ={}, store="memory")
    assert "did you mean 'zebra'?" in info.value.message
    assert "pip install" not in info.value.message
    # a near miss of a first-party name that is not installed: the hint names the real one
    if "oauth" not in installed_names:
        with pytest.raises(PluginLoadError) as info:
            load(provider="oath", environ={}, store="memory")
        assert "did you mean 'oauth'? (not installed: `pip install authplug-oauth`)" in (
            info.value.message
        )
        assert "authplug-oath" not in info.value.message


def test_the_two_argument_generic_form_is_explained() -> None:
    from authplug import AuthProvider, StrMap

    with pytest.raises(TypeError, match=r"three type arguments, the settings model first"):
        AuthProvider[StrMap, StrMap]  # type: ignore[type-arg]

"""The loader against real installed metadata (fake .dist-info folders in tmp_path)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from authplug.errors import ConfigError, PluginLoadError
from authplug.loader import load

from .conftest import FakeDist

PROVIDER_SOURCE = """
import pathlib
from pydantic import BaseModel, ConfigDict
from authplug.provider import AuthProvider
from authplug.results import Redirect

pathlib.Path(__file__).with_suffix(".imported").write_text("imported")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greeting: str = "hello"
    api_secret: str = "default-secret-value"


class Provider(AuthProvider):
    settings_model = Settings

    def authenticate(self, request):
        return Redirect("/auth/{name}/login")
"""


def provider_module(name: str) -> str:
    return PROVIDER_SOURCE.replace("{name}", name)


def imported(site: Path, module: str) -> bool:
    return (site / f"{module}.imported").exists() or module in sys.modules


@pytest.fixture
def two_providers(fake_dist: FakeDist) -> Path:
    fake_dist(
        "alpha-auth",
        "1.0.0",
        entry_points={"authplug.providers": {"alpha": "alpha_mod:Provider"}},
        modules={"alpha_mod": provider_module("alpha")},
        requires=["authplug>=0.1,<0.2"],
    )
    return fake_dist(
        "beta-auth",
        "2.0.0",
        entry_points={"authplug.providers": {"beta": "beta_mod:Provider"}},
        modules={"beta_mod": provider_module("beta")},
        requires=["authplug>=0.1"],
    )


def test_loads_only_the_selected_provider(two_providers: Path) -> None:
    host = load(provider="alpha", environ={}, store_options={}, store="memory")
    assert host.provider_name == "alpha"
    assert host.provider_info.distribution == "alpha-auth"
    assert host.provider_info.version == "1.0.0"
    assert type(host.provider).__module__ == "alpha_mod"
    assert imported(two_providers, "alpha_mod")
    assert not imported(two_providers, "beta_mod")
    assert not (two_providers / "beta_mod.imported").exists()


def test_provider_settings_come_from_their_section(two_providers: Path) -> None:
    host = load(
        provider="alpha", settings={"alpha": {"greeting": "hi"}}, environ={}, store="memory"
    )
    assert host.provider.settings.greeting == "hi"  # type: ignore[attr-defined]


def test_provider_settings_from_env_section(two_providers: Path) -> None:
    host = load(provider="alpha", environ={"AUTHPLUG_ALPHA__GREETING": "env-hi"}, store="memory")
    assert host.provider.settings.greeting == "env-hi"  # type: ignore[attr-defined]


def test_unknown_provider_setting_is_a_config_error_naming_the_path(
    two_providers: Path,
) -> None:
    with pytest.raises(ConfigError) as info:
        load(provider="alpha", settings={"alpha": {"greting": "x"}}, environ={}, store="memory")
    assert "alpha.greting: unknown setting" in str(info.value)


def test_unknown_provider_lists_installed_and_gives_no_install_hint(two_providers: Path) -> None:
    with pytest.raises(PluginLoadError) as info:
        load(provider="nope", environ={}, store="memory")
    message = str(info.value)
    assert "unknown provider 'nope'" in message
    assert "alpha (alpha-auth 1.0.0)" in message
    assert "beta (beta-auth 2.0.0)" in message
    # "nope" is nobody's first-party name: an install hint would invite a squatted package
    assert "pip install" not in message
    assert "did you mean" not in message
    assert not imported(two_providers, "alpha_mod")
    assert not imported(two_providers, "beta_mod")


def test_unknown_provider_never_falls_back_to_mock(two_providers: Path) -> None:
    with pytest.raises(PluginLoadError):
        load(provider="missing", environ={}, store="memory")


def test_import_error_names_distribution_and_version(fake_dist: FakeDist) -> None:
    fake_dist(
        "broken-auth",
        "3.1.4",
        entry_points={"authplug.providers": {"broken": "broken_mod:Provider"}},
        modules={"broken_mod": "import a_module_that_does_not_exist_anywhere\n"},
    )
    with pytest.raises(PluginLoadError) as info:
        load(provider="broken", environ={}, store="memory")
    assert info.value.distribution == "broken-auth"
    assert info.value.version == "3.1.4"
    assert "broken-auth 3.1.4" in str(info.value)
    assert "ModuleNotFoundError" in str(info.value)


def test_syntax_error_and_missing_attribute_are_plugin_load_errors(fake_dist: FakeDist) -> None:
    fake_dist(
        "syntax-auth",
        "1.0",
        entry_points={"authplug.providers": {"syn": "syn_mod:Provider", "noattr": "ok_mod:Nope"}},
        modules={"syn_mod": "def broken(:\n", "ok_mod": "X = 1\n"},
    )
    with pytest.raises(PluginLoadError, match="SyntaxError"):
        load(provider="syn", environ={}, store="memory")
    with pytest.raises(PluginLoadError, match="AttributeError"):
        load(provider="noattr", environ={}, store="memory")


def test_incompatible_core_requirement_is_refused_before_import(fake_dist: FakeDist) -> None:
    site = fake_dist(
        "future-auth",
        "9.0",
        entry_points={"authplug.providers": {"future": "future_mod:Provider"}},
        modules={"future_mod": provider_module("future")},
        requires=["authplug>=99"],
    )
    with pytest.raises(PluginLoadError) as info:
        load(provider="future", environ={}, store="memory")
    assert "requires authplug>=99" in str(info.value)
    assert info.value.distribution == "future-auth"
    assert not imported(site, "future_mod")


def test_duplicate_provider_names_name_both_distributions(fake_dist: FakeDist) -> None:
    site = fake_dist(
        "one-auth",
        "1.0",
        entry_points={"authplug.providers": {"dup": "one_mod:Provider"}},
        modules={"one_mod": provider_module("dup")},
    )
    fake_dist(
        "two-auth",
        "1.0",
        entry_points={"authplug.providers": {"dup": "two_mod:Provider"}},
        modules={"two_mod": provider_module("dup")},
    )
    with pytest.raises(PluginLoadError) as info:
        load(provider="dup", environ={}, store="memory")
    assert "one-auth" in str(info.value)
    assert "two-auth" in str(info.value)
    assert not imported(site, "one_mod")
    assert not imported(site, "two_mod")


def test_misspelled_hookimpl_fails_at_start_up(fake_dist: FakeDist) -> None:
    source = provider_module("typo") + (
        "\nfrom authplug.hookspecs import hookimpl\n\n"
        "class Typo(Provider):\n"
        "    @hookimpl\n"
        "    def authplug_authenticte(self, request):\n"
        "        return None\n"
    )
    fake_dist(
        "typo-auth",
        "1.0",
        entry_points={"authplug.providers": {"typo": "typo_mod:Typo"}},
        modules={"typo_mod": source},
    )
    with pytest.raises(PluginLoadError, match="authplug_authenticte"):
        load(provider="typo", environ={}, store="memory")


def test_extra_hookimpl_argument_fails_at_start_up(fake_dist: FakeDist) -> None:
    source = provider_module("extra") + (
        "\nfrom authplug.hookspecs import hookimpl\n\n"
        "class Extra(Provider):\n"
        "    @hookimpl\n"
        "    def authplug_refresh(self, user, force):\n"
        "        return user\n"
    )
    fake_dist(
        "extra-auth",
        "1.0",
        entry_points={"authplug.providers": {"extra": "extra_mod:Extra"}},
        modules={"extra_mod": source},
    )
    with pytest.raises(PluginLoadError, match="force"):
        load(provider="extra", environ={}, store="memory")


def test_bare_pluggy_object_missing_required_hook_is_refused(fake_dist: FakeDist) -> None:
    source = """
from authplug.hookspecs import hookimpl
from authplug.results import Redirect

@hookimpl
def authplug_authenticate(request):
    return Redirect("/auth/bare/login")
"""
    fake_dist(
        "bare-auth",
        "1.0",
        entry_points={"authplug.providers": {"bare": "bare_mod"}},
        modules={"bare_mod": source},
    )
    with pytest.raises(PluginLoadError, match=r"authplug_validate|authplug_refresh"):
        load(provider="bare", environ={}, store="memory")


def test_bare_pluggy_module_with_all_hooks_works(fake_dist: FakeDist) -> None:
    source = """
from authplug.hookspecs import hookimpl
from authplug.results import Redirect

@hookimpl
def authplug_authenticate(request):
    return Redirect("/auth/bare/login")

@hookimpl
def authplug_validate(request, user):
    return None

@hookimpl
def authplug_refresh(user):
    return user
"""
    fake_dist(
        "bare2-auth",
        "1.0",
        entry_points={"authplug.providers": {"bare2": "bare2_mod"}},
        modules={"bare2_mod": source},
    )
    host = load(provider="bare2", environ={}, store="memory")
    assert host.provider_info.distribution == "bare2-auth"


EXTENSION_SOURCE = """
import pathlib
from authplug.hookspecs import hookimpl

pathlib.Path(__file__).with_suffix(".imported").write_text("imported")

@hookimpl
def authplug_extra_roles(user):
    return ["ext:role"]
"""


def test_extension_plugins_load_and_disabled_ones_are_never_imported(
    two_providers: Path, fake_dist: FakeDist
) -> None:
    fake_dist(
        "roles-ext",
        "1.0",
        entry_points={"authplug.plugins": {"roles": "roles_ext_mod"}},
        modules={"roles_ext_mod": EXTENSION_SOURCE},
    )
    site = fake_dist(
        "evil-ext",
        "1.0",
        entry_points={"authplug.plugins": {"evil": "evil_ext_mod"}},
        modules={"evil_ext_mod": EXTENSION_SOURCE},
    )
    host = load(provider="alpha", environ={}, store="memory", plugins_disabled=["evil"])
    assert [e.name for e in host.extensions] == ["roles"]
    assert imported(site, "roles_ext_mod")
    assert not imported(site, "evil_ext_mod")


def test_extension_implementing_a_provider_hook_is_refused(
    two_providers: Path, fake_dist: FakeDist
) -> None:
    fake_dist(
        "hijack-ext",
        "1.0",
        entry_points={"authplug.plugins": {"hijack": "hijack_mod"}},
        modules={
            "hijack_mod": (
                "from authplug.hookspecs import hookimpl\n"
                "@hookimpl\n"
                "def authplug_authenticate(request):\n"
                "    return None\n"
            )
        },
    )
    with pytest.raises(PluginLoadError, match="only the configured provider"):
        load(provider="alpha", environ={}, store="memory")


def test_production_refuses_development_only_provider(fake_dist: FakeDist) -> None:
    source = provider_module("devonly").replace(
        "    settings_model = Settings",
        "    settings_model = Settings\n    development_only = True",
    )
    fake_dist(
        "devonly-auth",
        "1.0",
        entry_points={"authplug.providers": {"devonly": "devonly_mod:Provider"}},
        modules={"devonly_mod": source},
    )
    key = "Xq3vJ9mK2pL8nR5tW7yZ1aB4cD6eF0gH2iJ4kL6mN8o"
    with pytest.raises(ConfigError, match="development only"):
        load(provider="devonly", env="production", cookie_keys=[key], environ={}, store="memory")


def test_secret_provider_setting_is_not_echoed(two_providers: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(
            provider="alpha",
            settings={"alpha": {"api_secret": ["sup3r-s3cret-value"]}},
            environ={},
            store="memory",
        )
    assert "alpha.api_secret" in str(info.value)
    assert "sup3r-s3cret-value" not in str(info.value)

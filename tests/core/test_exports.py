"""The curated public surface: ``__all__`` is exactly the public names, all importable."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import authplug


def test_all_matches_the_lazy_export_table() -> None:
    assert set(authplug.__all__) == set(authplug._EXPORTS) | {"__version__"}
    assert sorted(authplug.__all__) == sorted(set(authplug.__all__)), "duplicates in __all__"


@pytest.mark.parametrize("name", sorted(authplug.__all__))
def test_every_exported_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(authplug, name)
    if name == "__version__":
        return
    owner = importlib.import_module(authplug._EXPORTS[name])
    assert getattr(owner, name) is value
    if inspect.isclass(value) or inspect.isfunction(value):
        assert value.__doc__, f"{name} has no docstring"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        authplug.does_not_exist  # noqa: B018


def test_import_authplug_is_cheap() -> None:
    """``import authplug`` loads neither pydantic nor pluggy (checked in a fresh interpreter)."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, authplug; print('pydantic' in sys.modules, 'pluggy' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "False"]


def test_core_and_mock_stay_free_of_jose_and_httpx() -> None:
    """The JOSE machinery and the fetch helper load only when a provider asks for them."""
    import importlib.util
    import subprocess
    import sys

    heavy = ("jose", "httpx", "authplug.jose", "authplug.fetch")
    light = ["authplug", "authplug.lifecycle", "authplug.asgi", "authplug.wsgi"]
    if importlib.util.find_spec("authplug_mock") is not None:
        light.append("authplug_mock.provider")
    code = f"import sys, {', '.join(light)}; print(*[m in sys.modules for m in {heavy!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * len(heavy)


def _public_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(authplug.__path__, "authplug.")
        if not any(part.startswith("_") for part in m.name.split("."))
        and not m.name.startswith("authplug.demo")
    )


@pytest.mark.parametrize("module", _public_modules())
def test_modules_have_docstrings_and_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__doc__, f"{module} has no module docstring"
    for name in getattr(mod, "__all__", ()):
        value = getattr(mod, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module:
            assert value.__doc__, f"{module}.{name} has no docstring"

"""Authors copy this distribution: every module and public name is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import authplug_mock

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(authplug_mock.__path__, "authplug_mock.")
)


def test_modules_are_found() -> None:
    assert {"authplug_mock.provider", "authplug_mock.settings", "authplug_mock.routes"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", ["authplug_mock", *MODULES])
def test_module_and_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)

    assert (module.__doc__ or "").strip(), f"{name} has no docstring"
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for public in module.__all__:
        value = getattr(module, public)
        if getattr(value, "__module__", None) != name or getattr(value, "__name__", "") != public:
            continue  # re-exported from, or a type alias of, another module's name
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"{name}.{public} has no docstring"
            for attr, member in vars(value).items() if inspect.isclass(value) else ():
                if not attr.startswith("_") and inspect.isfunction(member):
                    assert (member.__doc__ or "").strip(), f"{name}.{public}.{attr}"


def test_exports() -> None:
    assert authplug_mock.__all__ == ["MockProvider", "MockSettings", "MockUser"]

"""Hook specs are the plugin author's reference: each must be fully documented."""

from __future__ import annotations

import inspect
import re

import pytest

from authplug import hookspecs

SPECS = [
    (name, obj)
    for name, obj in vars(hookspecs).items()
    if name.startswith("authplug_") and callable(obj)
]


def test_there_are_hookspecs() -> None:
    names = {name for name, _ in SPECS}
    assert {
        "authplug_authenticate",
        "authplug_validate",
        "authplug_refresh",
        "authplug_routes",
        "authplug_user_type",
        "authplug_extra_roles",
        "authplug_logged_in",
        "authplug_logged_out",
    } <= names


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[n for n, _ in SPECS])
def test_every_hookspec_documents_each_parameter_and_return(name: str, spec: object) -> None:
    doc = inspect.getdoc(spec)
    assert doc, f"{name} has no docstring"
    for param in inspect.signature(spec).parameters:  # type: ignore[arg-type]
        assert re.search(rf":param {param}:", doc), f"{name}: parameter {param!r} undocumented"
    assert ":return:" in doc, f"{name}: return value undocumented"
    assert ("first non-``None`` result" in doc) or ("All implementations are called" in doc), (
        f"{name}: does not say whether it stops at the first result"
    )
    assert "Implemented by" in doc or "implemented by" in doc, (
        f"{name}: does not say who implements it"
    )


@pytest.mark.parametrize("name", sorted(hookspecs.PROVIDER_HOOKS))
def test_provider_hooks_are_firstresult(name: str) -> None:
    opts = getattr(hookspecs, name).authplug_spec
    assert opts["firstresult"] is True


@pytest.mark.parametrize(
    "name",
    ["authplug_user_type", "authplug_extra_roles", "authplug_logged_in", "authplug_logged_out"],
)
def test_extension_hooks_are_not_firstresult(name: str) -> None:
    opts = getattr(hookspecs, name).authplug_spec
    assert opts["firstresult"] is False
    assert name not in hookspecs.PROVIDER_HOOKS

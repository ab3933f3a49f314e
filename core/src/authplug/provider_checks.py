"""Start-up checks of a plugin's shape: mistakes caught before the first request.

pluggy checks hook implementations against their specs; these checks do the
same for what pluggy cannot see:

* an :class:`~authplug.provider.AuthProvider` subclass overrides
  ``authenticate``, every method it overrides has the signature the base
  class calls it with (``inspect``, as pluggy checks hookimpls), and no
  method name is a near miss of one (``authentcate``);
* a settings model forbids unknown keys (``extra="forbid"``), so a mistyped
  key is an error rather than silently ignored; the loader *refuses* a model
  that does not (it does not patch it: the plugin's own tests should see
  what production sees);
* a plugin class named by an entry point takes its settings as the one
  constructor argument;
* every required provider hook is implemented, all missing ones listed at
  once, with a hint when a same-named function lacks ``@hookimpl``;
* a misspelled hook name gets the closest real hook name.

Every error is a :class:`~authplug.errors.PluginLoadError` naming the plugin,
its distribution and the fix.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel

from authplug import hookspecs
from authplug.errors import PluginLoadError
from authplug.provider import AuthProvider

if TYPE_CHECKING:
    from authplug.host import PluginInfo

__all__ = [
    "PROVIDER_METHODS",
    "check_plugin_class",
    "check_provider_class",
    "check_settings_model",
    "closest_hook",
    "describe",
    "missing_hooks_error",
]

PROVIDER_METHODS: dict[str, tuple[str, ...]] = {
    "authenticate": ("request",),
    "authenticate_fast": ("header",),
    "validate_user": ("request", "user"),
    "refresh": ("user",),
    "routes": (),
    "logout": ("request", "user"),
    "check": (),
}
"""The methods an :class:`AuthProvider` subclass may override, with the arguments it gets."""

_NEAR_MISSES = {"validate": "validate_user", "authenticate_user": "authenticate"}


def describe(info: PluginInfo) -> str:
    """``'acme' (authplug-acme 1.0)`` for messages."""
    if info.distribution:
        return f"{info.name!r} ({info.distribution} {info.version or '?'})"
    return repr(info.name)


def _signature_problem(cls: type, name: str, arguments: tuple[str, ...]) -> str | None:
    attr = inspect.getattr_static(cls, name)
    if isinstance(attr, staticmethod):
        func, bound = attr.__func__, arguments
    elif isinstance(attr, classmethod):
        func, bound = attr.__func__, ("cls", *arguments)
    elif callable(attr):
        func, bound = attr, ("self", *arguments)
    else:
        return f"`{name}` is not a method"
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    try:
        signature.bind(*bound)
    except TypeError as exc:
        wanted = ", ".join(("self", *arguments))
        return f"`{name}{signature}` cannot be called as `{name}({wanted})` ({exc})"
    return None


def _near_miss(defined: str) -> str | None:
    if defined in PROVIDER_METHODS:
        return None
    if defined in _NEAR_MISSES:
        return _NEAR_MISSES[defined]
    matches = difflib.get_close_matches(defined, list(PROVIDER_METHODS), n=1, cutoff=0.8)
    return matches[0] if matches else None


def _own_names(cls: type) -> Iterable[str]:
    for klass in cls.__mro__:
        if klass is AuthProvider:
            break
        yield from (n for n, v in vars(klass).items() if not n.startswith("_") and callable(v))


def _declared_settings(cls: type) -> type | None:
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is AuthProvider:
                declared = get_args(base)[0]
                return declared if isinstance(declared, type) else None
    return None


def check_settings_model(model: Any, info: PluginInfo) -> type[BaseModel]:
    """Return ``model`` when it is a pydantic model forbidding unknown keys.

    :raises PluginLoadError: it is not a pydantic model, or it accepts or
        ignores unknown keys.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise PluginLoadError(
            f"plugin {describe(info)}: settings_model is {model!r}, not a pydantic model; "
            "set it to a pydantic BaseModel subclass",
            plugin=info,
        )
    if model.model_config.get("extra") != "forbid":
        raise PluginLoadError(
            f"plugin {describe(info)}: settings model {model.__name__} does not forbid "
            "unknown keys, so a mistyped setting would be silently ignored; add "
            '`model_config = ConfigDict(extra="forbid")` to it',
            plugin=info,
        )
    return model


def _shape_problems(cls: type) -> list[str]:
    problems: list[str] = []
    if not issubclass(cls, AuthProvider):
        return problems
    if inspect.getattr_static(cls, "authenticate") is AuthProvider.__dict__["authenticate"]:
        problems.append("it does not override `authenticate(self, request)`")
    for name, arguments in PROVIDER_METHODS.items():
        if inspect.getattr_static(cls, name) is AuthProvider.__dict__[name]:
            continue
        problem = _signature_problem(cls, name, arguments)
        if problem is not None:
            problems.append(problem)
    for defined in sorted(set(_own_names(cls))):
        meant = _near_miss(defined)
        if meant is not None:
            problems.append(f"it defines `{defined}`; did you mean `{meant}`?")
    declared = _declared_settings(cls)
    model = cls.settings_model
    if declared is not None and isinstance(model, type) and not issubclass(model, declared):
        problems.append(
            f"settings_model {model.__name__} is not the {declared.__name__} "
            f"its AuthProvider[{declared.__name__}, ...] base declares"
        )
    return problems


def _invalid(cls: type, info: PluginInfo, problems: list[str]) -> PluginLoadError:
    return PluginLoadError(
        f"plugin {describe(info)} is not a valid authplug plugin "
        f"({cls.__module__}.{cls.__qualname__}):\n" + "\n".join(f"  - {p}" for p in problems),
        plugin=info,
    )


def check_provider_class(cls: type, info: PluginInfo) -> None:
    """Check an :class:`AuthProvider` subclass's methods (any other class passes).

    ``authenticate`` is overridden, every overridden method can be called
    with the arguments the base class passes, and no method name is a near
    miss of one (``authentcate``, ``validate``).

    :raises PluginLoadError: listing every problem found (all at once).
    """
    problems = _shape_problems(cls)
    if problems:
        raise _invalid(cls, info, problems)


def check_plugin_class(cls: type, info: PluginInfo) -> None:
    """Check a class named by an entry point before it is called as ``cls(settings)``.

    Everything :func:`check_provider_class` checks, and that the constructor
    takes the settings as its one argument.

    :raises PluginLoadError: listing every problem found (all at once).
    """
    problems = _shape_problems(cls)
    try:
        inspect.signature(cls).bind(object())
    except TypeError:
        problems.append(
            "the entry point names a class, which the loader calls as `cls(settings)`, "
            "but its constructor does not take one `settings` argument; accept it, or "
            "point the entry point at an instance (`module:provider`) or at a module"
        )
    except ValueError:  # no signature to read: let the call decide
        pass
    if problems:
        raise _invalid(cls, info, problems)


def closest_hook(name: str) -> str | None:
    """The authplug hook a misspelled hook name most likely meant."""
    hooks = [n for n in dir(hookspecs) if n.startswith("authplug_")]
    matches = difflib.get_close_matches(name, hooks, n=1, cutoff=0.7)
    return matches[0] if matches else None


def missing_hooks_error(provider: object, info: PluginInfo, missing: list[str]) -> PluginLoadError:
    """One error listing every required hook ``provider`` lacks, with the ``@hookimpl`` hint."""
    lines = []
    for name in sorted(missing):
        line = f"  - {name}"
        if callable(getattr(provider, name, None)):
            line += f" (a `{name}` is defined but not marked: did you forget `@hookimpl`?)"
        lines.append(line)
    return PluginLoadError(
        f"provider {describe(info)} does not implement the required hook"
        f"{'s' if len(missing) > 1 else ''}:\n" + "\n".join(lines) + "\n"
        "Mark each with `@authplug.hookimpl`, or subclass `authplug.AuthProvider` "
        "(its defaults answer validate and refresh).",
        plugin=info,
    )

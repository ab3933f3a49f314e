"""HookCalls: plain answers used as they are, awaitable ones resolved, traces only when on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from authplug.errors import ProviderError
from authplug.hookcalls import HookCalls
from authplug.hookspecs import hookimpl
from authplug.host import new_plugin_manager
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest

REQUEST = AuthRequest(method="GET", path="/x")
USER = AuthenticatedUser[dict[str, str], dict[str, str]](user_id="u1", user_type="internal-user")
NEWER = USER.model_copy(update={"first_name": "Ada"})


class RecordingResolver:
    """A resolver (as a host's runtime gives) that records what it is asked to resolve."""

    def __init__(self) -> None:
        self.asked: list[object] = []

    async def __call__(self, value: Any) -> object:
        self.asked.append(value)
        return await value


class RecordingTracer:
    """A tracer that is on and keeps each hook line."""

    enabled = True

    def __init__(self) -> None:
        self.hooks: list[tuple[str, str]] = []

    def step(self, step: str, **fields: object) -> None:
        return None

    def hook(self, name: str, started: float, outcome: str) -> None:
        self.hooks.append((name, outcome))

    def request_done(self, path: str, started: float, outcome: str) -> None:
        return None


def _calls(*plugins: object, **kwargs: Any) -> HookCalls:
    pm = new_plugin_manager()
    for plugin in plugins:
        pm.register(plugin)
    return HookCalls(pm, **kwargs)


class PlainValidate:
    @hookimpl
    def authplug_validate(self, request: AuthRequest, user: Any) -> Any:
        return NEWER


class AsyncValidate:
    @hookimpl
    async def authplug_validate(self, request: AuthRequest, user: Any) -> Any:
        return NEWER


def test_a_plain_answer_is_used_as_it_is_without_the_resolver() -> None:
    resolver = RecordingResolver()
    calls = _calls(PlainValidate(), resolve=resolver)
    assert asyncio.run(calls.validate(REQUEST, USER)) == NEWER
    assert resolver.asked == []


def test_an_awaitable_answer_goes_through_the_resolver() -> None:
    resolver = RecordingResolver()
    calls = _calls(AsyncValidate(), resolve=resolver)
    assert asyncio.run(calls.validate(REQUEST, USER)) == NEWER
    assert len(resolver.asked) == 1
    assert asyncio.iscoroutine(resolver.asked[0])


def test_every_answer_of_a_list_hook_is_resolved_only_when_awaitable() -> None:
    class PlainRoles:
        @hookimpl
        def authplug_extra_roles(self, user: Any) -> Any:
            return ["pika:plain"]

    class AsyncRoles:
        @hookimpl
        async def authplug_extra_roles(self, user: Any) -> Any:
            return ["pika:async"]

    resolver = RecordingResolver()
    calls = _calls(PlainRoles(), AsyncRoles(), resolve=resolver)
    mapped = asyncio.run(calls.map_user(USER))
    assert sorted(mapped.roles) == ["pika:async", "pika:plain"]
    assert len(resolver.asked) == 1  # the async implementation's coroutine only


def test_a_wrong_answer_is_a_provider_error_naming_the_hook() -> None:
    class Wrong:
        @hookimpl
        def authplug_validate(self, request: AuthRequest, user: Any) -> Any:
            return "yes"

    with pytest.raises(ProviderError, match="authplug_validate"):
        asyncio.run(_calls(Wrong()).validate(REQUEST, USER))


def test_the_hook_is_reported_when_the_tracer_is_on() -> None:
    tracer = RecordingTracer()
    calls = _calls(PlainValidate(), tracer=tracer)
    asyncio.run(calls.validate(REQUEST, USER))
    assert tracer.hooks == [("authplug_validate", "user")]


def test_an_off_tracer_is_not_asked_to_report() -> None:
    class OffTracer(RecordingTracer):
        enabled = False

    tracer = OffTracer()
    asyncio.run(_calls(PlainValidate(), tracer=tracer).validate(REQUEST, USER))
    assert tracer.hooks == []

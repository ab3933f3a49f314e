"""``Lifecycle.classify`` remembers its answers: a remembered answer is always the fresh one.

The path check (:mod:`authplug.request_path`) and the public/auth/protected
decision depend only on the path and, when the host has it, the raw path.
The lifecycle remembers each answer (bounded) so the hot path pays one
lookup; these tests prove the lookup never answers differently from a fresh
classification, including for a path first seen without a raw path and then
with one whose raw form must be refused.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authplug import asgi
from authplug.lifecycle import _PATH_MEMO, _PATH_MEMO_LENGTH, Lifecycle, PathKind


@pytest.fixture
def lifecycle(keys: list[str], store: Any, kit: ModuleType, clock: Any) -> Lifecycle:
    host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), store)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    return asgi.AuthMiddleware(app, host=host, clock=clock).lifecycle


def _fresh(lifecycle: Lifecycle, path: str, raw: bytes | str | None) -> PathKind:
    return lifecycle._classify(path, raw)


def test_a_path_first_seen_without_its_raw_form_is_judged_again_with_it(
    lifecycle: Lifecycle,
) -> None:
    """A server that passes the raw path undecoded: the raw check must still refuse it."""
    assert lifecycle.classify("/a%2fb") is PathKind.PROTECTED  # nothing to check it against
    assert lifecycle.classify("/a%2fb", "/a%2fb") is PathKind.REFUSED
    assert lifecycle.classify("/a%2fb", b"/a%2fb") is PathKind.REFUSED
    assert lifecycle.classify("/a%2fb") is PathKind.PROTECTED


def test_the_same_raw_path_with_another_decoded_path_is_judged_again(
    lifecycle: Lifecycle,
) -> None:
    assert lifecycle.classify("/static/x", b"/static/x") is PathKind.PUBLIC
    assert lifecycle.classify("/admin", b"/static/x") is PathKind.PROTECTED
    assert lifecycle.classify("/static/../admin", b"/static/x") is PathKind.REFUSED


def test_a_query_in_a_wsgi_raw_uri_is_ignored_and_an_encoded_separator_before_it_is_not(
    lifecycle: Lifecycle,
) -> None:
    assert lifecycle.classify("/a", "/a?next=%2f") is PathKind.PROTECTED
    assert lifecycle.classify("/a", "/a?next=%5c") is PathKind.PROTECTED
    assert lifecycle.classify("/a/b", "/a%2fb?x") is PathKind.REFUSED
    assert lifecycle.classify("/a/b", "/a%2fb") is PathKind.REFUSED


def test_long_paths_are_judged_but_not_remembered(lifecycle: Lifecycle) -> None:
    long = "/" + "a" * _PATH_MEMO_LENGTH
    assert lifecycle.classify(long, long.encode()) is PathKind.PROTECTED
    assert lifecycle.classify(long + "/../x", long.encode()) is PathKind.REFUSED
    assert long.encode() not in lifecycle._raw_path_kinds


def test_the_memory_is_bounded(lifecycle: Lifecycle) -> None:
    for i in range(_PATH_MEMO + 10):
        path = f"/p/{i}"
        assert lifecycle.classify(path, path.encode()) is PathKind.PROTECTED
        assert len(lifecycle._raw_path_kinds) <= _PATH_MEMO
    assert lifecycle.classify("/p/1/..", b"/p/1/..") is PathKind.REFUSED


_SEGMENTS = st.sampled_from(
    ["a", "b", ".", "..", "", "static", "auth", "login", "%2f", "%2F", "%5c", "\\", "\u2024", "x?y"]
)
_PATHS = st.lists(_SEGMENTS, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    requests=st.lists(
        st.tuples(_PATHS, st.one_of(st.none(), _PATHS, _PATHS.map(str.encode))),
        min_size=1,
        max_size=12,
    )
)
def test_a_remembered_answer_is_always_the_fresh_one(
    lifecycle: Lifecycle, requests: list[tuple[str, str | bytes | None]]
) -> None:
    for _ in range(2):  # the second round answers from memory
        for path, raw in requests:
            assert lifecycle.classify(path, raw) is _fresh(lifecycle, path, raw), (path, raw)

"""Remembered fast-path answers: the edges mutation testing showed no test pinned.

A stateless provider's ``Remembered`` answer is served again, through the
real ASGI and WSGI hosts, for the same values of the headers the provider
read, while ``not_before <= now < until``. Each provider call here answers a
new user (``call-1``, ``call-2``...), so a response says whether it came from
memory (an earlier call's user) or from the provider. Pinned below: a window
that opens at the very moment of the answer, the key-length bound at exactly
:data:`~authplug.fast_answers.MAX_KEY_LENGTH` (one header, and the total over
several), environ values that are not text (the key reads them as absent, as
the provider's lookup does), and a lifecycle given a header lookup of its own.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.errors import NotAuthenticatedError
from authplug.fast_answers import MAX_KEY_LENGTH
from authplug.host import build_host
from authplug.provider import AuthProvider, NoSettings
from authplug.request import AuthRequest, HeaderLookup
from authplug.results import AuthenticateResult, Remembered

KINDS = ["asgi", "wsgi"]


class Scripted(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """A stateless provider reading ``reads`` and answering a new remembered user per call.

    No first header: no answer (the full path then refuses), unless
    ``answer_absent`` says to remember a guest anyway.
    """

    __test__ = False
    stateless = True
    challenge = 'ApiKey realm="test"'

    def __init__(self, kit: ModuleType, clock: Any) -> None:
        super().__init__(NoSettings())
        self.kit = kit
        self.clock = clock
        self.reads = ["x-api-key"]
        self.window = (-5.0, 300.0)  # not_before, until: relative to the answer's moment
        self.answer_absent = False
        self.gate: threading.Barrier | None = None  # requests in other threads meet here
        self.seen: list[tuple[str | None, ...]] = []

    @property
    def calls(self) -> int:
        return len(self.seen)

    def authenticate_fast(self, header: HeaderLookup) -> Any:
        values = tuple(header(name) for name in self.reads)
        if self.gate is not None and threading.current_thread() is not threading.main_thread():
            self.gate.wait(timeout=5)
        self.seen.append(values)
        if values[0] is None and not self.answer_absent:
            return None
        user = self.kit.User(user_id=f"call-{self.calls}", user_type="external-user")
        now = self.clock()
        return Remembered(user, until=now + self.window[1], not_before=now + self.window[0])

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        raise NotAuthenticatedError("no key", code="bad_key")


class Hosts:
    """The ASGI and the WSGI host over one provider and one clock."""

    def __init__(self, provider: Scripted, kit: ModuleType, keys: list[str], **config: Any) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            body = scope["authplug.user"].user_id.encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

        def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
            start_response("200 OK", [])
            return [environ["authplug.user"].user_id.encode()]

        host = build_host(provider, kit.make_config(keys, **config))
        self.asgi = asgi.AuthMiddleware(app, host=host, clock=provider.clock)
        self.wsgi = wsgi.AuthMiddleware(wsgi_app, host=host, clock=provider.clock)

    def get(self, kind: str, headers: list[tuple[str, str]]) -> str:
        """One request to ``/x``: the user it was served as, or ``"401"``."""
        pairs = [("accept", "application/json"), *headers]
        if kind == "asgi":

            async def go() -> httpx.Response:
                transport = httpx.ASGITransport(app=self.asgi)
                async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                    return await c.get("/x", headers=pairs)

            response = asyncio.run(go())
        else:
            transport = httpx.WSGITransport(app=self.wsgi)
            with httpx.Client(transport=transport, base_url="http://a") as c:
                response = c.get("/x", headers=pairs)
        return _served(response.status_code, response.text)

    def environ(self, extra: dict[str, Any]) -> str:
        """One WSGI request with environ entries as given (a value need not be text)."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/x",
            "QUERY_STRING": "",
            "SERVER_NAME": "a",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_ACCEPT": "application/json",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            **extra,
        }
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
            status.append(line)

        body = b"".join(self.wsgi(environ, start_response))
        return _served(int(status[0].split()[0]), body.decode())


def _served(status: int, text: str) -> str:
    if status == 401:
        return "401"
    assert status == 200, (status, text)
    return text


@pytest.fixture
def provider(kit: ModuleType, clock: Any) -> Scripted:
    return Scripted(kit, clock)


@pytest.fixture
def hosts(provider: Scripted, kit: ModuleType, keys: list[str]) -> Iterator[Hosts]:
    made = Hosts(provider, kit, keys)
    yield made
    made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_window_opening_at_the_answer_is_served_at_once(
    kind: str, hosts: Hosts, provider: Scripted, clock: Any
) -> None:
    provider.window = (0.0, 60.0)  # not_before is exactly the moment of the answer
    assert hosts.get(kind, [("x-api-key", "k1")]) == "call-1"
    assert hosts.get(kind, [("x-api-key", "k1")]) == "call-1"
    clock.advance(59.5)
    assert hosts.get(kind, [("x-api-key", "k1")]) == "call-1"
    assert provider.calls == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_value_of_exactly_the_longest_length_is_kept(
    kind: str, hosts: Hosts, provider: Scripted
) -> None:
    longest = "k" * MAX_KEY_LENGTH
    assert hosts.get(kind, [("x-api-key", longest)]) == "call-1"
    assert hosts.get(kind, [("x-api-key", longest)]) == "call-1"
    longer = longest + "k"
    assert hosts.get(kind, [("x-api-key", longer)]) == "call-2"
    assert hosts.get(kind, [("x-api-key", longer)]) == "call-3"


@pytest.mark.parametrize("kind", KINDS)
def test_several_headers_are_bounded_by_their_total_length(
    kind: str, hosts: Hosts, provider: Scripted
) -> None:
    provider.reads = ["x-api-key", "x-tenant"]
    half = MAX_KEY_LENGTH // 2
    exact = [("x-api-key", "a" * half), ("x-tenant", "t" * (MAX_KEY_LENGTH - half))]
    assert hosts.get(kind, exact) == "call-1"
    assert hosts.get(kind, exact) == "call-1"
    over = [("x-api-key", "b" * half), ("x-tenant", "t" * (MAX_KEY_LENGTH - half + 1))]
    assert hosts.get(kind, over) == "call-2"
    assert hosts.get(kind, over) == "call-3"  # each part is short enough; their sum is not
    # an absent header counts for nothing: the one present may have the whole length
    alone = [("x-api-key", "c" * MAX_KEY_LENGTH)]
    assert hosts.get(kind, alone) == "call-4"
    assert hosts.get(kind, alone) == "call-4"
    assert provider.seen[-1] == ("c" * MAX_KEY_LENGTH, None)


def test_an_environ_value_that_is_not_text_is_keyed_as_absent(
    hosts: Hosts, provider: Scripted
) -> None:
    """The provider's lookup reads a non-text environ value as no header: so does the key."""
    provider.reads = ["x-api-key", "x-tenant"]
    assert hosts.environ({"HTTP_X_API_KEY": "k1", "HTTP_X_TENANT": b"t1"}) == "call-1"
    assert provider.seen == [("k1", None)]
    assert hosts.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"  # the same values, as read
    assert hosts.environ({"HTTP_X_API_KEY": "k1", "HTTP_X_TENANT": "t1"}) == "call-2"
    assert provider.calls == 2


class Text(str):
    """A ``str`` subclass, as a middleware might put in the environ."""

    __slots__ = ()


def test_an_answer_for_a_value_that_cannot_be_served_takes_no_room(
    provider: Scripted, kit: ModuleType, keys: list[str]
) -> None:
    """The WSGI host serves kept answers for exact ``str`` values: others are not kept.

    One header read as absent (a non-text value) is no key; a ``str`` subclass
    is never looked up. Kept, either would only evict an answer that can be
    served.
    """
    made = Hosts(provider, kit, keys, session_cache_size=1)
    try:
        provider.answer_absent = True  # a guest, remembered, for a request without the header
        assert made.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"
        assert made.environ({"HTTP_X_API_KEY": b"k2"}) == "call-2"
        assert provider.seen[-1] == (None,)
        assert made.environ({"HTTP_X_API_KEY": b"k2"}) == "call-3"
        assert made.environ({"HTTP_X_API_KEY": Text("k3")}) == "call-4"
        assert provider.seen[-1] == ("k3",)
        assert made.environ({"HTTP_X_API_KEY": Text("k3")}) == "call-5"
        assert made.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"  # still the one kept
        assert provider.calls == 5
    finally:
        made.wsgi.close()


def test_a_kept_value_met_again_as_another_type_is_not_served_from_memory(
    hosts: Hosts, provider: Scripted
) -> None:
    """The WSGI host's own lookup takes exactly ``str``, as the key does.

    ``Text("k1")`` hashes and compares equal to the kept ``"k1"``: only the
    type test keeps it from being served an answer kept for another type; a
    list (as a broken middleware might leave) is not hashable and must not
    make the lookup raise.
    """
    assert hosts.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"
    assert hosts.environ({"HTTP_X_API_KEY": Text("k1")}) == "call-2"
    assert hosts.environ({"HTTP_X_API_KEY": ["k1"]}) == "401"  # read as no header
    assert provider.seen == [("k1",), ("k1",), (None,)]
    assert hosts.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"


class GatedClock:
    """The test clock; a request in another thread first waits here for the others, once."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.gate: threading.Barrier | None = None
        self._passed = threading.local()

    def __call__(self) -> float:
        gate = self.gate
        in_thread = threading.current_thread() is not threading.main_thread()
        if gate is not None and in_thread and not getattr(self._passed, "done", False):
            self._passed.done = True
            gate.wait(timeout=5)
        return float(self.clock())


def _together(requests: list[Callable[[], str]]) -> list[str]:
    """Run the requests in threads at once: what each was served (or the error it raised)."""
    results: list[str] = [""] * len(requests)

    def run(index: int) -> None:
        try:
            results[index] = requests[index]()
        except Exception as exc:  # a crash is what the test looks for
            results[index] = f"error: {type(exc).__name__}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_requests_finding_one_expired_answer_both_ask_the_provider(
    kit: ModuleType, keys: list[str], clock: Any
) -> None:
    """Both see the answer expired and forget it; the second finds it already gone."""
    gated = GatedClock(clock)
    provider = Scripted(kit, gated)
    made = Hosts(provider, kit, keys)
    try:
        assert made.environ({"HTTP_X_API_KEY": "k1"}) == "call-1"
        clock.advance(300)  # exactly `until`
        # both find the answer before either forgets it (the clock), and both have
        # forgotten it before either keeps a new one (the provider)
        gated.gate = provider.gate = threading.Barrier(2)
        served = _together([lambda: made.environ({"HTTP_X_API_KEY": "k1"})] * 2)
        assert sorted(served) == ["call-2", "call-3"]
        gated.gate = provider.gate = None
        assert made.environ({"HTTP_X_API_KEY": "k1"}) in ("call-2", "call-3")
        assert provider.calls == 3
    finally:
        made.wsgi.close()


def test_the_same_answer_kept_twice_at_once_evicts_nothing(
    provider: Scripted, kit: ModuleType, keys: list[str]
) -> None:
    """Two requests miss the same value together and both keep their answer: one entry."""
    made = Hosts(provider, kit, keys, session_cache_size=2)
    try:
        assert made.environ({"HTTP_X_API_KEY": "k0"}) == "call-1"
        provider.gate = threading.Barrier(2)
        served = _together([lambda: made.environ({"HTTP_X_API_KEY": "k1"})] * 2)
        assert sorted(served) == ["call-2", "call-3"]
        provider.gate = None
        assert made.environ({"HTTP_X_API_KEY": "k0"}) == "call-1"  # still kept: room for two
        assert made.environ({"HTTP_X_API_KEY": "k1"}) in ("call-2", "call-3")
        assert provider.calls == 3
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_lifecycle_given_a_header_lookup_keys_by_what_it_returns(
    kind: str, hosts: Hosts, provider: Scripted
) -> None:
    """``Lifecycle.fast_user(header=...)``: a host with a header lookup of its own."""
    lifecycle = (hosts.asgi if kind == "asgi" else hosts.wsgi).lifecycle

    def user(**values: str) -> str | None:
        headers = {name.replace("_", "-"): value for name, value in values.items()}
        found = lifecycle.fast_user((), "/x", header=headers.get)
        return None if found is None else str(found.user_id)

    assert user(x_api_key="k1") == "call-1"
    assert user(x_api_key="k1") == "call-1"
    assert user(x_api_key="k2") == "call-2"
    assert user() is None
    provider.reads = ["x-api-key", "x-tenant"]
    assert user(x_api_key="k3", x_tenant="t1") == "call-4"  # read two: they are the key now
    assert user(x_api_key="k3", x_tenant="t1") == "call-4"
    assert user(x_api_key="k1", x_tenant="t1") == "call-5"
    assert user(x_api_key="k3", x_tenant="t2") == "call-6"
    assert user(x_api_key="k3") == "call-7"
    assert user(x_api_key="k3") == "call-7"
    assert provider.seen[-1] == ("k3", None)
    assert provider.calls == 7

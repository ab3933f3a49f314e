"""authplug.fetch against real loopback servers: a total deadline (a server that
drips bytes cannot hold a request), the size cap, redirects, strict JSON, and
the same behaviour from the blocking and the async form."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from authplug.fetch import FetchError, FetchResponse, OutboundRequest, fetch, fetch_async

Fetch = Callable[[OutboundRequest], FetchResponse]


def _run_async(request: OutboundRequest) -> FetchResponse:
    async def go() -> FetchResponse:
        return await fetch_async(request)

    return anyio.run(go)


@pytest.fixture(params=["sync", "async"])
def do_fetch(request: pytest.FixtureRequest) -> Fetch:
    """Each test runs through the blocking and the async form."""
    return fetch if request.param == "sync" else _run_async


class RawServer:
    """A loopback TCP server answering every connection with ``respond(conn)``."""

    def __init__(self, respond: Callable[[socket.socket], None]) -> None:
        self._respond = respond
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self._respond(conn)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(respond: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(respond)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _answer(body: bytes, *, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    )
    return head.encode() + body


def test_dripping_server_hits_the_total_deadline(do_fetch: Fetch, raw_server: Any) -> None:
    """4 bytes every 0.1 s: each read is quick, so only a total deadline ends it."""
    body = b'{"keys": [' + b" " * 400 + b"]}"

    def drip(conn: socket.socket) -> None:
        head = _answer(body)[: -len(body)]
        conn.sendall(head)
        for start in range(0, len(body), 4):
            if server.stop.is_set():
                return
            conn.sendall(body[start : start + 4])
            time.sleep(0.1)

    server = raw_server(drip)
    with pytest.raises(FetchError) as info:
        do_fetch(OutboundRequest("GET", server.url + "/jwks", deadline=0.5, max_bytes=65536))
    assert info.value.host == f"127.0.0.1:{server.port}"
    assert "within 0.5 s" in info.value.reason


def test_silent_server_hits_the_deadline(do_fetch: Fetch, raw_server: Any) -> None:
    server = raw_server(lambda conn: server.stop.wait(10))
    with pytest.raises(FetchError, match=r"within 0\.3 s"):
        do_fetch(OutboundRequest("GET", server.url, deadline=0.3, max_bytes=100))


def test_declared_length_over_the_cap_is_refused_unread(do_fetch: Fetch, raw_server: Any) -> None:
    def big(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        )
        server.stop.wait(5)

    server = raw_server(big)
    with pytest.raises(FetchError, match="too large"):
        do_fetch(OutboundRequest("GET", server.url, deadline=5, max_bytes=1000))


def test_streamed_body_over_the_cap_is_refused(do_fetch: Fetch, raw_server: Any) -> None:
    def chunked(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(50):
            conn.sendall(b"100\r\n" + b"x" * 256 + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    server = raw_server(chunked)
    with pytest.raises(FetchError, match="too large"):
        do_fetch(OutboundRequest("GET", server.url, deadline=5, max_bytes=1000))


def test_compressed_answer_is_refused(do_fetch: Fetch, raw_server: Any) -> None:
    """The request asks for ``identity``; a gzip body could expand past the cap."""
    server = raw_server(
        lambda conn: conn.sendall(_answer(b"xx", extra="Content-Encoding: gzip\r\n"))
    )
    with pytest.raises(FetchError, match="content encoding"):
        do_fetch(OutboundRequest("GET", server.url, deadline=5, max_bytes=1000))


def test_redirects_refused_unless_allowed(do_fetch: Fetch, loopback: Any) -> None:
    target = loopback()
    target.documents["/doc"] = {"ok": True}
    server = loopback()
    server.redirect_to = target.url_for("/doc")
    with pytest.raises(FetchError, match="HTTP 302, a redirect"):
        do_fetch(OutboundRequest("GET", server.url_for("/x"), deadline=5, max_bytes=1000))
    assert target.requests == []
    followed = do_fetch(
        OutboundRequest(
            "GET", server.url_for("/x"), deadline=5, max_bytes=1000, allow_redirects=True
        )
    )
    assert followed.json_object() == {"ok": True}
    assert followed.url == target.url_for("/doc")


def test_redirect_loop_stops(do_fetch: Fetch, loopback: Any) -> None:
    server = loopback()
    server.redirect_to = server.url_for("/again")
    with pytest.raises(FetchError, match="redirected more than"):
        do_fetch(
            OutboundRequest(
                "GET", server.url_for("/x"), deadline=5, max_bytes=1000, allow_redirects=True
            )
        )


def test_connection_refused_names_the_host(do_fetch: Fetch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as info:
        do_fetch(OutboundRequest("GET", f"http://127.0.0.1:{port}/x", deadline=2, max_bytes=10))
    assert info.value.host == f"127.0.0.1:{port}"
    assert str(info.value).startswith(f"127.0.0.1:{port}: the request failed")


def test_credentials_in_the_url_never_reach_the_message(do_fetch: Fetch) -> None:
    with pytest.raises(FetchError) as info:
        do_fetch(OutboundRequest("GET", "http://user:s3cret@127.0.0.1:9/", deadline=2, max_bytes=1))
    assert "s3cret" not in str(info.value)


def test_post_form_and_status_are_handed_back(do_fetch: Fetch, raw_server: Any) -> None:
    def echo(conn: socket.socket) -> None:
        body = json.dumps({"error": "invalid_grant"}).encode()
        conn.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    server = raw_server(echo)
    response = do_fetch(
        OutboundRequest("POST", server.url + "/token", deadline=5, max_bytes=1000, form={"a": "b"})
    )
    assert response.status == 400
    assert response.json_object() == {"error": "invalid_grant"}


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("text/html", b"<html>", "non-JSON content type"),
        ("application/json", b"<html>", "not JSON"),
        ("application/json", b"\xff\xfe", "not JSON"),
        ("application/json", b"[1]", "not an object"),
        ("application/json", b"[" * 100000 + b"]" * 100000, "not JSON"),
    ],
)
def test_json_object_is_strict(
    do_fetch: Fetch, raw_server: Any, content_type: str, body: bytes, reason: str
) -> None:
    server = raw_server(lambda conn: conn.sendall(_answer(body, content_type=content_type)))
    response = do_fetch(OutboundRequest("GET", server.url, deadline=5, max_bytes=300000))
    with pytest.raises(FetchError, match=reason):
        response.json_object()


def test_blocking_form_inside_a_running_loop(loopback: Any) -> None:
    """Called from a thread that runs an event loop, the blocking form still works."""
    server = loopback()
    server.documents["/doc"] = {"ok": 1}

    async def inside() -> dict[str, Any]:
        return fetch(
            OutboundRequest("GET", server.url_for("/doc"), deadline=5, max_bytes=100)
        ).json_object()

    assert anyio.run(inside) == {"ok": 1}


def test_async_form_does_not_block_the_loop(raw_server: Any) -> None:
    """While one fetch waits on a silent server, other tasks keep running."""
    server = raw_server(lambda conn: server.stop.wait(10))
    ticks: list[int] = []

    async def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            await anyio.sleep(0.05)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            with pytest.raises(FetchError):
                await fetch_async(OutboundRequest("GET", server.url, deadline=0.4, max_bytes=10))

    anyio.run(main)
    assert ticks == [0, 1, 2]

"""Who may use the mock login: clients on this machine only, unless the operator opts in.

The mock logs anyone in as any configured user, admins included. A deployment
that forgets ``env = "production"`` must not hand that page to the internet,
so by default the login page and the login links answer only **loopback
clients** (``127.0.0.0/8``, ``::1``) and refuse everyone else with a 403 page
that says why and how to change it.

What is judged:

* the address of the peer that opened the connection, as the server reports
  it (:attr:`authplug.request.AuthRequest.client`);
* forwarding headers (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``) are
  request data anyone can send, so they are believed only when the peer is
  one of the proxies listed in ``[mock] trusted_proxies``. Then each header
  present is read from the right, skipping trusted proxies, and the first
  other address is the client; every header present must name a loopback
  client.
* Behind a reverse proxy that is not listed, a request that carries a
  forwarding header is refused even from a loopback peer: a proxy on the same
  machine makes every visitor look local. (A server that already rewrote the
  peer from those headers, like uvicorn's ``--proxy-headers``, still leaves
  the headers in place, so the same rule applies.)
* A request whose peer the server did not report, or reported as something
  other than an IP address, is refused.

``[mock] allow_remote = true`` turns the check off (a shared development
server); the page then says that anyone who reaches it can log in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from authplug.request import AuthRequest

__all__ = ["FORWARDING_HEADERS", "ClientVerdict", "judge_client"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
"""Headers a proxy uses to name the original client; never believed from an unlisted peer."""


@dataclass(frozen=True, slots=True)
class ClientVerdict:
    """Whether the mock serves a request, and why not.

    Attributes:
        allowed: Serve the login.
        client: The client address as judged (``None`` when unknown).
        reason: Why the request is refused (``""`` when allowed); safe to show.
    """

    allowed: bool
    client: str | None
    reason: str = ""


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address from a header or server value (brackets, ports and zones tolerated)."""
    value = text.strip().strip('"')
    if value.startswith("["):  # "[::1]:8080" (Forwarded, RFC 7239)
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # "127.0.0.1:8080"
        value = value.partition(":")[0]
    value = value.partition("%")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _header_values(request: AuthRequest, name: str) -> list[str] | None:
    """Every value of ``name`` in order, comma-joined lists split; ``None`` when absent."""
    raw = [v.decode("latin-1") for k, v in request.headers if k.lower() == name.encode()]
    if not raw:
        return None
    if name == "x-real-ip":
        return [v.strip() for v in raw]
    parts = [part.strip() for value in raw for part in value.split(",")]
    if name == "forwarded":
        found = []
        for element in parts:
            for pair in element.split(";"):
                key, _, value = pair.strip().partition("=")
                if key.strip().lower() == "for":
                    found.append(value.strip())
        return found or [""]
    return parts


def _client_from_chain(chain: list[str], trusted: Sequence[IPNetwork]) -> IPAddress | None:
    """The rightmost address of ``chain`` that is not a trusted proxy (``None``: unparsable)."""
    for entry in reversed(chain):
        address = _parse_ip(entry)
        if address is None:
            return None
        if not any(address in network for network in trusted):
            return address
    return _parse_ip(chain[0]) if chain else None


def judge_client(
    request: AuthRequest, *, allow_remote: bool, trusted_proxies: Sequence[IPNetwork]
) -> ClientVerdict:
    """Decide whether ``request`` may use the mock login (see the module docstring)."""
    if allow_remote:
        return ClientVerdict(allowed=True, client=request.client)
    peer = _parse_ip(request.client) if request.client else None
    if peer is None:
        return ClientVerdict(
            allowed=False,
            client=request.client,
            reason="the server did not report the client's IP address",
        )
    present = {
        name: values
        for name in FORWARDING_HEADERS
        if (values := _header_values(request, name)) is not None
    }
    peer_trusted = any(peer in network for network in trusted_proxies)
    if not present:
        if peer.is_loopback:
            return ClientVerdict(allowed=True, client=str(peer))
        return ClientVerdict(
            allowed=False, client=str(peer), reason=f"it came from {peer}, not from this machine"
        )
    if not peer_trusted:
        names = ", ".join(_display(name) for name in present)
        return ClientVerdict(
            allowed=False,
            client=str(peer),
            reason=(
                f"it came through a proxy ({names} is set) that is not listed in "
                "[mock] trusted_proxies, so the original client is unknown"
            ),
        )
    for name, chain in present.items():
        client = _client_from_chain(chain, trusted_proxies)
        if client is None:
            return ClientVerdict(
                allowed=False,
                client=str(peer),
                reason=f"its {_display(name)} header does not name an IP address",
            )
        if not client.is_loopback:
            return ClientVerdict(
                allowed=False,
                client=str(client),
                reason=f"it came from {client} (per {_display(name)}), not from this machine",
            )
    return ClientVerdict(allowed=True, client=str(peer))


def _display(header: str) -> str:
    return {"x-forwarded-for": "X-Forwarded-For", "forwarded": "Forwarded"}.get(header, "X-Real-IP")

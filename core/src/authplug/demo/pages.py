"""The demo's HTML: small pages with every dynamic value escaped."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from authplug.models import AuthenticatedUser
from authplug.stores import UserRecord

__all__ = ["admin_page", "home_page", "page"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; line-height: 1.5; }
header { display: flex; justify-content: space-between; align-items: baseline;
         border-bottom: 1px solid #d0d7de; margin-bottom: 1rem; }
nav a { margin-left: 1rem; }
pre { background: #f6f8fa; padding: .75rem; border-radius: 6px; overflow-x: auto; }
table { border-collapse: collapse; } td, th { text-align: left; padding: .2rem .8rem .2rem 0; }
.muted { color: #59636e; } .bar { background: #eaeef2; height: .6rem; border-radius: 3px; }
.bar > span { display: block; height: 100%; background: #0969da; border-radius: 3px; }
"""


def page(title: str, body: str, *, signed_in: bool = True) -> str:
    """Wrap ``body`` (already-escaped HTML) in the demo's layout."""
    nav = '<a href="/">Home</a><a href="/admin">Admin</a><a href="/api/me">/api/me</a>'
    if signed_in:
        nav += '<a href="/auth/logout">Sign out</a>'
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - authplug demo</title><style>{_STYLE}</style></head>"
        f"<body><header><h1>{html.escape(title)}</h1><nav>{nav}</nav></header>"
        f"{body}</body></html>"
    )


def _json_block(data: Mapping[str, Any]) -> str:
    return f"<pre>{html.escape(json.dumps(data, indent=2, sort_keys=True, default=str))}</pre>"


def _row(name: str, value: str) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"


def _cookie_section(size: int | None, budget: int) -> str:
    if size is None:
        return '<p class="muted">No session cookie (a stateless provider answers each request).</p>'
    percent = min(100, round(100 * size / budget)) if budget else 100
    return (
        f"<p>{size:,} of {budget:,} bytes ({percent}%) of the session cookie budget: "
        "the encrypted session, split across cookie chunks.</p>"
        f'<div class="bar"><span style="width:{percent}%"></span></div>'
    )


def home_page(
    user: AuthenticatedUser[Any, Any],
    *,
    record: UserRecord | None,
    cookie_size: int | None,
    cookie_budget: int,
    provider: str,
) -> str:
    """The signed-in home page: who you are and what tools and agents may see.

    Auth data is never rendered: only how many entries it holds.
    """
    name = f"{user.first_name} {user.last_name}".strip() or user.user_id
    auth_keys = len(user.auth_data or {})
    rows = [
        _row("User id", user.user_id),
        _row("Type", user.user_type),
        _row("Roles", ", ".join(user.roles) or "(none)"),
        _row("Features", ", ".join(user.features) or "(none)"),
        _row("Provider", provider),
        _row("Auth data", f"{auth_keys} entries, kept only in the encrypted cookie"),
    ]
    if record is not None:
        rows.append(_row("First seen", record.first_seen.isoformat()))
        rows.append(_row("Last login", record.last_login.isoformat()))
    body = (
        f"<p>Signed in as <strong>{html.escape(name)}</strong>.</p>"
        f"<table>{''.join(rows)}</table>"
        "<h2>What tools see</h2>"
        '<p class="muted"><code>user.tool_view()</code>: everything but auth data.</p>'
        f"{_json_block(user.tool_view().model_dump(mode='json', by_alias=True))}"
        "<h2>What the agent sees</h2>"
        '<p class="muted"><code>user.agent_view()</code>: no auth data, no custom data.</p>'
        f"{_json_block(user.agent_view().model_dump(mode='json', by_alias=True))}"
        "<h2>Session cookie</h2>"
        f"{_cookie_section(cookie_size, cookie_budget)}"
        '<form method="get" action="/auth/logout"><button type="submit">Sign out</button></form>'
    )
    return page("Home", body)


def admin_page(user: AuthenticatedUser[Any, Any]) -> str:
    """The page only ``pika:content-admin`` holders reach (the access rule decides)."""
    body = (
        f"<p>Welcome, {html.escape(user.first_name or user.user_id)}. Only holders of "
        "<code>pika:content-admin</code> see this page: the access rule "
        '<code>{"path": "/admin", "roles": ["pika:content-admin"]}</code> lets nobody '
        "else in (403).</p>"
    )
    return page("Admin", body)

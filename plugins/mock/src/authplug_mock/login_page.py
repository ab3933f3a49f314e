"""The HTML the mock provider renders: the user picker and its error page.

A provider that renders pages itself returns
:class:`~authplug.results.ProviderResponse`. Two habits to copy:

* escape every value that came from configuration or the request with
  :func:`html.escape`, and put ids into URLs with
  :func:`urllib.parse.quote`, never by string pasting;
* send ``Cache-Control: no-store`` and a restrictive Content-Security-Policy,
  so a login page is neither cached by a proxy nor framed by another site.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from authplug.results import ProviderResponse
from authplug_mock.settings import MockUser

__all__ = ["LOGIN_PATH", "SECURITY_HEADERS", "login_page", "refused_page", "unknown_user_page"]

LOGIN_PATH = "/auth/mock/login"
"""Where the mock login page lives (``?user=<id>`` logs that user in)."""

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Cache-Control", "no-store"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        "form-action 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
"""Headers sent with every page the mock provider renders."""

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
    "li{margin:.75rem 0}small{color:#555}"
)


def _document(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    ).encode()


def _user_item(user: MockUser, txn: str | None) -> str:
    link = f"{LOGIN_PATH}?user={quote(user.user_id, safe='')}"
    if txn:
        link += f"&txn={quote(txn, safe='')}"
    roles = ", ".join(user.roles) or "no roles"
    return (
        f'<li><a href="{escape(link)}">{escape(user.display_name)}</a> '
        f"<small>{escape(user.user_id)} &middot; {escape(user.user_type)} "
        f"&middot; {escape(roles)}</small></li>"
    )


_LOCAL_ONLY = (
    "<p><small>This page answers only clients on this machine (loopback). Behind a "
    "reverse proxy it believes <code>X-Forwarded-For</code> only from the proxies listed in "
    "<code>[mock] trusted_proxies</code>. <code>[mock] allow_remote = true</code> opens it "
    "to every client.</small></p>"
)
_OPEN_TO_ALL = (
    "<p><strong>[mock] allow_remote is on: anyone who can reach this page can log in as "
    "any user below, admins included.</strong></p>"
)


def login_page(
    users: Iterable[MockUser], txn: str | None = None, *, allow_remote: bool = False
) -> ProviderResponse:
    """Render the page listing ``users``, each a link that logs that user in.

    :param txn: The login transaction the host started (see
        :func:`authplug_mock.routes.login`); carried on every link so the
        login completes it.
    :param allow_remote: Say that the page is open to every client, instead
        of saying it answers only this machine.
    """
    items = "".join(_user_item(user, txn) for user in users)
    body = (
        "<h1>Mock login</h1><p>Development only: choose who you want to be.</p>"
        f"{_OPEN_TO_ALL if allow_remote else _LOCAL_ONLY}<ul>{items}</ul>"
    )
    return ProviderResponse(
        status=200, body=_document("Mock login", body), headers=SECURITY_HEADERS
    )


def unknown_user_page() -> ProviderResponse:
    """Render the 404 page for a ``?user=`` that names no configured user.

    The requested id is deliberately not shown: echoing request input is how
    reflected XSS starts.
    """
    body = (
        "<h1>Unknown mock user</h1>"
        f'<p>No configured user has that id. <a href="{LOGIN_PATH}">Choose a user</a>.</p>'
    )
    return ProviderResponse(
        status=404, body=_document("Unknown mock user", body), headers=SECURITY_HEADERS
    )


def refused_page(reason: str) -> ProviderResponse:
    """Render the 403 page for a client the mock does not serve (not on this machine).

    :param reason: Why, from :func:`authplug_mock.client_check.judge_client`
        (escaped here).
    """
    body = (
        "<h1>Mock login refused</h1>"
        "<p>The mock provider logs anyone in as any configured user, admins included, so "
        "it answers only clients on this machine (loopback addresses 127.0.0.0/8 and "
        f"<code>::1</code>). This request was refused because {escape(reason)}.</p>"
        "<p>Behind a reverse proxy the mock judges the address of the connecting peer; it "
        "believes <code>X-Forwarded-For</code>, <code>Forwarded</code> and "
        "<code>X-Real-IP</code> only from proxies listed in <code>[mock] trusted_proxies</code> "
        "(<code>AUTHPLUG_MOCK__TRUSTED_PROXIES</code>).</p>"
        "<p>To serve other machines anyway (a shared development server nobody else can "
        "reach), set <code>[mock] allow_remote = true</code> "
        "(<code>AUTHPLUG_MOCK__ALLOW_REMOTE=true</code>). In production use a real provider.</p>"
    )
    return ProviderResponse(
        status=403, body=_document("Mock login refused", body), headers=SECURITY_HEADERS
    )

"""``authplug.django``: middleware, ``request.user``, decorators; test client and a real server."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

pytest.importorskip("django")

from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path

from authplug.django import login_required, roles_required

AUTHPLUG = {"provider": "mock", "store": "memory", "public_paths": ["/open"]}


def who(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse(
        {
            "authplug_user": getattr(request.authplug_user, "user_id", None),  # type: ignore[attr-defined]
            "is_authenticated": user.is_authenticated,
            "username": user.get_username(),
            "full_name": user.get_full_name() if user.is_authenticated else "",
        }
    )


@login_required
def needs_login(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@roles_required("pika:content-admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.username})


@roles_required(user_types=["internal-user"])
def staff(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.username})


urlpatterns = [
    path("me", who),
    path("open", who),
    path("open/needs-login", needs_login),
    path("admin", admin),
    path("staff", staff),
]


@pytest.fixture
def configured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_settings: Callable[..., AbstractContextManager[None]],
) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    with django_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["authplug.django.AuthPlugMiddleware"],
        AUTHPLUG=AUTHPLUG,
    ):
        yield


def login(client: Client, user: str) -> None:
    assert client.get("/me").status_code == 302
    assert client.get(f"/auth/mock/login?user={user}").status_code in (302, 303)


def test_middleware_redirects_then_sets_request_user(configured: None) -> None:
    client = Client()
    first = client.get("/me")
    assert first.status_code == 302
    assert first["location"].startswith("/auth/mock/login")
    login(client, "customer")
    assert client.get("/me").json() == {
        "authplug_user": "customer",
        "is_authenticated": True,
        "username": "customer",
        "full_name": "Casey Customer",
    }


def test_api_clients_get_401_json_from_the_host(configured: None) -> None:
    response = Client().get("/me", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response["content-type"].startswith("application/json")


def test_public_paths_get_an_anonymous_user(configured: None) -> None:
    client = Client()
    assert client.get("/open").json() == {
        "authplug_user": None,
        "is_authenticated": False,
        "username": "",
        "full_name": "",
    }
    assert client.get("/open/needs-login").status_code == 401


def test_decorators_answer_403_for_users_who_do_not_qualify(configured: None) -> None:
    client = Client()
    login(client, "customer")
    assert client.get("/admin").status_code == 403
    assert client.get("/staff").status_code == 403
    other = Client()
    login(other, "admin")
    assert other.get("/admin").json() == {"user": "admin"}
    assert other.get("/staff").json() == {"user": "admin"}


def test_logout_post_goes_through_django(configured: None) -> None:
    client = Client()
    login(client, "admin")
    form = client.get("/auth/logout")
    assert form.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.content.decode())
    assert match is not None
    token = match.group(1)
    done = client.post(  # as a browser submits the form
        "/auth/logout", f"csrf_token={token}", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code in (302, 303)
    assert client.get("/me").status_code == 302


def test_settings_authplug_must_be_a_mapping(
    configured: None, django_settings: Callable[..., AbstractContextManager[None]]
) -> None:
    with django_settings(AUTHPLUG="mock"), pytest.raises(TypeError, match=r"settings\.AUTHPLUG"):
        Client().get("/me")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.server
def test_over_a_real_wsgi_server(configured: None) -> None:
    from django.core.wsgi import get_wsgi_application

    server: WSGIServer = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with httpx.Client(base_url=base) as client:
            assert client.get("/me").status_code == 302
            assert client.get("/auth/mock/login?user=admin").status_code in (302, 303)
            assert client.get("/me").json()["username"] == "admin"
            assert client.get("/admin").json() == {"user": "admin"}
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_without_settings_authplug_the_usual_sources_apply(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_settings: Callable[..., AbstractContextManager[None]],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "authplug.toml").write_text('provider = "mock"\nstore = "memory"\n')
    monkeypatch.setenv("AUTHPLUG_PUBLIC_PATHS", '["/open"]')
    with django_settings(ROOT_URLCONF=__name__, MIDDLEWARE=["authplug.django.AuthPlugMiddleware"]):
        client = Client()
        assert client.get("/open").status_code == 200  # public, from the environment
        assert client.get("/me")["location"].startswith("/auth/mock/login")  # mock, from the file

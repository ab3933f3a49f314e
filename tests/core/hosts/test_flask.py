"""``authplug.flask``: extension, ``current_user``, ``g``, decorators; test client, real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, g, jsonify
from werkzeug.serving import make_server

from authplug.flask import AuthPlug, current_user, login_required, optional_user, roles_required

SETTINGS = {"provider": "mock", "store": "memory", "public_paths": ["/open"]}


def make_app(settings: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["AUTHPLUG"] = settings or SETTINGS
    AuthPlug(app)

    @app.get("/me")
    def me() -> Any:
        return jsonify(user=current_user.user_id, in_g=g.authplug_user.user_id)

    @app.get("/open")
    def open_page() -> Any:
        return jsonify(user=optional_user() and optional_user().user_id, proxy=bool(current_user))  # type: ignore[union-attr]

    @app.get("/open/needs-login")
    @login_required
    def needs_login() -> Any:
        return jsonify(ok=True)

    @app.get("/open/admin")
    @roles_required("pika:content-admin")
    def open_admin() -> Any:
        return jsonify(ok=True)

    @app.get("/staff")
    @roles_required(user_types=["internal-user"])
    def staff() -> Any:
        return jsonify(user=current_user.user_id)

    @app.get("/admin")
    @roles_required("pika:content-admin")
    def admin() -> Any:
        return jsonify(user=current_user.user_id)

    return app


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.chdir(tmp_path)
    made = make_app()
    yield made
    made.extensions["authplug"].close()


def login(client: Any, user: str) -> None:
    assert client.get("/me").status_code == 302
    assert client.get(f"/auth/mock/login?user={user}").status_code in (302, 303)


def test_the_extension_redirects_then_hands_views_the_user(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/me")
    assert first.status_code == 302
    assert first.headers["location"].startswith("/auth/mock/login")
    login(client, "customer")
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json == {"user": "customer", "in_g": "customer"}


def test_decorators_answer_401_and_403(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/open").json == {"user": None, "proxy": False}
    assert client.get("/open/needs-login").status_code == 401
    assert client.get("/open/admin").status_code == 401
    login(client, "customer")
    # Public paths pass the host untouched: no session is read there, so no user.
    assert client.get("/open/needs-login").status_code == 401
    assert client.get("/staff").status_code == 403
    assert client.get("/admin").status_code == 403  # the decorator, no access rule here


def test_roles_and_user_types_let_the_right_users_in(app: Flask) -> None:
    client = app.test_client()
    login(client, "admin")
    assert client.get("/admin").json == {"user": "admin"}
    assert client.get("/staff").json == {"user": "admin"}
    assert client.get("/open").json == {"user": None, "proxy": False}


def test_init_app_for_application_factories(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ext = AuthPlug()
    app = Flask(__name__)
    app.config["AUTHPLUG"] = SETTINGS
    ext.init_app(app)
    assert app.extensions["authplug"] is ext
    assert app.test_client().get("/anything").status_code == 302
    ext.close()


def test_a_bad_config_value_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = Flask(__name__)
    app.config["AUTHPLUG"] = "mock"
    with pytest.raises(TypeError, match="AUTHPLUG"):
        AuthPlug(app)


@pytest.mark.server
def test_over_a_real_wsgi_server(app: Flask) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
            assert client.get("/me").status_code == 302
            assert client.get("/auth/mock/login?user=admin").status_code in (302, 303)
            assert client.get("/admin").json() == {"user": "admin"}
            api = httpx.get(
                f"http://127.0.0.1:{server.server_port}/me", headers={"accept": "application/json"}
            )
            assert api.status_code == 401
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_without_app_config_the_usual_sources_apply(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "authplug.toml").write_text('provider = "mock"\nstore = "memory"\n')
    monkeypatch.setenv("AUTHPLUG_PUBLIC_PATHS", '["/open"]')
    app = Flask(__name__)

    @app.get("/open")
    def open_page() -> Any:
        return jsonify(ok=True)

    ext = AuthPlug(app)
    try:
        client = app.test_client()
        assert client.get("/open").status_code == 200
        assert client.get("/me").headers["location"].startswith("/auth/mock/login")
    finally:
        ext.close()

"""The hub rig works: users' servers on one bucket, tokens confined to their owner's server,
and JupyterHub's custom scopes deciding what a user may do on a server."""

from __future__ import annotations

import time

import pytest

from tests.hub.rig import SCOPE_PREFIX, Hub

#: One hub for every test of tests/hub when run with ``--dist loadgroup`` (make test).
pytestmark = pytest.mark.xdist_group("hub")

NOTEBOOK = {
    "type": "notebook",
    "format": "json",
    "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
}


def test_every_server_archives_to_the_one_bucket(hub: Hub) -> None:
    began = time.monotonic()
    hub.start_server("alice")
    hub.start_server("bob")
    print(
        f"\nhub started in {hub.timings['hub']:.1f} s; servers of alice and bob in "
        f"{time.monotonic() - began:.1f} s ({hub.timings})"
    )
    for user in ("alice", "bob"):
        status, body = hub.request(user, "GET", "api/bookstore")
        assert status == 200, body
        assert body["store"]["backend"] == "s3"
        assert body["store"]["bucket"] == hub.bucket
        assert body["store"]["usable"] is True, body["store"]
        assert body["features"]["archive_valid"] is True


def test_a_token_opens_only_its_owners_server(hub: Hub) -> None:
    hub.start_server("alice")
    hub.start_server("bob")
    status, _ = hub.request("bob", "GET", "api/bookstore", as_user="alice")
    # JupyterHub's identity provider finds no access:servers!server=bob/ on alice's
    # token: Jupyter Server treats the request as anonymous, and an API answers 403
    assert status == 403
    status, _ = hub.request("bob", "GET", "api/contents", as_user="alice")
    assert status == 403


def test_custom_scopes_decide_what_a_user_may_do(hub: Hub) -> None:
    hub.start_server("carol")
    hub.start_server("alice")
    status, body = hub.request("carol", "GET", "api/contents")
    assert status == 200, body
    status, body = hub.request("carol", "GET", "api/bookstore")
    assert status == 200, body
    # carol lacks custom:jupyter_server:write:contents on her own server
    status, body = hub.request("carol", "PUT", "api/contents/x.ipynb", NOTEBOOK)
    assert status == 403, body
    # alice has it (role "owner"): the same request is fine on her server
    status, body = hub.request("alice", "PUT", "api/contents/x.ipynb", NOTEBOOK)
    assert status == 201, body


def test_a_browser_login_carries_the_users_custom_scopes(hub: Hub) -> None:
    """An OAuth login (cookie) gets the user's custom scopes on that one server
    (``Spawner.oauth_client_allowed_scopes``), and is limited like the user's API token."""
    hub.start_server("carol")
    hub.start_server("alice")
    for user, write_status in (("carol", 403), ("alice", 201)):
        session = hub.login(user)
        status, body = hub.api("GET", f"users/{user}/tokens")
        assert status == 200, body
        # this login's token: the newest of the server's OAuth tokens (a browser test of
        # the same session may have logged the user in before)
        logins = [
            token
            for token in body["api_tokens"]
            if token.get("oauth_client") == f"Server at /user/{user}/"
        ]
        assert logins, body
        oauth = max(logins, key=lambda token: token["created"])["scopes"]
        own = f"!server={user}/"
        assert f"{SCOPE_PREFIX}:read:*{own}" in oauth
        assert f"{SCOPE_PREFIX}:write:bookstore{own}" in oauth
        assert (f"{SCOPE_PREFIX}:write:contents{own}" in oauth) is (user == "alice")
        try:
            response = session.get(hub.server_url(user, "api/contents"), timeout=60)
            assert response.status_code == 200, response.text
            xsrf = session.cookies.get("_xsrf", path=f"/user/{user}/") or ""
            response = session.put(
                hub.server_url(user, "api/contents/login.ipynb"),
                json=NOTEBOOK,
                headers={"X-XSRFToken": xsrf},
                timeout=60,
            )
            assert response.status_code == write_status, response.text
        finally:
            session.close()


@pytest.mark.parametrize("user", ["alice"])
def test_the_servers_user_is_the_hub_user(hub: Hub, user: str) -> None:
    hub.start_server(user)
    status, body = hub.request(user, "GET", "api/me")
    assert status == 200, body
    assert body["identity"]["username"] == user

"""Granular permissions for bookstore on JupyterHub: JupyterHub custom scopes decide
each of Jupyter Server's (action, resource) checks.

Use it in a single-user server's configuration::

    c.ServerApp.authorizer_class = "bookstore.server.hub_authorizer.HubScopesAuthorizer"

and define the custom scopes in ``jupyterhub_config.py``, named as in JupyterHub's example
"Granting read-only access to user servers" (``examples/read-only``)::

    c.JupyterHub.custom_scopes = {
        "custom:jupyter_server:read:*": {"description": "read anything on a server"},
        "custom:jupyter_server:write:bookstore": {"description": "archive, publish, clone"},
        ...
    }

A request on a server of user ``U`` is allowed when the token (or OAuth session) has
JupyterHub's ``access:servers`` for it *and* one of
``custom:jupyter_server:{action}:{resource}`` or ``custom:jupyter_server:{action}:*``,
unfiltered or filtered to ``!user=U`` or ``!server=U/<server name>``.  Jupyter Server's
actions are ``read``, ``write`` and ``execute``; bookstore's routes use the resource
``bookstore``, Jupyter's files API ``contents``.

Only this module imports ``jupyterhub`` (not a dependency of bookstore): import it only on
a hub's single-user servers.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.auth import User
from jupyter_server.base.handlers import JupyterHandler
from jupyterhub.services.auth import check_scopes  # type: ignore[import-untyped]
from jupyterhub.singleuser.extension import (  # type: ignore[import-untyped]
    JupyterHubAuthorizer,
)

__all__ = ["SCOPE_PREFIX", "HubScopesAuthorizer", "required_scopes"]

#: Every scope this authorizer checks starts with it (JupyterHub's example's naming).
SCOPE_PREFIX = "custom:jupyter_server"


def required_scopes(action: str, resource: str, username: str, server_name: str = "") -> set[str]:
    """The scopes any one of which allows ``action`` on ``resource`` of ``username``'s
    server ``server_name`` (``""``: the default server)."""
    filters = ("", f"!user={username}", f"!server={username}/{server_name}")
    return {
        f"{SCOPE_PREFIX}:{action}:{target}{scope_filter}"
        for target in (resource, "*")
        for scope_filter in filters
    }


class HubScopesAuthorizer(JupyterHubAuthorizer):  # type: ignore[misc]
    """A single-user server's authorizer: JupyterHub's ``access:servers`` check, then the
    JupyterHub custom scope for the (action, resource) pair on this server."""

    def is_authorized(
        self, handler: JupyterHandler, user: User, action: str, resource: str
    ) -> bool:
        """True when ``user`` may take ``action`` on ``resource`` of this server."""
        if not super().is_authorized(handler, user, action, resource):
            return False
        hub_user: dict[str, Any] | None = getattr(user, "hub_user", None)
        if not hub_user:
            return False
        wanted = required_scopes(
            action,
            resource,
            os.environ["JUPYTERHUB_USER"],
            os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
        )
        granted: set[str] = check_scopes(wanted, set(hub_user.get("scopes", ())))
        self.log.debug(
            "%s: %s on %s %s by %s",
            user.username,
            action,
            resource,
            "allowed" if granted else "refused",
            sorted(granted) or "no scope",
        )
        return bool(granted)

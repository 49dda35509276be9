"""Who is asking: the :class:`~bookstore.core.access.Actor` of a request.

On a JupyterHub single-user server the identity is JupyterHub's user (``hub_user``: the
name, groups and admin flag).  On a server with Jupyter's own token or password login,
whoever logs in is the person the server runs for, so the actor is the server's user
(``JUPYTERHUB_USER``, else the OS user): the random names Jupyter gives such sessions
would change at every restart and orphan that user's publications.  With any other
identity provider, its user name.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

from ..core.access import Actor
from ..keys import server_username

__all__ = ["actor_of"]

#: Identity providers whose users all are the server's own user.
_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


def actor_of(user: Any, identity_provider: Any) -> Actor:
    """The actor for Jupyter's ``current_user`` under ``identity_provider``."""
    hub_user = getattr(user, "hub_user", None)
    if isinstance(hub_user, dict):
        groups = hub_user.get("groups") or ()
        return Actor(
            username=str(hub_user.get("name") or user.username),
            groups=frozenset(str(group) for group in groups),
            is_admin=bool(hub_user.get("admin")),
            on_hub=True,
        )
    if type(identity_provider) in _SINGLE_USER_PROVIDERS:
        return Actor(username=server_username() or str(user.username))
    return Actor(username=str(user.username))

"""Who may reach what: the person acting, the keys they may clone, who manages a publication
and who reads the audit trail.

Everything here is pure: the server builds an :class:`Actor` from Jupyter's identity
(:mod:`bookstore.server.identity`), the command line from ``--as-user`` or the OS user.

* :class:`ClonePolicy` is ``BookstoreSettings.clone_allowed_prefixes`` for one user: the
  keys that user may clone or open on a landing page.  A key outside it is refused before
  the store is asked, so the refusal never tells whether the key exists.
* A publication belongs to whoever published it first (:data:`OWNER_FIELD` in the
  object's metadata).  Its owner, the ``publication_editors`` and JupyterHub admins may
  publish over it or unpublish it (:func:`check_may_manage`).
* The audit trail is read by ``audit_readers`` and JupyterHub admins; outside a hub, also
  by the user the server runs for (:func:`check_may_read_audit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from ..errors import InvalidPath, NotAllowed
from ..keys import expand_prefix, normalize_path

__all__ = [
    "GROUP_PREFIX",
    "OWNER_FIELD",
    "PUBLISHED_BY_FIELD",
    "Actor",
    "ClonePolicy",
    "check_may_manage",
    "check_may_read_audit",
    "is_member",
    "name_field",
    "name_in",
]

#: The object metadata field naming a publication's owner (``x-amz-meta-bookstore-owner``).
OWNER_FIELD = "bookstore-owner"
#: The metadata field naming who published that version (the owner, or an editor).
PUBLISHED_BY_FIELD = "bookstore-published-by"


def name_field(username: str) -> str:
    """A user name as an object metadata value (ASCII only: the rest percent-encoded)."""
    return quote(username, safe="@.-_+~")


def name_in(metadata: Mapping[str, str], field_name: str) -> str | None:
    """The user name stored in ``metadata[field_name]``, or None."""
    value = metadata.get(field_name)
    return unquote(value) if value else None


#: How a group is named in ``publication_editors`` and ``audit_readers``.
GROUP_PREFIX = "group:"


@dataclass(frozen=True)
class Actor:
    """The person an action is done for.

    ``username`` is the Jupyter identity's (JupyterHub's user name on a hub; the server's
    OS user on a single-user server); ``groups`` and ``is_admin`` are JupyterHub's, when
    the server runs on a hub.  ``on_hub`` is whether a JupyterHub authenticated them.
    """

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    on_hub: bool = False


def is_member(actor: Actor, names: Iterable[str]) -> bool:
    """True when ``names`` lists ``actor`` by user name or one of their groups
    (``group:<name>``)."""
    for name in names:
        if name.startswith(GROUP_PREFIX):
            if name[len(GROUP_PREFIX) :] in actor.groups:
                return True
        elif name == actor.username:
            return True
    return False


def _may_manage_everything(actor: Actor, editors: Sequence[str]) -> bool:
    return actor.is_admin or is_member(actor, editors)


def check_may_manage(actor: Actor, owner: str | None, path: str, editors: Sequence[str]) -> None:
    """Refuse (403, naming the owner) when ``actor`` may not publish over or unpublish the
    publication ``path`` owned by ``owner``.  A publication without an owner (published
    before bookstore 3) may be managed by anyone, as before; the next publish claims it."""
    if not owner or owner == actor.username or _may_manage_everything(actor, editors):
        return
    raise NotAllowed(
        f"{path!r} is published by {owner!r}: only {owner!r}, the publication editors "
        "(BookstoreSettings.publication_editors) and JupyterHub admins may publish over "
        "it or unpublish it. Publish your version under another path."
    )


def check_may_read_audit(actor: Actor, readers: Sequence[str], server_user: str) -> None:
    """Refuse (403) unless ``actor`` may read the audit trail."""
    if actor.is_admin or is_member(actor, readers):
        return
    if not actor.on_hub and actor.username == server_user:
        return
    raise NotAllowed(
        "The audit trail is readable only by the users and groups of "
        "BookstoreSettings.audit_readers and by JupyterHub admins."
    )


class ClonePolicy:
    """The keys one user may clone or open on a landing page: every key under one of
    ``prefixes`` (whole key segments: ``published`` allows ``published/a.ipynb``, not
    ``published-old/a.ipynb``).  An empty prefix allows every key (bookstore 2.x)."""

    SETTING = "BookstoreSettings.clone_allowed_prefixes"

    def __init__(self, prefixes: Sequence[str]) -> None:
        self.prefixes = tuple(prefixes)

    @classmethod
    def for_user(
        cls,
        templates: Sequence[str],
        username: str,
        *,
        workspace_prefix: str | None,
        published_prefix: str | None,
    ) -> ClonePolicy:
        """The policy of ``username``: each template with ``{username}``,
        ``{workspace_prefix}`` (that user's) and ``{published_prefix}`` filled.  A template
        naming a prefix that is off (None) or that cannot be expanded allows nothing."""
        prefixes: list[str] = []
        for template in templates:
            prefix = _expand(template, username, workspace_prefix, published_prefix)
            if prefix is not None:
                prefixes.append(prefix)
        return cls(prefixes)

    def allows(self, key: str) -> bool:
        """True when ``key`` (a normalised key) lies under one of the prefixes."""
        for prefix in self.prefixes:
            if not prefix or key == prefix or key.startswith(prefix + "/"):
                return True
        return False

    def check(self, key: str, verb: str = "clone") -> None:
        """Refuse (403) a key outside the policy, the same way whether it exists or not;
        ``verb`` says what was tried (``clone``, ``read``, ``write``)."""
        if self.allows(key):
            return
        shown = key if len(key) <= 200 else key[:200] + "…"
        if self.prefixes:
            allowed = ", ".join(f"{prefix}/" for prefix in self.prefixes)
            raise NotAllowed(
                f"You may {verb} only keys under {allowed} ({self.SETTING}), not {shown!r}."
            )
        raise NotAllowed(f"You may {verb} no key here ({self.SETTING} is empty), not {shown!r}.")


def _expand(
    template: str, username: str, workspace_prefix: str | None, published_prefix: str | None
) -> str | None:
    text = template
    for name, value in (
        ("{workspace_prefix}", workspace_prefix),
        ("{published_prefix}", published_prefix),
    ):
        if name in text:
            if value is None:
                return None
            text = text.replace(name, value)
    try:
        return normalize_path(expand_prefix(text, username), what="clone prefix")
    except InvalidPath:
        return None

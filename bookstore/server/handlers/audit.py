"""``GET /api/bookstore/audit``: the audit trail, newest first, for those who may read it
(``BookstoreSettings.audit_readers``, JupyterHub admins; outside a hub, the server's user)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.access import check_may_read_audit
from ...tokens import parse_limit
from .base import BookstoreAPIHandler

__all__ = ["AuditHandler"]


class AuditHandler(BookstoreAPIHandler):
    """``GET /api/bookstore/audit?limit=&page_token=&user=&action=``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"events", "next_token"}``."""
        services = self.services
        check_may_read_audit(
            self.actor, list(services.settings.audit_readers), services.areas.username
        )
        limit = parse_limit(self.get_query_argument("limit", None), 50)
        token = self.get_query_argument("page_token", None) or None
        # As sent (tornado's default strip would take " clone " for "clone").
        user = self.get_query_argument("user", None, strip=False) or None
        action = self.get_query_argument("action", None, strip=False) or None
        log = await services.audit_log()
        # Read-your-writes: this server's own records are in the listing.
        await services.flush_audit(services.settings.checkpoint_timeout)
        page = await log.page(limit=limit, token=token, user=user, action=action)
        self.finish_json({"events": page.items, "next_token": page.next_token})

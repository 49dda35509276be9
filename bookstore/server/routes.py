"""The one route table of bookstore's server extension: every URL pattern (below the
server's ``base_url``) and the handler that serves it."""

from __future__ import annotations

from tornado import web

from .handlers.audit import AuditHandler
from .handlers.clone import BookstoreCloneAPIHandler, BookstoreFSCloneAPIHandler
from .handlers.history import (
    DiffHandler,
    PublishedCatalogHandler,
    PublishedDiffHandler,
    PublishedNotebookHandler,
    PublishedVersionHandler,
    PublishedVersionsHandler,
    VersionsHandler,
    WorkspaceVersionHandler,
)
from .handlers.publish import BookstorePublishHandler
from .handlers.runs import (
    RunCancelHandler,
    RunHandler,
    RunLogHandler,
    RunNotebookHandler,
    RunParametersHandler,
    RunsHandler,
    ScheduleActionHandler,
    ScheduleHandler,
    SchedulePreviewHandler,
    SchedulesHandler,
)
from .handlers.status import ArchiveStatusHandler, BookstoreVersionHandler
from .openapi import OpenAPIHandler
from .pages.clone import BookstoreCloneHandler, BookstoreFSCloneHandler

__all__ = ["ROUTES"]

#: ``(pattern, handler)`` for every route; the order matters where patterns overlap
#: (``published/{path}/versions`` before ``published/{path}``).
ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    (r"/api/bookstore/?", BookstoreVersionHandler),
    (r"/api/bookstore/archive/?", ArchiveStatusHandler),
    (r"/api/bookstore/audit/?", AuditHandler),
    (r"/api/bookstore/openapi\.json", OpenAPIHandler),
    (r"/api/bookstore/publish/(.*)", BookstorePublishHandler),
    (r"/api/bookstore/clone/?", BookstoreCloneAPIHandler),
    (r"/api/bookstore/fs-clone/?", BookstoreFSCloneAPIHandler),
    (r"/api/bookstore/workspace/(.+)/versions/?", VersionsHandler),
    (r"/api/bookstore/workspace/(.+)/versions/([^/]+)", WorkspaceVersionHandler),
    (r"/api/bookstore/workspace/(.+)/diff/?", DiffHandler),
    (r"/api/bookstore/published/?", PublishedCatalogHandler),
    (r"/api/bookstore/published/(.+)/versions/?", PublishedVersionsHandler),
    (r"/api/bookstore/published/(.+)/versions/([^/]+)", PublishedVersionHandler),
    (r"/api/bookstore/published/(.+)/diff/?", PublishedDiffHandler),
    (r"/api/bookstore/published/(.+)", PublishedNotebookHandler),
    (r"/api/bookstore/runs/?", RunsHandler),
    (r"/api/bookstore/runs/parameters/?", RunParametersHandler),
    (r"/api/bookstore/runs/([^/]+)/cancel/?", RunCancelHandler),
    (r"/api/bookstore/runs/([^/]+)/log/?", RunLogHandler),
    (r"/api/bookstore/runs/([^/]+)/notebook/?", RunNotebookHandler),
    (r"/api/bookstore/runs/([^/]+)/?", RunHandler),
    (r"/api/bookstore/schedules/?", SchedulesHandler),
    (r"/api/bookstore/schedules/preview/?", SchedulePreviewHandler),
    (r"/api/bookstore/schedules/([^/]+)/(pause|resume|run)/?", ScheduleActionHandler),
    (r"/api/bookstore/schedules/([^/]+)/?", ScheduleHandler),
    (r"/bookstore/clone/?", BookstoreCloneHandler),
    (r"/bookstore/fs-clone/?", BookstoreFSCloneHandler),
]

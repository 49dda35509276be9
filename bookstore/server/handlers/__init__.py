"""bookstore's REST handlers, one module per resource; each parses the request, calls a
service of :class:`~bookstore.server.services.BookstoreServices`, and encodes the reply.

* :mod:`.base`: authorization, errors mapped to their status, JSON in and out;
* :mod:`.status`: ``/api/bookstore`` (release, features, store) and its archive state;
* :mod:`.publish`: ``/api/bookstore/publish/{path}``;
* :mod:`.clone`: ``/api/bookstore/clone`` and ``/api/bookstore/fs-clone``;
* :mod:`.history`: versions, diffs and the published catalog.

The landing pages are in :mod:`bookstore.server.pages`; the one route table in
:mod:`bookstore.server.routes`.
"""

"""bookstore 2.x's ``bookstore.handlers``; the handlers live in
:mod:`bookstore.server.handlers`, the extension in :mod:`bookstore.server.app`."""

from typing import Any

from .server.handlers.status import BookstoreVersionHandler

__all__ = ["BookstoreVersionHandler", "load_jupyter_server_extension"]


def load_jupyter_server_extension(nb_app: Any) -> None:
    """Load bookstore into a running server (bookstore 2.x's entry point, kept for old
    configurations); current Jupyter finds the extension by itself."""
    from .server.app import BookstoreApp

    BookstoreApp._load_jupyter_server_extension(nb_app)  # type: ignore[no-untyped-call]

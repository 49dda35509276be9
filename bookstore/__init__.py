"""bookstore: storage workflows for Jupyter notebooks.

Every save becomes an immutable version in an object store (S3 or an embedded
local store); notebooks can be published, cloned, and their history listed,
diffed and restored.  Loaded as a jupyter_server 2 extension.
"""

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension app lives."""
    from .app import BookstoreApp

    return [{"module": "bookstore.app", "app": BookstoreApp}]

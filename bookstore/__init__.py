"""bookstore: storage workflows for Jupyter notebooks.

Every save becomes an immutable version in an object store (S3 or an embedded local
store); notebooks can be published, cloned, and their history listed, diffed and
restored.  Loaded as a jupyter_server 2 extension (:mod:`bookstore.server`).

Importing ``bookstore`` stays cheap: bookstore 2.x's top-level names
(``BookstoreContentsArchiver``, ``BookstoreSettings``, ``load_jupyter_server_extension``)
are imported on first use, so a config file that begins with
``from bookstore import BookstoreContentsArchiver, BookstoreSettings`` keeps working.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ._version import __version__, version_info

__all__ = [
    "PACKAGE_DIR",
    "BookstoreContentsArchiver",
    "BookstoreSettings",
    "__version__",
    "load_jupyter_server_extension",
    "version_info",
]

#: The directory of the installed package (bookstore 2.x's name).
PACKAGE_DIR: str = os.path.realpath(os.path.dirname(__file__))

#: bookstore 2.x's top-level names, imported on first use: name -> module.
_LAZY_NAMES = {
    "BookstoreContentsArchiver": "bookstore.archive",
    "BookstoreSettings": "bookstore.bookstore_config",
    "load_jupyter_server_extension": "bookstore.handlers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'bookstore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES})


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension app lives."""
    from .server.app import BookstoreApp

    return [{"module": "bookstore.server.app", "app": BookstoreApp}]


def _jupyter_server_extension_paths() -> list[dict[str, str]]:
    """bookstore 2.x's discovery function (the module with
    ``load_jupyter_server_extension``); jupyter_server uses the extension points above."""
    return [{"module": "bookstore"}]

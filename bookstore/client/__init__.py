"""bookstore's Python client: publish, clone and browse the history of the current
notebook from its kernel (:class:`BookstoreClient`), or of any notebook of a Jupyter
server named by URL and token.

The client talks to the REST API of a running Jupyter server with bookstore enabled
(``bookstore/openapi.yaml``); it needs ``requests``, and ``ipykernel`` to find the
current notebook from a kernel.
"""

from .errors import (
    BookstoreAPIError,
    BookstoreClientError,
    NotebookNotIdentifiedError,
    NotInKernelError,
    ServerConnectionError,
    ServerNotFoundError,
    TokenRequiredError,
)
from .nb_client import (
    CurrentNotebookClient,
    KernelInfo,
    LiveNotebookRecord,
    NotebookClient,
    NotebookClientCollection,
    NotebookSession,
    extract_kernel_id,
)
from .store_client import BookstoreClient

__all__ = [
    "BookstoreAPIError",
    "BookstoreClient",
    "BookstoreClientError",
    "CurrentNotebookClient",
    "KernelInfo",
    "LiveNotebookRecord",
    "NotInKernelError",
    "NotebookClient",
    "NotebookClientCollection",
    "NotebookNotIdentifiedError",
    "NotebookSession",
    "ServerConnectionError",
    "ServerNotFoundError",
    "TokenRequiredError",
    "extract_kernel_id",
]

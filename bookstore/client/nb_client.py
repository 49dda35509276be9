"""Talk to the Jupyter server that runs this kernel.

A kernel started by a Jupyter server does not know which notebook it belongs to. This
module finds out the way bookstore 2.x did, but without guessing:

1. the kernel's id comes from its connection file (``kernel-<id>.json``, see
   :func:`current_kernel_id`);
2. the running servers are listed from their runtime files (``jpserver-<pid>.json`` in
   Jupyter's runtime directory, as ``jupyter_server.serverapp.list_running_servers()``
   reads them); the one whose ``/api/kernels`` has this kernel is the current server
   (:meth:`NotebookClientCollection.current_server`); servers that cannot be reached
   (stale runtime files) are skipped;
3. the server's ``/api/sessions`` tell which notebook uses the kernel
   (:attr:`CurrentNotebookClient.session`).

When any step cannot give exactly one answer (no server, a kernel that no server started,
as under papermill or nbconvert, no session or several notebooks on one kernel) a
:class:`~bookstore.client.errors.BookstoreClientError` says what happened and how to pass
the server or the notebook's path explicitly.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import requests

from .errors import (
    BookstoreAPIError,
    BookstoreClientError,
    NotebookNotIdentifiedError,
    NotInKernelError,
    ServerConnectionError,
    ServerNotFoundError,
    TokenRequiredError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "DISCOVERY_TIMEOUT",
    "CurrentNotebookClient",
    "KernelInfo",
    "LiveNotebookRecord",
    "NotebookClient",
    "NotebookClientCollection",
    "NotebookSession",
    "current_connection_file",
    "current_kernel_id",
    "extract_kernel_id",
    "quote_path",
]

#: Seconds a request to the Jupyter server may take (connecting, then each read).
DEFAULT_TIMEOUT = 30.0
#: Seconds each running server gets to answer while looking for this kernel's server.
DISCOVERY_TIMEOUT = 5.0

_KERNEL_FILE = re.compile(r"kernel-(.+)\.json")
_SERVER_FILE = re.compile(r"jpserver-(.+)\.json")
_XSRF_COOKIE = "_xsrf"
#: Example used in the messages that explain how to pass things explicitly.
_EXAMPLE_PATH = "folder/report.ipynb"


def extract_kernel_id(connection_file: str) -> str:
    """Get the kernel id string from a file: ``.../kernel-<id>.json`` gives ``<id>``.

    Raises :class:`ValueError` when the file name is not of that form (a kernel started
    by hand with its own connection file name).
    """
    name = os.path.basename(connection_file)
    match = _KERNEL_FILE.fullmatch(name)
    if match is None:
        raise ValueError(
            f"The connection file {name!r} is not named kernel-<id>.json, so it names no "
            "kernel id (Jupyter servers always name their kernels' files that way)."
        )
    return match.group(1)


def _explicit_hint(server_url: str | None = None) -> str:
    """How to tell the client everything explicitly, for error messages."""
    url = server_url or "http://127.0.0.1:8888/"
    return (
        f"pass the server and the notebook explicitly, e.g. BookstoreClient("
        f"server_url={url!r}, token='<the server token>', path={_EXAMPLE_PATH!r})"
    )


def current_connection_file() -> str:
    """The connection file of the kernel running this code.

    Raises :class:`~bookstore.client.errors.NotInKernelError` outside a kernel.
    """
    try:
        from ipykernel.connect import get_connection_file
        from ipykernel.kernelapp import IPKernelApp
    except ImportError as exc:
        raise NotInKernelError(
            "ipykernel is not installed, so this code does not run in a Jupyter kernel and "
            f"has no current notebook; {_explicit_hint()}."
        ) from exc
    if not IPKernelApp.initialized():
        raise NotInKernelError(
            "This code does not run inside a Jupyter kernel, so it has no current notebook; "
            f"{_explicit_hint()}."
        )
    try:
        return str(get_connection_file())
    except OSError:
        # The file was removed since the kernel started; its name still gives the id.
        return str(IPKernelApp.instance().connection_file)


def current_kernel_id() -> str:
    """The id of the kernel running this code (from its connection file's name).

    Raises :class:`~bookstore.client.errors.NotInKernelError` outside a kernel, and
    :class:`~bookstore.client.errors.NotebookNotIdentifiedError` for a kernel whose
    connection file does not name an id (no Jupyter server started it).
    """
    connection_file = current_connection_file()
    try:
        return extract_kernel_id(connection_file)
    except ValueError as exc:
        raise NotebookNotIdentifiedError(
            f"{exc} This kernel was not started by a Jupyter server, so it belongs to no "
            f"notebook session; {_explicit_hint()}."
        ) from exc


def quote_path(path: str) -> str:
    """``path`` percent-encoded for a URL, each segment on its own (``/`` is kept)."""
    return quote(path, safe="/")


class LiveNotebookRecord(NamedTuple):
    """Representation of a live Jupyter server.

    A record of a runtime file entry as ``jupyter_server.serverapp.list_running_servers()``
    yields it (``notebook_dir`` is its ``root_dir``), or of a server named by URL
    (:meth:`from_url`). Its ``repr`` hides the token.
    """

    base_url: str
    hostname: str
    notebook_dir: str
    password: bool
    pid: int
    port: int
    secure: bool
    token: str
    url: str

    def __repr__(self) -> str:
        fields = self._asdict()
        if fields["token"]:
            fields["token"] = "<hidden>"
        inner = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        return f"LiveNotebookRecord({inner})"

    @classmethod
    def from_server_info(cls, info: Mapping[str, Any]) -> LiveNotebookRecord:
        """A record of one ``list_running_servers()`` entry (or of a mapping with this
        record's fields); ``root_dir`` maps to ``notebook_dir`` and unknown keys are
        ignored."""
        notebook_dir = info.get("notebook_dir", info.get("root_dir", ""))
        return cls(
            base_url=str(info.get("base_url") or "/"),
            hostname=str(info.get("hostname") or "localhost"),
            notebook_dir=str(notebook_dir or ""),
            password=bool(info.get("password", False)),
            pid=int(info.get("pid") or 0),
            port=int(info.get("port") or 0),
            secure=bool(info.get("secure", False)),
            token=str(info.get("token") or ""),
            url=str(info.get("url") or ""),
        )

    @classmethod
    def from_url(cls, url: str, token: str | None = None) -> LiveNotebookRecord:
        """A record of the server at ``url``, its base URL (e.g.
        ``http://127.0.0.1:8888/`` or ``https://hub.example.org/user/alice/``).

        A ``?token=...`` in ``url`` is used when ``token`` is not given.
        """
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{url!r} is not the http(s) URL of a Jupyter server.")
        if token is None:
            token = parse_qs(parts.query).get("token", [""])[0]
        secure = parts.scheme == "https"
        base_url = "/" + parts.path.strip("/")
        base_url = base_url if base_url == "/" else base_url + "/"
        return cls(
            base_url=base_url,
            hostname=parts.hostname,
            notebook_dir="",
            password=False,
            pid=0,
            port=parts.port or (443 if secure else 80),
            secure=secure,
            token=token,
            url=urlunsplit((parts.scheme, parts.netloc, base_url, "", "")),
        )


def _server_url(record: LiveNotebookRecord) -> str:
    """The server's base URL without a trailing slash, from ``url`` (scheme and host) and
    ``base_url`` (path); a wildcard listening address becomes the loopback address."""
    parts = urlsplit(record.url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BookstoreClientError(
            f"The Jupyter server with URL {record.url!r} cannot be reached over http(s) "
            "(servers on a Unix socket are not supported); start it with --ip and --port."
        )
    scheme = "https" if record.secure else parts.scheme
    netloc = parts.netloc
    if parts.hostname in {"0.0.0.0", "::"}:
        loopback = "127.0.0.1" if parts.hostname == "0.0.0.0" else "[::1]"
        netloc = f"{loopback}:{parts.port}" if parts.port else loopback
    base_url = record.base_url or parts.path or "/"
    path = "/" + base_url.strip("/")
    return urlunsplit((scheme, netloc, path, "", "")).rstrip("/")


def _process_exists(pid: int) -> bool:
    """True when a process ``pid`` runs (the client imports no Jupyter package)."""
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    return True


class KernelInfo:
    """A kernel as the sessions and kernels APIs describe it.

    ``id``, ``name``, ``last_activity`` (ISO time), ``execution_state`` (``idle``,
    ``busy``, ...) and ``connections`` (open websockets); ``model`` is the whole
    dictionary, including keys newer servers add.
    """

    def __init__(
        self,
        *args: Any,
        id: str,
        name: str,
        last_activity: str | None = None,
        execution_state: str | None = None,
        connections: int = 0,
        **kwargs: Any,
    ) -> None:
        if args:
            raise TypeError("KernelInfo takes keyword arguments only (a kernel model).")
        self.model: dict[str, Any] = {
            "id": id,
            "name": name,
            "last_activity": last_activity,
            "execution_state": execution_state,
            "connections": connections,
            **kwargs,
        }
        self.id = id
        self.name = name
        self.last_activity = last_activity
        self.execution_state = execution_state
        self.connections = connections

    def __repr__(self) -> str:
        return f"KernelInfo({json.dumps(self.model)})"

    def __eq__(self, other: object) -> bool:
        """Equal when the kernels' fields are (bookstore 2.x compared them so)."""
        if not isinstance(other, KernelInfo):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def _fields(self) -> tuple[Any, ...]:
        return (self.id, self.name, self.last_activity, self.execution_state, self.connections)


class NotebookSession:
    """A session of the Jupyter server (``GET /api/sessions``): a document and its kernel.

    ``path`` is the document's path relative to the server's root, ``type`` is
    ``notebook`` for notebooks (``console``, ``file``, ... for others), ``kernel`` a
    :class:`KernelInfo` (``None`` for a session without a kernel), ``notebook`` the
    deprecated ``{"path": ..., "name": ...}``, ``id`` the session's id; ``model`` is the
    whole dictionary.
    """

    def __init__(
        self,
        *args: Any,
        path: str,
        name: str | None = "",
        type: str = "notebook",
        kernel: Mapping[str, Any] | None = None,
        notebook: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if args:
            raise TypeError("NotebookSession takes keyword arguments only (a session model).")
        self.model: dict[str, Any] = {
            "path": path,
            "name": name,
            "type": type,
            "kernel": dict(kernel) if kernel is not None else None,
            "notebook": dict(notebook) if notebook is not None else None,
            **kwargs,
        }
        self.id: str | None = kwargs.get("id")
        self.path = path
        self.name = name
        self.type = type
        self.kernel = KernelInfo(**kernel) if kernel is not None else None
        self.notebook = notebook

    def __repr__(self) -> str:
        return f"NotebookSession({json.dumps(self.model)})"

    def __eq__(self, other: object) -> bool:
        """Equal when the sessions' document and kernel are (bookstore 2.x compared
        ``path``, ``name``, ``type``, ``kernel`` and ``notebook``)."""
        if not isinstance(other, NotebookSession):
            return NotImplemented
        return (self.path, self.name, self.type, self.kernel, self.notebook) == (
            other.path,
            other.name,
            other.type,
            other.kernel,
            other.notebook,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.name, self.type, self.kernel))


class NotebookClient:
    """A client of one running Jupyter server, authenticated with its token.

    ``nb_config`` is an entry of ``list_running_servers()`` (or a
    :class:`LiveNotebookRecord`). Every request has a ``timeout`` (seconds). A server
    with a password but no token cannot be used (:class:`TokenRequiredError`).

    Attributes: ``nb_config`` (as given), ``nb_record`` (a :class:`LiveNotebookRecord`),
    ``url`` (the server's base URL, no trailing slash), ``token``, ``xsrf_token``,
    ``req_session`` (a :class:`requests.Session`), ``timeout``.
    """

    def __init__(
        self,
        nb_config: Mapping[str, Any] | LiveNotebookRecord,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if isinstance(nb_config, LiveNotebookRecord):
            self.nb_record = nb_config
            self.nb_config: dict[str, Any] = nb_config._asdict()
        else:
            self.nb_config = dict(nb_config)
            self.nb_record = LiveNotebookRecord.from_server_info(nb_config)
        self.timeout = timeout
        # So that we can have full API endpoints without double //
        self.url = _server_url(self.nb_record)
        self.setup_auth()
        self.setup_request_sessions()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}/>"

    def close(self) -> None:
        """Close the connections of :attr:`req_session` (the client stays usable)."""
        self.req_session.close()

    # -- authentication ---------------------------------------------------------------

    def setup_auth(self) -> None:
        """Sets up token access for authorizing requests to the Jupyter server.

        This sets the server's token as ``self.token`` and the XSRF token as
        ``self.xsrf_token``. Requests carry ``Authorization: token <token>``, which
        jupyter_server 2 exempts from XSRF checks; ``xsrf_token`` is only needed for a
        server without authentication (then the client makes its own and sends it both as
        the ``_xsrf`` cookie and the ``X-XSRFToken`` header), and follows any ``_xsrf``
        cookie the server sets.
        """
        self.token = self.nb_record.token
        self.xsrf_token = ""
        if not self.token:
            if self.nb_record.password:
                raise TokenRequiredError(
                    f"The Jupyter server at {self.url}/ is protected by a password and has no "
                    "token, and this client cannot log in with a password. Give the server a "
                    "token (jupyter server --IdentityProvider.token=...) and pass it: "
                    f"BookstoreClient(server_url={self.url + '/'!r}, token='<the token>', "
                    f"path={_EXAMPLE_PATH!r})."
                )
            self.xsrf_token = secrets.token_hex(16)

    def setup_request_sessions(self) -> None:
        """Sets up a :class:`requests.Session` (``self.req_session``) sharing
        :attr:`headers` (and the XSRF cookie, if any) across API requests."""
        self.req_session = requests.Session()
        self.req_session.headers.update(self.headers)
        if self.xsrf_token:
            self.req_session.cookies.set(_XSRF_COOKIE, self.xsrf_token)

    @property
    def headers(self) -> dict[str, str]:
        """Default headers to be shared across requests."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if self.xsrf_token:
            headers["X-XSRFToken"] = self.xsrf_token
        return headers

    def _follow_xsrf_cookie(self) -> None:
        """Use the ``_xsrf`` cookie the server set, if it set one (in place of the
        client's own, so that only one is sent)."""
        jar = self.req_session.cookies
        served = [c for c in jar if c.name == _XSRF_COOKIE and c.domain]
        if not served or served[-1].value == self.xsrf_token:
            return
        for own in [c for c in jar if c.name == _XSRF_COOKIE and not c.domain]:
            jar.clear(own.domain, own.path, own.name)
        self.xsrf_token = str(served[-1].value)
        self.req_session.headers["X-XSRFToken"] = self.xsrf_token

    # -- requests ---------------------------------------------------------------------

    def api_url(self, api_path: str) -> str:
        """The full URL of ``api_path`` (relative to the base URL, already URL-encoded)."""
        return f"{self.url}/{api_path.lstrip('/')}"

    def request(
        self,
        method: str,
        api_path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """Send a request to ``api_path`` (relative to the base URL, already URL-encoded).

        Raises :class:`ServerConnectionError` when the server does not answer in time,
        :class:`TokenRequiredError` when it refuses a client without a token and
        :class:`BookstoreAPIError` for any other answer that is not a success (2xx).
        """
        url = self.api_url(api_path)
        timeout = self.timeout if timeout is None else timeout
        kwargs: dict[str, Any] = {"params": params, "timeout": timeout, "allow_redirects": False}
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            response = self.req_session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise ServerConnectionError(
                f"The Jupyter server at {self.url}/ did not answer {method} /{api_path} "
                f"within {timeout:g} s."
            ) from exc
        except requests.RequestException as exc:
            raise ServerConnectionError(
                f"Could not reach the Jupyter server at {self.url}/ ({_why(exc)})."
            ) from exc
        self._follow_xsrf_cookie()
        if response.status_code < 300:
            return response
        if not self.token and (response.status_code in {401, 403} or response.is_redirect):
            raise TokenRequiredError(
                f"The Jupyter server at {self.url}/ refused a request without a token "
                f"(HTTP {response.status_code}): it needs a password or a token. Pass its "
                f"token: BookstoreClient(server_url={self.url + '/'!r}, token='<the token>', "
                f"path={_EXAMPLE_PATH!r})."
            )
        raise self._api_error(method, url, response)

    @staticmethod
    def _api_error(method: str, url: str, response: requests.Response) -> BookstoreAPIError:
        """The error for a failed reply, with the server's message when it sent one."""
        message, reason = "", None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
            reason = body.get("reason") if isinstance(body.get("reason"), str) else None
        if not message and response.is_redirect:
            message = f"redirected to {response.headers.get('Location', '?')}"
        if not message:
            message = response.reason or "no explanation given"
        path = urlsplit(url).path
        return BookstoreAPIError(
            response.status_code, message, reason=reason, method=method, url=path
        )

    def request_json(
        self,
        method: str,
        api_path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """:meth:`request`, then the reply's JSON body (``None`` for an empty one)."""
        response = self.request(
            method, api_path, params=params, json_body=json_body, timeout=timeout
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BookstoreClientError(
                f"The Jupyter server at {self.url}/ answered {method} /{api_path} with "
                "something that is not JSON (is this the server's base URL?)."
            ) from exc

    # -- Jupyter's REST API -----------------------------------------------------------

    @property
    def sessions_endpoint(self) -> str:
        """The URL of the sessions API."""
        return self.api_url("api/sessions")

    def get_sessions(self) -> list[dict[str, Any]]:
        """The server's sessions, as ``GET /api/sessions`` lists them."""
        return list(self.request_json("GET", "api/sessions"))

    @property
    def sessions(self) -> dict[str, list[NotebookSession]]:
        """Current notebook sessions, by kernel id (a kernel may serve several sessions).
        Reissues request on each call."""
        by_kernel: dict[str, list[NotebookSession]] = {}
        for model in self.get_sessions():
            session = NotebookSession(**model)
            if session.kernel is not None:
                by_kernel.setdefault(session.kernel.id, []).append(session)
        return by_kernel

    @property
    def kernels_endpoint(self) -> str:
        """The URL of the kernels API."""
        return self.api_url("api/kernels")

    def get_kernels(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The server's running kernels, as ``GET /api/kernels`` lists them."""
        return list(self.request_json("GET", "api/kernels", timeout=timeout))

    @property
    def kernels(self) -> list[KernelInfo]:
        """The server's running kernels. Reissues request on each call."""
        return [KernelInfo(**model) for model in self.get_kernels()]

    @property
    def contents_endpoint(self) -> str:
        """The URL of the contents API."""
        return self.api_url("api/contents")

    def get_contents(self, path: str, *, content: bool = True) -> dict[str, Any]:
        """The contents model of ``path`` (``GET /api/contents/<path>``)."""
        params = {"content": "1" if content else "0"}
        return dict(self.request_json("GET", f"api/contents/{quote_path(path)}", params=params))


def _why(exc: Exception) -> str:
    """The gist of a connection error (urllib3's messages are long)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error, e.g. a certificate that is not trusted"
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    if found:
        return found.group(1).strip().rstrip(".")
    return type(exc).__name__


def _skip_reason(exc: BookstoreClientError) -> str:
    """Why a server was skipped while looking for this kernel's, in a few words."""
    if isinstance(exc, TokenRequiredError):
        return "it needs a password or a token, and its runtime file has no token"
    if isinstance(exc, ServerConnectionError):
        cause = exc.__cause__
        why = _why(cause) if isinstance(cause, Exception) else str(exc)
        return f"not answering: {why}; a stale runtime file?"
    return str(exc)


def _server_label(info: Mapping[str, Any]) -> str:
    """A server's URL (or its runtime file's pid) for messages."""
    return str(info.get("url") or f"the server of pid {info.get('pid')}")


class NotebookClientCollection:
    """The running Jupyter servers (from their runtime files), as :class:`NotebookClient`
    objects; :meth:`current_server` finds the one running this kernel."""

    @staticmethod
    def running_servers(runtime_dir: str | None = None) -> list[dict[str, Any]]:
        """The runtime file entries of the running servers, by pid (default: Jupyter's
        runtime directory).

        The same files and rule as ``jupyter_server.serverapp.list_running_servers()``
        (``jpserver-*.json`` whose ``pid`` is alive), read without importing the server
        application (seconds in a kernel) and without deleting other servers' files.
        """
        directory = runtime_dir or _runtime_dir()
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        servers = []
        for name in names:
            if not _SERVER_FILE.fullmatch(name):
                continue
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as file:
                    info = json.load(file)
            except (OSError, ValueError):
                continue  # removed meanwhile, or being written
            pid = info.get("pid") if isinstance(info, dict) else None
            if isinstance(pid, int) and _process_exists(pid):
                servers.append(info)
        return sorted(servers, key=lambda info: info["pid"])

    @staticmethod
    def nb_client_gen(
        runtime_dir: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> Iterator[NotebookClient]:
        """A :class:`NotebookClient` for each running server the client can use
        (servers on a Unix socket or with a password only are left out)."""
        for info in NotebookClientCollection.running_servers(runtime_dir):
            try:
                yield NotebookClient(info, timeout=timeout)
            except BookstoreClientError:
                continue

    @classmethod
    def current_server(
        cls,
        kernel_id: str | None = None,
        *,
        runtime_dir: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        discovery_timeout: float = DISCOVERY_TIMEOUT,
    ) -> NotebookClient:
        """The client of the running server whose kernels include this kernel
        (``kernel_id``, default :func:`current_kernel_id`).

        Servers whose runtime file is stale (nobody answers at its URL), that answer
        nothing in ``discovery_timeout`` seconds, or that need a password are skipped.
        Raises :class:`ServerNotFoundError` when no server could be asked, and
        :class:`NotebookNotIdentifiedError` when none (or more than one) runs the kernel.
        """
        if kernel_id is None:
            kernel_id = current_kernel_id()
        servers = cls.running_servers(runtime_dir)
        if not servers:
            raise ServerNotFoundError(
                "No running Jupyter server was found (no live jpserver-*.json runtime file "
                f"in {runtime_dir or _runtime_dir()}); {_explicit_hint()}."
            )
        owners: list[NotebookClient] = []
        asked: list[str] = []
        skipped: list[str] = []
        for info in servers:
            try:
                client = NotebookClient(info, timeout=timeout)
                kernel_ids = {k.get("id") for k in client.get_kernels(timeout=discovery_timeout)}
            except BookstoreClientError as exc:
                skipped.append(f"{_server_label(info)} ({_skip_reason(exc)})")
                continue
            asked.append(client.url + "/")
            if kernel_id in kernel_ids:
                owners.append(client)
            else:
                client.close()
        skipped_text = f" Skipped: {'; '.join(skipped)}." if skipped else ""
        if len(owners) == 1:
            return owners[0]
        if owners:
            raise NotebookNotIdentifiedError(
                f"Several Jupyter servers run this kernel ({kernel_id}): "
                f"{', '.join(c.url + '/' for c in owners)}; {_explicit_hint()}.",
                kernel_id=kernel_id,
            )
        if not asked:
            raise ServerNotFoundError(
                "No running Jupyter server could be asked which notebook this kernel "
                f"belongs to.{skipped_text} You can {_explicit_hint()}."
            )
        raise NotebookNotIdentifiedError(
            f"This kernel ({kernel_id}) was not started by a running Jupyter server (asked "
            f"{', '.join(asked)}): it may run under papermill, nbconvert or jupyter "
            f"console, so it belongs to no notebook.{skipped_text} To use bookstore from "
            f"here, {_explicit_hint(asked[0] if len(asked) == 1 else None)}.",
            kernel_id=kernel_id,
        )


def _runtime_dir() -> str:
    """Jupyter's runtime directory, for messages."""
    from jupyter_core.paths import jupyter_runtime_dir

    return jupyter_runtime_dir()


class CurrentNotebookClient(NotebookClient):
    """A client of the Jupyter server running this kernel, which knows this kernel's
    notebook session (:attr:`session`).

    By default the server is found from the running servers
    (:meth:`NotebookClientCollection.current_server`). ``server_url`` and ``token`` name
    it instead (e.g. outside a kernel; ``session`` then still works inside a kernel of
    that server).
    """

    def __init__(
        self,
        *,
        server_url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._kernel_id: str | None = None
        if server_url is None:
            if token is not None:
                raise ValueError("token= needs server_url= (the server it is the token of).")
            self.nb_client = NotebookClientCollection.current_server(
                self.kernel_id, timeout=timeout
            )
            super().__init__(self.nb_client.nb_record, timeout=timeout)
            self.nb_client.close()
        else:
            super().__init__(LiveNotebookRecord.from_url(server_url, token), timeout=timeout)
            self.nb_client = self

    @property
    def connection_file(self) -> str:
        """The connection file of the kernel running this code."""
        return current_connection_file()

    @property
    def kernel_id(self) -> str:
        """The id of the kernel running this code."""
        if self._kernel_id is None:
            self._kernel_id = current_kernel_id()
        return self._kernel_id

    @property
    def session(self) -> NotebookSession:
        """This kernel's notebook session. Reissues request on each call (so it follows
        renames).

        Sessions of other types (a console attached to the notebook's kernel) are not
        counted when a notebook session exists. Raises
        :class:`NotebookNotIdentifiedError` when no session, or sessions of several
        paths, use this kernel.
        """
        kernel_id = self.kernel_id
        found = self.sessions.get(kernel_id, [])
        candidates = [s for s in found if s.type == "notebook"] or found
        paths = sorted({s.path for s in candidates})
        if len(paths) == 1:
            return candidates[0]
        how = (
            "pass the notebook's path explicitly, e.g. "
            f"BookstoreClient(path={_EXAMPLE_PATH!r}) or client.publish({_EXAMPLE_PATH!r})"
        )
        if not paths:
            started_for = os.environ.get("JPY_SESSION_NAME")
            note = (
                f" (the server started it for {started_for!r}, whose session is gone)"
                if started_for
                else ""
            )
            raise NotebookNotIdentifiedError(
                f"No notebook session of the Jupyter server at {self.url}/ uses this kernel "
                f"({kernel_id}){note}; {how}.",
                kernel_id=kernel_id,
            )
        listed = ", ".join(repr(p) for p in paths)
        raise NotebookNotIdentifiedError(
            f"This kernel ({kernel_id}) is shared by {len(paths)} sessions of the Jupyter "
            f"server at {self.url}/: {listed}; bookstore cannot tell which notebook this "
            f"code runs in. {how[0].upper()}{how[1:]}.",
            kernel_id=kernel_id,
            paths=paths,
        )

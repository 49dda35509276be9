"""A real JupyterHub on 127.0.0.1 for the tests: one hub, its proxy and the single-user
servers of a few users, every server archiving to one S3 bucket (SeaweedFS).

* the hub is PyPI's ``jupyterhub``, its proxy npm's ``configurable-http-proxy``
  (``make hub-proxy`` installs it into ``.venv/hub-proxy``);
* users log in with JupyterHub's shared-password authenticator (the successor of the
  dummy authenticator's password) and get a single-user server each from
  ``SimpleLocalProcessSpawner``: a local process, a home directory per user in the rig's
  temporary directory, no system users;
* the single-user servers run bookstore with ``workspace_prefix = "workspace/{username}"``
  on one bucket, and :class:`bookstore.server.hub_authorizer.HubScopesAuthorizer`: the
  custom scopes ``custom:jupyter_server:{read,write,execute}:{*,contents,bookstore}``
  decide what a request may do (see :func:`hub_config` for the roles);
* the rig talks to the hub's REST API as the service ``rig`` and to the servers through
  the proxy, with per-user API tokens (:meth:`Hub.token`).

:func:`hub_unavailable_reason` says why it cannot run here (the tests then skip).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

__all__ = [
    "ADMINS",
    "READ_ONLY_USERS",
    "SCOPE_PREFIX",
    "USERS",
    "Hub",
    "HubError",
    "find_proxy",
    "hub_config",
    "hub_unavailable_reason",
]

_HOST = "127.0.0.1"
#: The hub's users: ``carol`` may read and run but not write workspace files.
USERS = ("alice", "bob", "carol", "admin")
#: Users with JupyterHub's admin flag (``Authenticator.admin_users``).
ADMINS = ("admin",)
#: Users who get every custom scope on their own server except ``write:contents``.
READ_ONLY_USERS = ("carol",)
#: The custom scopes' prefix (JupyterHub's example "Granting read-only access to user servers").
SCOPE_PREFIX = "custom:jupyter_server"
#: Jupyter Server's actions, and the resources given their own scopes.
ACTIONS = ("read", "write", "execute")
RESOURCES = ("contents", "bookstore")
#: The rig's own hub service, the one that creates tokens and starts servers.
SERVICE = "rig"
#: Environment variables the hub never gets from the test process (S3 and AWS settings).
_SCRUBBED_PREFIXES = ("JPYNB_", "AWS_", "S3_", "CONFIGPROXY_", "JUPYTERHUB_", "JPY_")
#: Hubs whose process is running, stopped at interpreter exit if nobody else did.
_LIVE: set[Hub] = set()


class HubError(RuntimeError):
    """The hub, its proxy or a single-user server did not start, answer or stop."""


def find_proxy() -> str | None:
    """The ``configurable-http-proxy`` of ``make hub-proxy`` (``<venv>/hub-proxy``), else
    one on ``PATH``; None when there is none."""
    beside = Path(sys.prefix) / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("configurable-http-proxy")


def hub_unavailable_reason() -> str | None:
    """Why a hub cannot run here (a sentence for ``pytest.skip``), or None when it can."""
    if importlib.util.find_spec("jupyterhub") is None:
        return "the hub tests need the jupyterhub package: pip install -e '.[test]'"
    if not (Path(sys.executable).parent / "jupyterhub-singleuser").exists():
        return f"jupyterhub-singleuser is not installed next to {sys.executable}"
    if find_proxy() is None:
        return (
            "the hub tests need configurable-http-proxy (npm), not found in "
            f"{Path(sys.prefix) / 'hub-proxy'} nor on PATH: run `make hub-proxy`"
        )
    if shutil.which("node") is None:
        return "the hub tests need node (configurable-http-proxy runs on it)"
    return None


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while picked)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((_HOST, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _pdeathsig() -> list[str]:
    """util-linux's ``setpriv`` prefix that sends SIGTERM to a process when its parent
    dies (none on machines without it)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


def custom_scopes() -> dict[str, dict[str, Any]]:
    """``JupyterHub.custom_scopes``: ``{action}:*`` (every resource) has the
    ``{action}:{resource}`` scopes as subscopes; no action implies another."""
    scopes: dict[str, dict[str, Any]] = {}
    for action in ACTIONS:
        for resource in RESOURCES:
            scopes[f"{SCOPE_PREFIX}:{action}:{resource}"] = {
                "description": f"{action} {resource} on a Jupyter server",
            }
        scopes[f"{SCOPE_PREFIX}:{action}:*"] = {
            "description": f"{action} anything on a Jupyter server",
            "subscopes": [f"{SCOPE_PREFIX}:{action}:{resource}" for resource in RESOURCES],
        }
    return scopes


def load_roles(users: Iterable[str], read_only_users: Iterable[str]) -> list[dict[str, Any]]:
    """``JupyterHub.load_roles``.

    JupyterHub gives its ``user`` role to every user (``roles.assign_default_roles``), so
    that role holds what every user has on their own server (``!user``): ``self``, read and
    execute everything, write bookstore (archive, publish, clone).  The role ``owner`` adds
    writing everything (``write:*``, hence workspace files) to all but ``read_only_users``.
    The service ``rig`` manages users, their servers and tokens.
    """
    read_only = set(read_only_users)
    return [
        {
            "name": "user",
            "description": "Standard user privileges, and reading, running and bookstore "
            "on one's own server",
            "scopes": [
                "self",
                f"{SCOPE_PREFIX}:read:*!user",
                f"{SCOPE_PREFIX}:execute:*!user",
                f"{SCOPE_PREFIX}:write:bookstore!user",
            ],
        },
        {
            "name": "owner",
            "description": "Writing everything on one's own server (workspace files too)",
            "scopes": [f"{SCOPE_PREFIX}:write:*!user"],
            "users": [user for user in users if user not in read_only],
        },
        {
            "name": SERVICE,
            "description": "The test rig: users, their servers and tokens",
            "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
            "services": [SERVICE],
        },
    ]


def hub_config(
    root: Path,
    *,
    ports: Mapping[str, int],
    proxy: str,
    service_token: str,
    user_password: str,
    admin_password: str,
    s3_env: Mapping[str, str],
    users: Iterable[str] = USERS,
    admins: Iterable[str] = ADMINS,
    read_only_users: Iterable[str] = READ_ONLY_USERS,
    spawn_timeout: float = 120.0,
) -> str:
    """The text of ``jupyterhub_config.py``: everything on 127.0.0.1 and in ``root``.

    OAuth tokens (a browser's login to a single-user server) carry only the scopes of
    ``Spawner.oauth_client_allowed_scopes`` the user holds (``_resolve_requested_scopes``
    in ``jupyterhub/scopes.py`` intersects them), plus the server's ``access:servers``:
    listing the three ``{action}:*!server`` scopes lets a login carry exactly the user's
    custom scopes on that server (``write:bookstore`` only, for ``carol``).
    """
    users = list(users)
    admins = list(admins)
    bin_dir = Path(sys.executable).parent
    environment = {
        **s3_env,
        # bookstore's S3 client must find nothing of the machine's AWS configuration
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # the single-user server as a Jupyter Server extension (its default with server 2)
        "JUPYTERHUB_SINGLEUSER_EXTENSION": "1",
    }
    args = [
        "--ServerApp.authorizer_class=bookstore.server.hub_authorizer.HubScopesAuthorizer",
        # expanded by bookstore with JUPYTERHUB_USER (JupyterHub does not format args)
        "--BookstoreSettings.workspace_prefix=workspace/{username}",
        "--BookstoreSettings.archive_retry_max_delay=0.5",
        "--ServerApp.allow_root=True",
    ]
    values: dict[str, Any] = {
        "JupyterHub.bind_url": f"http://{_HOST}:{ports['proxy']}/",
        "JupyterHub.hub_bind_url": f"http://{_HOST}:{ports['hub']}",
        "JupyterHub.db_url": f"sqlite:///{root / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(root / "jupyterhub_cookie_secret"),
        "JupyterHub.pid_file": str(root / "jupyterhub.pid"),
        "JupyterHub.cleanup_servers": True,
        "JupyterHub.cleanup_proxy": True,
        "JupyterHub.authenticator_class": "shared-password",
        "SharedPasswordAuthenticator.user_password": user_password,
        "SharedPasswordAuthenticator.admin_password": admin_password,
        "Authenticator.allowed_users": sorted(set(users) - set(admins)),
        "Authenticator.admin_users": admins,
        "JupyterHub.load_groups": {"editors": {"users": admins}},
        "JupyterHub.custom_scopes": custom_scopes(),
        "JupyterHub.load_roles": load_roles(users, read_only_users),
        "JupyterHub.services": [{"name": SERVICE, "api_token": service_token}],
        "ConfigurableHTTPProxy.command": [*_pdeathsig(), proxy],
        "ConfigurableHTTPProxy.api_url": f"http://{_HOST}:{ports['proxy_api']}",
        "ConfigurableHTTPProxy.pid_file": str(root / "proxy.pid"),
        "JupyterHub.spawner_class": "simple",
        "SimpleLocalProcessSpawner.home_dir_template": str(root / "home" / "{username}"),
        "Spawner.cmd": [*_pdeathsig(), str(bin_dir / "jupyterhub-singleuser")],
        "Spawner.args": args,
        "Spawner.ip": _HOST,
        "Spawner.environment": environment,
        "Spawner.oauth_client_allowed_scopes": [
            f"{SCOPE_PREFIX}:{action}:*!server" for action in ACTIONS
        ],
        "Spawner.start_timeout": int(spawn_timeout),
        "Spawner.http_timeout": int(spawn_timeout),
        "LocalProcessSpawner.interrupt_timeout": 15,
        "LocalProcessSpawner.term_timeout": 5,
    }
    lines = [
        '"""The test rig\'s hub (tests/hub/rig.py wrote it)."""',
        "c = get_config()  # noqa: F821",
    ]
    for name, value in values.items():
        cls, trait = name.split(".")
        lines.append(f"c.{cls}.{trait} = {value!r}")
    return "\n".join(lines) + "\n"


class Hub:
    """A JupyterHub with its proxy on 127.0.0.1 and all its state in ``root``.

    ``s3_env`` are the ``JPYNB_S3_*`` variables every single-user server gets (one bucket
    for all).  :meth:`start` starts the hub and waits until the proxy serves its API;
    :meth:`start_server` starts a user's server; :meth:`request` calls a server through
    the proxy with a user's token; :meth:`stop` ends the servers, the hub and the proxy.
    ``timings`` holds the seconds each start took (``"hub"``, ``"server:<user>"``).
    """

    def __init__(
        self,
        root: Path,
        s3_env: Mapping[str, str],
        *,
        users: Iterable[str] = USERS,
        admins: Iterable[str] = ADMINS,
        read_only_users: Iterable[str] = READ_ONLY_USERS,
        startup_timeout: float = 60.0,
        spawn_timeout: float = 120.0,
    ) -> None:
        proxy = find_proxy()
        if proxy is None:
            raise HubError(hub_unavailable_reason() or "configurable-http-proxy not found")
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.proxy = proxy
        self.s3_env = dict(s3_env)
        self.users = tuple(users)
        self.admins = tuple(admins)
        self.read_only_users = tuple(read_only_users)
        self.startup_timeout = startup_timeout
        self.spawn_timeout = spawn_timeout
        #: The password of every non-admin user, and of the admins (shared-password).
        self.user_password = secrets.token_urlsafe(16)
        self.admin_password = secrets.token_urlsafe(32)
        self.service_token = secrets.token_hex(32)
        self.ports: dict[str, int] = {}
        self.config_file = self.root / "jupyterhub_config.py"
        self.log_file = self.root / "jupyterhub.log"
        self.timings: dict[str, float] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._tokens: dict[str, str] = {}
        self._server_pids: dict[str, int] = {}
        self._http = requests.Session()
        self._http.trust_env = False  # no HTTP(S)_PROXY of the machine between us and the hub

    # -- addresses -------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        """The S3 bucket every single-user server archives to."""
        return self.s3_env.get("JPYNB_S3_BUCKET", "")

    @property
    def url(self) -> str:
        """The public URL (the proxy), ``http://127.0.0.1:<port>``, without a slash."""
        if not self.ports:
            raise HubError("the hub has not been started yet")
        return f"http://{_HOST}:{self.ports['proxy']}"

    def server_url(self, user: str, path: str = "") -> str:
        """The URL of ``path`` on ``user``'s server through the proxy."""
        return f"{self.url}/user/{user}/{path.lstrip('/')}"

    def is_running(self) -> bool:
        """True while the hub process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Write the configuration, start the hub and wait until the proxy serves the hub
        API (ports are picked again, up to three times, when the hub exits while starting)."""
        if self.is_running():
            return
        began = time.monotonic()
        last: HubError | None = None
        for _ in range(3):
            self.ports = dict(zip(("proxy", "proxy_api", "hub"), _free_ports(3), strict=True))
            self.config_file.write_text(
                hub_config(
                    self.root,
                    ports=self.ports,
                    proxy=self.proxy,
                    service_token=self.service_token,
                    user_password=self.user_password,
                    admin_password=self.admin_password,
                    s3_env=self.s3_env,
                    users=self.users,
                    admins=self.admins,
                    read_only_users=self.read_only_users,
                    spawn_timeout=self.spawn_timeout,
                )
            )
            try:
                self._launch()
            except HubError as exc:
                last = exc
                if self._process is not None and self._process.poll() is not None:
                    continue  # exited while starting (a port taken meanwhile?): again
                self.stop()
                raise
            self.timings["hub"] = time.monotonic() - began
            return
        self.stop()
        assert last is not None
        raise last

    def _launch(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        command = [
            *_pdeathsig(),
            str(Path(sys.executable).parent / "jupyterhub"),
            "-f",
            str(self.config_file),
        ]
        with open(self.log_file, "ab") as log:
            log.write(f"--- {' '.join(command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=env,
                start_new_session=True,
            )
        _LIVE.add(self)
        self._wait(
            lambda: self._status(f"{self.url}/hub/api/") == 200,
            self.startup_timeout,
            f"the hub did not answer {self.url}/hub/api/",
        )

    def _status(self, url: str) -> int | None:
        try:
            return self._http.get(url, timeout=5, allow_redirects=False).status_code
        except requests.RequestException:
            return None

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready()`` until true; fail with the log tail after ``timeout`` s or when
        the hub exits."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not ready():
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise HubError(f"{what}: the hub exited (code {code}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise HubError(f"{what} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the hub: on SIGTERM it stops every server (all at once) and then its
        proxy; kill whatever is left of the hub's, the proxy's and the servers' processes
        after ``timeout`` s (each also gets SIGTERM if its parent dies, by ``setpriv``)."""
        process = self._process
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout)
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)  # leftovers of its group
        # the proxy and the servers run in sessions of their own
        leftovers = list(self._server_pids.values())
        proxy_pid = _read_pid(self.root / "proxy.pid")
        if proxy_pid is not None:
            leftovers.append(proxy_pid)
        for pid in leftovers:
            if _is_ours(pid):
                _signal_group(pid, signal.SIGKILL)
        self._server_pids.clear()
        self._tokens.clear()
        self._process = None
        _LIVE.discard(self)
        self._http.close()

    def __enter__(self) -> Hub:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the hub's REST API ------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``method`` on the hub API ``/hub/api/<path>`` as the service ``rig``:
        ``(status, JSON body or text)``."""
        response = self._http.request(
            method,
            f"{self.url}/hub/api/{path.lstrip('/')}",
            json=body,
            headers={"Authorization": f"token {self.service_token}"},
            timeout=30,
            allow_redirects=False,
        )
        return response.status_code, _body(response)

    def token(self, user: str) -> str:
        """An API token of ``user`` (created once, then reused); it carries all of the
        user's scopes (JupyterHub's default ``token`` role, ``inherit``)."""
        if user not in self._tokens:
            status, body = self.api("POST", f"users/{user}/tokens", {"note": "tests/hub rig"})
            if status != 201:
                raise HubError(f"no token for {user}: {status} {body}\n{self.log_tail()}")
            self._tokens[user] = body["token"]
        return self._tokens[user]

    def user_model(self, user: str) -> dict[str, Any]:
        """The hub's model of ``user`` (with the servers' state: the service is admin)."""
        status, body = self.api("GET", f"users/{user}")
        if status != 200:
            raise HubError(f"no model of {user}: {status} {body}")
        return dict(body)

    def start_server(self, user: str) -> float:
        """Start ``user``'s default server (nothing when it runs already) and wait until
        it is ready and the proxy routes to it; returns the seconds it took."""
        began = time.monotonic()
        server = self.user_model(user)["servers"].get("")
        if not (server and server.get("ready")):
            status, body = self.api("POST", f"users/{user}/server")
            if status not in (201, 202, 400):  # 400: already starting
                raise HubError(f"cannot start {user}'s server: {status} {body}")

            def ready() -> bool:
                model = self.user_model(user)["servers"].get("")
                if model is None:  # the spawn failed: the hub removed the server
                    raise HubError(f"{user}'s server failed to start:\n{self.log_tail()}")
                return bool(model.get("ready"))

            self._wait(ready, self.spawn_timeout + 10, f"{user}'s server was not ready")
        pid = (self.user_model(user)["servers"][""].get("state") or {}).get("pid")
        if pid:
            self._server_pids[user] = int(pid)
        # the route is in the proxy: Jupyter Server itself answers (GET /api is public)
        self._wait(
            lambda: self._status(self.server_url(user, "api")) == 200,
            30,
            f"the proxy did not route to {user}'s server",
        )
        elapsed = time.monotonic() - began
        self.timings.setdefault(f"server:{user}", elapsed)
        return elapsed

    def stop_server(self, user: str, timeout: float = 30.0) -> None:
        """Stop ``user``'s default server and wait until the hub says it is gone."""
        status, body = self.api("DELETE", f"users/{user}/server")
        if status not in (202, 204, 400):  # 400: not running
            raise HubError(f"cannot stop {user}'s server: {status} {body}")
        self._wait(
            lambda: "" not in self.user_model(user)["servers"],
            timeout,
            f"{user}'s server did not stop",
        )
        self._server_pids.pop(user, None)

    # -- the single-user servers ---------------------------------------------------------

    def request(
        self,
        user: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_user: str | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        """``method`` on ``path`` of ``user``'s server through the proxy, with the API
        token of ``as_user`` (default: ``user``) or ``token``; redirects are not followed.
        Returns ``(status, JSON body, else text)``."""
        response = self._http.request(
            method,
            self.server_url(user, path),
            json=body,
            headers={"Authorization": f"token {token or self.token(as_user or user)}"},
            timeout=60,
            allow_redirects=False,
        )
        return response.status_code, _body(response)

    def login(self, user: str) -> requests.Session:
        """A browser-like session of ``user``: logged into the hub with the password, then
        into ``user``'s server by JupyterHub's OAuth (its cookie carries an OAuth token).
        Send the server's ``_xsrf`` cookie as ``X-XSRFToken`` with writes."""
        session = requests.Session()
        session.trust_env = False
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        password = self.admin_password if user in self.admins else self.user_password
        response = session.post(
            f"{self.url}/hub/login",
            data={
                "username": user,
                "password": password,
                "_xsrf": session.cookies.get("_xsrf", path="/hub/") or "",
            },
            timeout=30,
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise HubError(f"{user} could not log in: {response.status_code} {response.text}")
        # a page of the server: not logged in there, it sends the browser through OAuth
        response = session.get(self.server_url(user, "tree"), timeout=60)
        if response.status_code != 200 or f"/user/{user}/" not in response.url:
            raise HubError(f"{user}'s OAuth login failed: {response.status_code} {response.url}")
        return session

    # -- diagnostics -----------------------------------------------------------------------

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the hub's log (the proxy and the single-user servers
        write there too)."""
        if not self.log_file.exists():
            return f"(no log at {self.log_file})"
        text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_file} ---\n" + "\n".join(text)

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        where = self.url if self.ports else "no ports yet"
        return f"<Hub {state} {where}>"


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_ours(pid: int) -> bool:
    """Whether ``pid`` still runs a proxy or a single-user server (not a reused pid)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"configurable-http-proxy" in command or b"jupyterhub-singleuser" in command


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (every process here leads its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@atexit.register
def _stop_all() -> None:
    """Never let a hub outlive the interpreter."""
    for hub in list(_LIVE):
        with contextlib.suppress(Exception):
            hub.stop(timeout=10)

"""Configuration of bookstore: :class:`BookstoreSettings` and :func:`validate_bookstore`.

Set these in ``jupyter_server_config.py``::

    c.BookstoreSettings.s3_bucket = "my-notebooks"

or on the command line (``jupyter lab --BookstoreSettings.s3_bucket=my-notebooks``).
The S3 settings also read ``JPYNB_S3_*`` environment variables; explicit
configuration wins over the environment.

bookstore 2.x documented ``~/.jupyter/jupyter_notebook_config.py``, which jupyter_server
2 does not read: :func:`load_legacy_settings` reads the ``BookstoreSettings`` section (and
only that) of ``jupyter_notebook_config.py``/``.json`` on Jupyter's config path, for the
server and the tools without one to apply beneath their own configuration.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import (
    Bool,
    Dict,
    Float,
    Integer,
    List,
    TraitError,
    Type,
    Unicode,
    default,
    validate,
)
from traitlets.config import Application, Config, LoggingConfigurable

from .errors import InvalidPath, NotAllowed
from .keys import normalize_path, published_key_prefix, server_username, workspace_key_prefix
from .tokens import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from .stores.base import ObjectStore, StoreStatus

__all__ = [
    "ENV_VARS",
    "LEGACY_CONFIG_FILE",
    "RETENTION_DEFAULTS",
    "BookstoreRuns",
    "BookstoreSettings",
    "LegacySettings",
    "check_retention",
    "load_legacy_settings",
    "validate_bookstore",
]

#: Setting name -> the environment variable it falls back to.
ENV_VARS = {
    "s3_access_key_id": "JPYNB_S3_ACCESS_KEY_ID",
    "s3_secret_access_key": "JPYNB_S3_SECRET_ACCESS_KEY",
    "s3_endpoint_url": "JPYNB_S3_ENDPOINT_URL",
    "s3_region_name": "JPYNB_S3_REGION_NAME",
    "s3_bucket": "JPYNB_S3_BUCKET",
}


def _env(setting: str, fallback: str = "") -> str:
    return os.environ.get(ENV_VARS[setting], fallback)


class BookstoreSettings(LoggingConfigurable):
    """Configuration for archival, publishing, cloning and history.

    Settings include storage prefixes, the store to use (S3 or the embedded local
    store), S3 authentication and endpoint, and resource limits.  S3 credentials may
    be left unset: botocore's usual chain (``AWS_*`` variables, profiles, instance
    roles) then applies.
    """

    workspace_prefix = Unicode(
        "workspace",
        help="""Key prefix under which every save of a notebook is archived as a version.
        May contain ``{username}``, replaced by the server's user (e.g. JupyterHub's
        ``JUPYTERHUB_USER``), so one bucket can serve a whole hub.""",
    ).tag(config=True)

    published_prefix = Unicode(
        "published",
        help="Key prefix under which published notebooks are stored.",
    ).tag(config=True)

    s3_access_key_id = Unicode(
        help="""S3 access key id. Environment variable: JPYNB_S3_ACCESS_KEY_ID.
        Empty: botocore's credential chain (AWS_* variables, profiles, instance roles).""",
    ).tag(config=True)

    s3_secret_access_key = Unicode(
        help="""S3 secret access key. Environment variable: JPYNB_S3_SECRET_ACCESS_KEY.
        Empty: botocore's credential chain.""",
    ).tag(config=True)

    s3_endpoint_url = Unicode(
        help="""S3 endpoint URL, e.g. ``http://127.0.0.1:8333`` for a local SeaweedFS or
        MinIO. Environment variable: JPYNB_S3_ENDPOINT_URL. Empty: AWS S3 itself.""",
    ).tag(config=True)

    s3_region_name = Unicode(
        help="S3 region. Environment variable: JPYNB_S3_REGION_NAME. Default: us-east-1.",
    ).tag(config=True)

    s3_bucket = Unicode(
        help="""S3 bucket holding workspace and published notebooks; it should have
        versioning enabled. Environment variable: JPYNB_S3_BUCKET. Empty: use the
        embedded local store instead of S3.""",
    ).tag(config=True)

    max_threads = Integer(
        16,
        help="""Most S3 requests (or local-store disk operations) in flight at once; also
        the size of the S3 connection pool.""",
    ).tag(config=True)

    enable_s3_cloning = Bool(
        True,
        help="Allow cloning notebooks from the store into the workspace.",
    ).tag(config=True)

    clone_allowed_buckets = List(
        Unicode(),
        default_value=[],
        help="""Buckets whose objects may be cloned into the workspace; a clone from any
        other bucket is refused (403). Empty: only the configured bucket (``s3_bucket``,
        or ``local_store_bucket`` for the embedded store). The server's S3 credentials
        must be able to read every bucket listed.""",
    ).tag(config=True)

    clone_allowed_prefixes = List(
        Unicode(),
        default_value=["{published_prefix}", "{workspace_prefix}"],
        help="""Key prefixes whose objects a user may clone (``POST /api/bookstore/clone``)
        or open on the clone landing page; any other key is refused (403) without telling
        whether it exists. Each entry may contain ``{published_prefix}``,
        ``{workspace_prefix}`` (the user's own, ``{username}`` expanded) and
        ``{username}``; a prefix covers whole key segments (``shared`` allows
        ``shared/a.ipynb``, not ``shared-old/a.ipynb``). Default: the published notebooks
        and the user's own workspace. ``[""]`` allows every key of an allowed bucket
        (bookstore 2.x). The same rule applies to ``jupyter bookstore --as-user`` and to
        the papermill handler reading for a user.""",
    ).tag(config=True)

    publication_editors = List(
        Unicode(),
        default_value=[],
        help="""Users (by name) and JupyterHub groups (``group:<name>``) who may publish
        over and unpublish every publication; JupyterHub admins always may. Anybody else
        may manage only the publications they published (the owner is kept in the
        object's metadata, ``bookstore-owner``).""",
    ).tag(config=True)

    audit_prefix = Unicode(
        "audit",
        help="""Key prefix of the audit trail: one object per publish, unpublish, restore
        and clone (who, when, what, from where), shared by every server on the bucket.
        It must not lie inside ``workspace_prefix`` or ``published_prefix``. Empty: no
        audit trail.""",
    ).tag(config=True)

    audit_readers = List(
        Unicode(),
        default_value=[],
        help="""Users (by name) and JupyterHub groups (``group:<name>``) who may read the
        audit trail (``GET /api/bookstore/audit``); JupyterHub admins always may, and on
        a server outside JupyterHub the user it runs for.""",
    ).tag(config=True)

    annotations_prefix = Unicode(
        "bookstore-annotations",
        help="""Key prefix of the names, descriptions and pins of versions: one JSON
        index object per notebook, ``{annotations_prefix}/{key}.json`` (``key``: the
        notebook's workspace or published key), in the same store. It must not lie inside
        ``workspace_prefix`` or ``published_prefix``. Empty: versions cannot be named or
        pinned (their listings carry no names).""",
    ).tag(config=True)

    fs_cloning_basedir = Unicode(
        "",
        help="""Absolute path of a directory whose files may be cloned into the workspace
        (``/bookstore/fs-clone``). Empty: file-system cloning is off.""",
    ).tag(config=True)

    store_class = Type(
        default_value=None,
        klass="bookstore.stores.base.ObjectStore",
        allow_none=True,
        help="""The object store backend, a subclass of
        ``bookstore.stores.base.ObjectStore``. Default: ``bookstore.stores.s3.S3Store``
        when ``s3_bucket`` is set, else ``bookstore.stores.local.LocalStore``.""",
    ).tag(config=True)

    local_store_dir = Unicode(
        help="""Directory of the embedded local store, used when no ``s3_bucket`` is set.
        Default: ``bookstore`` under the Jupyter data directory
        (``jupyter --data-dir``).""",
    ).tag(config=True)

    local_store_bucket = Unicode(
        "local",
        help="""The bucket name by which the embedded local store is addressed, e.g. in
        ``s3://local/published/a.ipynb`` and as ``s3_bucket`` when cloning.""",
    ).tag(config=True)

    archive_file_types = List(
        Unicode(),
        default_value=["notebook"],
        help="""Jupyter contents types whose saves are archived: ``notebook``, ``file``.
        An empty list turns archiving off.""",
    ).tag(config=True)

    archive_spool_dir = Unicode(
        "",
        help="""Local directory where each save waits until it is archived (it survives
        store outages and server crashes). Empty: ``bookstore-spool/<id of the server's
        root dir>`` under the Jupyter data directory.""",
    ).tag(config=True)

    archive_retry_max_delay = Float(
        30.0,
        help="""Longest wait, in seconds, between two attempts to archive while the store
        is unavailable (the wait doubles from 0.25 s up to this).""",
    ).tag(config=True)

    enable_checkpoints = Bool(
        True,
        help="""Serve bookstore's versions as Jupyter checkpoints: JupyterLab's and Notebook
        7's File > "Revert Notebook to Checkpoint" list and restore them, "Save and create
        checkpoint" makes a version, nbdime's "diff against checkpoint" uses the newest.
        Needs archiving and an async contents manager (Jupyter's default). Files that are
        not archived keep Jupyter's own checkpoints. False: Jupyter's own checkpoints
        (``.ipynb_checkpoints``) for every file.""",
    ).tag(config=True)

    max_checkpoints = Integer(
        100,
        help="""How many (1 to 1000) of a file's newest versions are listed as checkpoints
        (the whole history stays available through
        ``/api/bookstore/workspace/{path}/versions``).""",
    ).tag(config=True)

    checkpoint_timeout = Float(
        10.0,
        help="""Seconds "Save and create checkpoint" and a restore wait for the save to be
        archived as a version. When the store is slower or down, creating a checkpoint
        answers the placeholder checkpoint "bookstore-pending" and a restore answers
        without the new version id; the save itself is kept and archived later.""",
    ).tag(config=True)

    diff_cache_mb = Integer(
        64,
        help="""Megabytes of recent diff replies the server keeps in memory (at most 256
        replies), so asking for the same diff again is not computed again: keyed by the
        versions' ids, the workspace file by the hash of its bytes, and the options.
        0 turns the cache off.""",
    ).tag(config=True)

    archive_shutdown_timeout = Float(
        5.0,
        help="""Seconds a stopping server waits for pending archives; what is left stays
        in the spool and is archived at the next start.""",
    ).tag(config=True)

    retention = Dict(
        default_value={},
        help="""Retention policies, by path prefix: ``{prefix: policy}``. A prefix is a
        folder or file of the workspace (relative, whole path segments: ``reports`` covers
        ``reports/a.ipynb``, not ``reports-old/a.ipynb``; ``""`` covers every file); a file
        follows the policy of its longest matching prefix, and a file no prefix covers keeps
        every version. A policy is a dict of: ``keep_all_days`` (every version younger than
        this many days is kept; default 7; null: every version forever), ``hourly_days``
        (then the newest version of each hour, UTC, up to this age; default 30; null:
        forever), ``daily_days`` (then the newest version of each day, UTC, up to this age;
        older ones go; default null: forever), ``max_versions`` (at most this many versions
        of a file stay, newest first, after the rules above; protected versions count and
        always stay; default null: no cap). Ages are in days and may be fractions. Never
        deleted: pinned and named versions, versions published (the same bytes as a
        version of a published notebook), the inputs and outputs of runs, rename lineage,
        the latest version of each file and saves not archived yet. Applied by
        ``jupyter bookstore prune`` (``--dry-run`` shows what would go) and, with
        ``retention_interval``, by the server. Empty (the default): keep everything, e.g.
        ``{"": {"keep_all_days": 7, "hourly_days": 30, "max_versions": 500}}``.""",
    ).tag(config=True)

    retention_interval = Float(
        0.0,
        help="""Seconds between two retention passes of the server over its user's
        workspace (each applies ``retention`` and writes one ``prune`` audit event when it
        deleted something; one log line per pass). 0 (the default): no background pass;
        prune with ``jupyter bookstore prune``.""",
    ).tag(config=True)

    @default("s3_access_key_id")
    def _default_access_key_id(self) -> str:
        return _env("s3_access_key_id")

    @default("s3_secret_access_key")
    def _default_secret_access_key(self) -> str:
        return _env("s3_secret_access_key")

    @default("s3_endpoint_url")
    def _default_endpoint_url(self) -> str:
        return _env("s3_endpoint_url")

    @default("s3_region_name")
    def _default_region_name(self) -> str:
        return _env("s3_region_name", "us-east-1")

    @default("s3_bucket")
    def _default_bucket(self) -> str:
        return _env("s3_bucket")

    @default("local_store_dir")
    def _default_local_store_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "bookstore")

    @validate("max_checkpoints")
    def _validate_max_checkpoints(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise TraitError(f"max_checkpoints must be from 1 to {MAX_PAGE_SIZE}, not {value}")
        return value

    @validate("checkpoint_timeout")
    def _validate_checkpoint_timeout(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value >= 0:
            raise TraitError(f"checkpoint_timeout must be 0 or more seconds, not {value}")
        return value

    @validate("retention")
    def _validate_retention(self, proposal: Any) -> dict[str, dict[str, float | int | None]]:
        return check_retention(proposal["value"])

    @validate("retention_interval")
    def _validate_retention_interval(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not (value >= 0 and math.isfinite(value)):
            raise TraitError(
                f"retention_interval must be 0 (off) or a number of seconds, not {value}"
            )
        return value

    @validate("max_threads")
    def _validate_max_threads(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"max_threads must be at least 1, not {value}")
        return value

    @property
    def uses_s3(self) -> bool:
        """True when a bucket is configured, i.e. S3 rather than the embedded store."""
        return bool(self.s3_bucket)

    @property
    def fs_cloning_usable(self) -> bool:
        """True when ``fs_cloning_basedir`` is an absolute, existing directory."""
        basedir = self.fs_cloning_basedir
        return bool(basedir) and os.path.isabs(basedir) and os.path.isdir(basedir)

    def resolve_store_class(self) -> type[ObjectStore]:
        """The store backend class to use with this configuration."""
        if self.store_class is not None:
            return self.store_class
        if self.uses_s3:
            from .stores.s3 import S3Store

            return S3Store
        from .stores.local import LocalStore

        return LocalStore

    def make_store(self, **kwargs: Any) -> ObjectStore:
        """Instantiate (but not start) the configured store."""
        return self.resolve_store_class()(settings=self, **kwargs)


class BookstoreRuns(LoggingConfigurable):
    """Configuration of runs and schedules: the engine, the database, the limits and the
    mail server of notifications (``c.BookstoreRuns.*``).  Needs ``bookstore[runs]``."""

    enabled = Bool(
        True,
        help="""Serve runs and schedules (``/api/bookstore/runs``, ``/schedules``). False:
        those routes answer 403 and this server fires and executes nothing.""",
    ).tag(config=True)

    database_url = Unicode(
        "",
        help="""SQLAlchemy URL of the database of runs and schedules. Several servers (a
        JupyterHub, ``jupyter bookstore scheduler``) share schedules through one
        PostgreSQL, e.g. ``postgresql+psycopg://bookstore@db/bookstore``; each tick fires
        once whichever servers run. Environment variable: BOOKSTORE_RUNS_DATABASE_URL.
        Default: SQLite, ``bookstore-runs.sqlite`` under the Jupyter data directory
        (shared by the servers of one machine).""",
    ).tag(config=True)

    scheduler_address = Unicode(
        "",
        help="""Address of an existing Dask scheduler (``tcp://host:8786``) to send runs
        to; its workers need ``bookstore[runs]`` and the store's settings (they read the
        same Jupyter configuration and ``JPYNB_S3_*`` variables). It should have
        ``distributed.scheduler.allowed-failures: 0`` (bookstore decides retries).
        Environment variable: BOOKSTORE_DASK_SCHEDULER. Empty: an embedded Dask
        ``LocalCluster`` started on the first run.""",
    ).tag(config=True)

    cluster_class = Unicode(
        "",
        help="""Import path of a Dask cluster class to start instead of the embedded
        ``LocalCluster`` (e.g. ``dask_gateway.GatewayCluster``), called with
        ``cluster_options``. Ignored when ``scheduler_address`` is set.""",
    ).tag(config=True)

    cluster_options = Dict(
        default_value={},
        help="Keyword arguments of ``cluster_class``.",
    ).tag(config=True)

    workers = Integer(
        2,
        help="""Worker processes of the embedded cluster (one run at a time each, each
        run in its own kernel).""",
    ).tag(config=True)

    worker_memory = Unicode(
        "auto",
        help="""Memory limit of each embedded worker (``"2GiB"``; ``"auto"``: the
        machine's memory shared among the workers). A worker over it is restarted and its
        run is LOST.""",
    ).tag(config=True)

    max_concurrent_runs = Integer(
        4,
        help="""Most runs one server executes at once; more wait QUEUED (in the order
        they were asked for).""",
    ).tag(config=True)

    lease_seconds = Float(
        15.0,
        help="""How long a server's claim on a running run lasts unless renewed (every
        third of it). A server that stops renewing (it died) loses its runs: another
        server's reconciler marks them LOST after this and retries them per policy.""",
    ).tag(config=True)

    tick_interval = Float(
        0.5,
        help="Seconds between two passes of the scheduler over the schedules.",
    ).tag(config=True)

    poll_interval = Float(
        0.2,
        help="""Seconds between two looks at queued runs, progress and cancel requests
        (cancel takes effect within about this plus the kernel's interrupt).""",
    ).tag(config=True)

    execute_runs = Bool(
        True,
        help="""Execute queued runs on this server (its own user's; everybody's for
        ``jupyter bookstore scheduler``). False: this server only queues runs and fires
        schedules; another server or ``jupyter bookstore scheduler`` executes them.""",
    ).tag(config=True)

    fire_schedules = Bool(
        True,
        help="""Fire schedules on this server. Any number of servers may fire (each tick
        is claimed once in the database); on JupyterHub, ``jupyter bookstore scheduler``
        fires everybody's schedules while single-user servers are culled.""",
    ).tag(config=True)

    default_kernel = Unicode(
        "python3",
        help="The kernel of runs that name none.",
    ).tag(config=True)

    default_execution_timeout = Float(
        0.0,
        help="Seconds a cell may run before its run ends TIMED_OUT. 0: no limit.",
    ).tag(config=True)

    default_wall_timeout = Float(
        0.0,
        help="Seconds a whole run may take before it ends TIMED_OUT. 0: no limit.",
    ).tag(config=True)

    output_prefix = Unicode(
        "runs",
        help="""Workspace folder of run outputs: a run of ``reports/a.ipynb`` writes the
        next version of ``runs/<schedule name or adhoc>/reports/a.ipynb`` (its history,
        diffs and clones are the workspace's).""",
    ).tag(config=True)

    smtp_host = Unicode(
        "",
        help="""Mail server of email notifications. Environment variable:
        BOOKSTORE_SMTP_HOST. Empty: email notifications are refused when asked for.""",
    ).tag(config=True)

    smtp_port = Integer(25, help="Port of ``smtp_host``.").tag(config=True)

    smtp_username = Unicode("", help="User name on the mail server (empty: no login).").tag(
        config=True
    )

    smtp_password = Unicode(
        "",
        help="Password on the mail server. Environment variable: BOOKSTORE_SMTP_PASSWORD.",
    ).tag(config=True)

    smtp_security = Unicode("none", help="``none``, ``starttls`` or ``ssl``.").tag(config=True)

    mail_from = Unicode("bookstore@localhost", help="Sender address of email notifications.").tag(
        config=True
    )

    @default("database_url")
    def _default_database_url(self) -> str:
        from_env = os.environ.get("BOOKSTORE_RUNS_DATABASE_URL", "")
        if from_env:
            return from_env
        return "sqlite:///" + str(Path(jupyter_data_dir()) / "bookstore-runs.sqlite")

    @default("scheduler_address")
    def _default_scheduler_address(self) -> str:
        return os.environ.get("BOOKSTORE_DASK_SCHEDULER", "")

    @default("smtp_host")
    def _default_smtp_host(self) -> str:
        return os.environ.get("BOOKSTORE_SMTP_HOST", "")

    @default("smtp_password")
    def _default_smtp_password(self) -> str:
        return os.environ.get("BOOKSTORE_SMTP_PASSWORD", "")

    @validate("max_concurrent_runs", "workers")
    def _validate_positive(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1, not {value}")
        return value

    @validate("lease_seconds", "tick_interval", "poll_interval")
    def _validate_interval(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value > 0:
            raise TraitError(f"{proposal['trait'].name} must be more than 0, not {value}")
        return value

    @validate("smtp_security")
    def _validate_security(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in {"none", "starttls", "ssl"}:
            raise TraitError(f"smtp_security must be none, starttls or ssl, not {value!r}")
        return value


#: The settings of one retention policy (``BookstoreSettings.retention``), with defaults.
RETENTION_DEFAULTS: dict[str, float | int | None] = {
    "keep_all_days": 7.0,
    "hourly_days": 30.0,
    "daily_days": None,
    "max_versions": None,
}
_WINDOWS = ("keep_all_days", "hourly_days", "daily_days")


def check_retention(value: Any) -> dict[str, dict[str, float | int | None]]:
    """``BookstoreSettings.retention`` checked and completed: ``{normalised prefix: {every
    setting of :data:`RETENTION_DEFAULTS`}}``; :class:`TraitError` saying what to fix."""
    if not isinstance(value, dict):
        raise TraitError(f"retention must be a dict {{path prefix: policy}}, {_EXAMPLE}")
    checked: dict[str, dict[str, float | int | None]] = {}
    for prefix, policy in value.items():
        try:
            normalized = normalize_path(prefix, what="retention prefix")
        except InvalidPath as exc:
            raise TraitError(
                f"retention: {exc} A prefix is a folder or file relative to the workspace "
                "('' for every file)."
            ) from None
        if normalized in checked:
            raise TraitError(f"retention: two prefixes name {normalized!r}; give one policy")
        checked[normalized] = _check_policy(f"retention[{prefix!r}]", policy)
    return checked


_EXAMPLE = "e.g. {'': {'keep_all_days': 7, 'hourly_days': 30}}"


def _check_policy(where: str, policy: Any) -> dict[str, float | int | None]:
    """One retention policy, checked and completed with the defaults."""
    if not isinstance(policy, dict):
        raise TraitError(f"{where} must be a dict of {', '.join(RETENTION_DEFAULTS)}, {_EXAMPLE}")
    unknown = sorted(str(name) for name in policy if name not in RETENTION_DEFAULTS)
    if unknown:
        raise TraitError(
            f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; a policy "
            f"takes {', '.join(RETENTION_DEFAULTS)}"
        )
    filled = {**RETENTION_DEFAULTS, **policy}
    for name in _WINDOWS:
        days = filled[name]
        if days is None:
            continue
        if isinstance(days, bool) or not isinstance(days, (int, float)):
            raise TraitError(f"{where}: {name} must be a number of days or null, not {days!r}")
        if not (math.isfinite(days) and days >= 0):
            raise TraitError(f"{where}: {name} must be 0 or more days (null: forever)")
        filled[name] = float(days)
    cap = filled["max_versions"]
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise TraitError(
            f"{where}: max_versions must be a whole number, 1 or more (null: no cap), not {cap!r}"
        )
    for earlier, later in itertools.pairwise(_WINDOWS):
        start, end = filled[earlier], filled[later]
        if start is None:
            break  # kept forever from here: the later windows never apply
        if end is not None and end < start:
            raise TraitError(
                f"{where}: {later} ({end:g}) is shorter than {earlier} ({start:g}); each "
                f"window starts where the one before ends, so {later} must be at least "
                f"{start:g}"
            )
    return filled


def _usable(prefix: Callable[[], str]) -> bool:
    """True when the prefix decision ``prefix`` gives a key (not :class:`NotAllowed`)."""
    try:
        prefix()
    except NotAllowed:
        return False
    return True


def validate_bookstore(
    settings: BookstoreSettings, status: StoreStatus | None = None
) -> dict[str, bool]:
    """Check which features are usable with ``settings``.

    Without ``status`` only the configuration is judged; with the result of the
    store's :meth:`~bookstore.stores.base.ObjectStore.check`, a feature that needs the
    store is valid only when the store is usable, and archiving only when the bucket
    keeps versions.

    Returns the dict ``{"bookstore_valid", "archive_valid", "history_valid",
    "publish_valid", "s3_clone_valid", "fs_clone_valid"}`` of booleans.
    """
    if settings.store_class is not None or settings.uses_s3:
        store_configured = True
    else:
        store_configured = os.path.isabs(settings.local_store_dir)
    store_ok = store_configured and (status is None or status.usable)
    history_ok = status is None or status.versioned
    published = (
        published_key_prefix(settings.published_prefix)
        if _usable(lambda: published_key_prefix(settings.published_prefix))
        else None
    )
    workspace_ok = _usable(
        lambda: workspace_key_prefix(settings.workspace_prefix, server_username(), published)
    )
    return {
        "bookstore_valid": store_ok,
        "archive_valid": store_ok
        and history_ok
        and workspace_ok
        and bool(settings.archive_file_types),
        "history_valid": store_ok and history_ok and workspace_ok,
        "publish_valid": store_ok
        and _usable(lambda: published_key_prefix(settings.published_prefix)),
        "s3_clone_valid": store_ok and settings.enable_s3_cloning,
        "fs_clone_valid": settings.fs_cloning_usable,
    }


#: The config file of the classic notebook server, where bookstore 2.x kept its settings.
LEGACY_CONFIG_FILE = "jupyter_notebook_config"


@dataclass(frozen=True)
class LegacySettings:
    """The ``BookstoreSettings`` section of the ``jupyter_notebook_config`` files found,
    and those files (empty when none sets anything)."""

    config: Config = field(default_factory=Config)
    files: tuple[str, ...] = ()

    def beneath(self, config: Config) -> Config:
        """``config`` with these settings added where it sets nothing itself (a value of
        ``config`` wins)."""
        merged = Config({"BookstoreSettings": Config(self.config)})
        merged.merge(config)
        return merged

    def advice(self) -> str:
        """The log line that suggests moving the settings."""
        return (
            f"bookstore: read BookstoreSettings from {', '.join(self.files)}; Jupyter Server "
            "reads jupyter_server_config.py (or .json): move them there (a value set there "
            "or on the command line wins)."
        )


def load_legacy_settings(paths: list[str], log: Any = None) -> LegacySettings:
    """The ``BookstoreSettings`` of ``jupyter_notebook_config.py``/``.json`` in the config
    directories ``paths`` (highest priority first, as ``jupyter --paths`` lists them).

    Only that section is taken; a file that fails to load is logged and skipped, as
    Jupyter does.
    """
    reader = Application(log=log) if log is not None else Application()
    reader.load_config_file(LEGACY_CONFIG_FILE, path=paths)
    section = reader.config.get("BookstoreSettings")
    if not isinstance(section, Config) or not section:
        return LegacySettings()
    return LegacySettings(Config(section), tuple(reader.loaded_config_files))

"""Retention: which versions of the workspace to keep, and pruning the others for good.

Three parts, each usable alone:

* the **policy**: :class:`RetentionRules`, ``BookstoreSettings.retention`` parsed and
  validated (:func:`~bookstore.config.check_retention` says what is wrong): a
  :class:`RetentionPolicy` per path prefix, the longest matching prefix winning;
* the **planner**: :func:`plan_versions`, a pure function from one file's versions
  (newest first), the time and the protected versions to a :class:`Decision` per
  version: kept and why, or dropped and why;
* the **pruner**: :class:`Pruner` walks the workspace keys under a prefix, plans each
  file and (unless it is a dry run) deletes the dropped versions with
  :meth:`~bookstore.stores.base.ObjectStore.delete_version`, a bounded number at once,
  then writes **one** audit event (action ``prune``) with the counts, the bytes and every
  deleted ``(key, version)``.

A policy keeps every version younger than ``keep_all_days``; then, up to
``hourly_days``, the newest version of each hour (UTC); then, up to ``daily_days``
(``None``: forever), the newest of each day (UTC); older ones go.  ``max_versions`` then
caps how many stay, newest first (protected versions count toward it, and stay anyway).

Never dropped, whatever the policy (:data:`PROTECTIONS`): saves still pending in the
archive spool, the latest version of each file, versions pinned or named
(:mod:`~bookstore.core.annotations`), versions published (a workspace version whose
``etag``, the MD5 of its bytes that listings carry, equals the etag of a version of a
published notebook: a publish copies or uploads those same bytes), versions a run ran or
wrote or a schedule pins (the runs database), and the versions a renamed file's history
runs through (the rename lineage, see :mod:`~bookstore.core.archive.lineage`).
Files deleted in Jupyter are not walked (the store lists current keys only): their
history stays whole.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from ..config import check_retention
from ..errors import BookstoreError, InvalidPath, NotAllowed, ObjectNotFound, StoreError
from ..keys import normalize_path, prefixes_overlap, s3_key
from ..stores.base import MAX_PAGE_SIZE, ObjectInfo, ObjectStore, list_all_keys
from ..timestamps import format_timestamp
from .annotations import Annotations
from .archive.lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    lineage_of,
)
from .archive.spool import Spool, SpoolEntry, pending_seq
from .areas import StoreAreas
from .audit import AuditEvent
from .history import MAX_RENAME_HOPS, PendingSaves, pending_info

__all__ = [
    "DROP_REASONS",
    "KEEP_REASONS",
    "NO_POLICY",
    "PROTECTIONS",
    "Decision",
    "DroppedVersion",
    "PruneReport",
    "Pruner",
    "RetentionPolicy",
    "RetentionRules",
    "annotated_ids",
    "plan_versions",
    "pruner_for",
    "run_versions_reader",
]

#: Why a version is kept although the policy would let it go, most important first.
PROTECTIONS: dict[str, str] = {
    "pending": "a save not archived yet",
    "latest": "the latest version",
    "pinned": "pinned",
    "named": "named",
    "published": "published (same bytes as a published version)",
    "run": "the input or output of a run, or pinned by a schedule",
    "lineage": "part of a renamed file's history",
}
#: Every reason a version is kept: a protection, or the window that keeps it.
KEEP_REASONS: dict[str, str] = {
    **PROTECTIONS,
    "recent": "younger than keep_all_days",
    "hourly": "the newest of its hour",
    "daily": "the newest of its day",
}
#: Every reason a version is dropped.
DROP_REASONS: dict[str, str] = {
    "hourly": "not the newest of its hour",
    "daily": "not the newest of its day",
    "expired": "older than daily_days",
    "max_versions": "over max_versions",
}

#: What a prune says when ``BookstoreSettings.retention`` is empty.
NO_POLICY = (
    "No retention policy is configured (BookstoreSettings.retention is empty): nothing is "
    "pruned. Set one, e.g. c.BookstoreSettings.retention = "
    "{'': {'keep_all_days': 7, 'hourly_days': 30}}."
)

_DAY = 86400.0
_HOUR = 3600.0


# -- the policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    """One policy: the windows in days (``None``: forever) and the cap (``None``: none)."""

    keep_all_days: float | None = 7.0
    hourly_days: float | None = 30.0
    daily_days: float | None = None
    max_versions: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (as configured)."""
        return {
            "keep_all_days": self.keep_all_days,
            "hourly_days": self.hourly_days,
            "daily_days": self.daily_days,
            "max_versions": self.max_versions,
        }


@dataclass(frozen=True)
class RetentionRules:
    """``BookstoreSettings.retention``: a policy per normalised path prefix (``""``:
    every file).  Empty: retention is off (everything is kept)."""

    policies: Mapping[str, RetentionPolicy] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any) -> RetentionRules:
        """Check ``value`` like the setting does (:class:`~traitlets.TraitError` naming
        the problem) and build the rules."""
        checked = check_retention(value)
        return cls(
            {
                prefix: RetentionPolicy(
                    keep_all_days=_days(policy["keep_all_days"]),
                    hourly_days=_days(policy["hourly_days"]),
                    daily_days=_days(policy["daily_days"]),
                    max_versions=None
                    if policy["max_versions"] is None
                    else int(policy["max_versions"]),
                )
                for prefix, policy in checked.items()
            }
        )

    def __bool__(self) -> bool:
        return bool(self.policies)

    def policy_for(self, path: str) -> tuple[str, RetentionPolicy] | None:
        """The ``(prefix, policy)`` that applies to workspace path ``path``: the longest
        prefix covering it by whole segments; None when no prefix does."""
        best: tuple[str, RetentionPolicy] | None = None
        for prefix, policy in self.policies.items():
            covers = prefix in ("", path) or path.startswith(prefix + "/")
            if covers and (best is None or len(prefix) > len(best[0])):
                best = (prefix, policy)
        return best

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {prefix: policy.to_dict() for prefix, policy in self.policies.items()}


def _days(value: Any) -> float | None:
    return None if value is None else float(value)


# -- the planner ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What becomes of one version: kept or not, and why (a key of
    :data:`KEEP_REASONS` or :data:`DROP_REASONS`)."""

    version_id: str
    last_modified: datetime
    size: int
    keep: bool
    reason: str


def plan_versions(
    versions: Sequence[ObjectInfo],
    policy: RetentionPolicy,
    *,
    now: datetime,
    protected: Mapping[str, str] | AbstractSet[str] = frozenset(),
) -> list[Decision]:
    """Decide, for each of one file's ``versions`` (newest first, as stores list them;
    pending saves, ids ``pending-<n>``, may head the list), whether ``policy`` keeps it.

    ``protected`` maps version ids to a reason of :data:`PROTECTIONS` (a set: reason
    ``pinned``); those, pending saves and the latest version (the newest stored one, or
    any marked ``is_latest``) are always kept.  Pure: no I/O, ``now`` is given.
    """
    reasons: Mapping[str, str] = (
        protected if isinstance(protected, Mapping) else dict.fromkeys(protected, "pinned")
    )
    decisions: list[Decision] = []
    seen_hours: set[int] = set()
    seen_days: set[Any] = set()
    newest_stored = True
    kept = 0
    cap = policy.max_versions
    for info in versions:
        version_id = str(info.version_id)
        moment = info.last_modified.astimezone(timezone.utc)
        hour = int(moment.timestamp() // _HOUR)
        day = moment.date()
        newest_of_hour, newest_of_day = hour not in seen_hours, day not in seen_days
        seen_hours.add(hour)
        seen_days.add(day)
        pending = pending_seq(version_id) is not None
        reason = _protection(version_id, info, pending, newest_stored, reasons)
        if not pending:
            newest_stored = False
        keep: bool
        if reason is not None:
            keep = True
        else:
            reason, keep = _window(
                policy, (now - moment).total_seconds() / _DAY, newest_of_hour, newest_of_day
            )
            if keep and cap is not None and kept >= cap:
                reason, keep = "max_versions", False
        kept += keep
        decisions.append(Decision(version_id, info.last_modified, info.size, keep, reason))
    return decisions


def _protection(
    version_id: str,
    info: ObjectInfo,
    pending: bool,
    newest_stored: bool,
    reasons: Mapping[str, str],
) -> str | None:
    """The protection keeping this version, if any (the most important one)."""
    if pending:
        return "pending"
    if newest_stored or info.is_latest:
        return "latest"
    return reasons.get(version_id)


def _window(
    policy: RetentionPolicy, age: float, newest_of_hour: bool, newest_of_day: bool
) -> tuple[str, bool]:
    """The window a version of ``age`` days falls in, and whether it keeps it."""
    if policy.keep_all_days is None or age < policy.keep_all_days:
        return "recent", True
    if policy.hourly_days is None or age < policy.hourly_days:
        return "hourly", newest_of_hour
    if policy.daily_days is None or age < policy.daily_days:
        return "daily", newest_of_day
    return "expired", False


# -- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DroppedVersion:
    """A version a prune drops (or would drop, in a dry run)."""

    path: str
    key: str
    version_id: str
    last_modified: datetime
    size: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``last_modified`` as RFC 3339)."""
        return {
            "path": self.path,
            "version_id": self.version_id,
            "last_modified": format_timestamp(self.last_modified),
            "size": self.size,
            "reason": self.reason,
        }


@dataclass
class PruneReport:
    """What a prune found and did.  ``dropped`` lists every version the policies let go
    (in a dry run, what *would* go); ``deleted`` the ones really deleted; ``failed`` the
    ones whose delete failed (``(version, error)``)."""

    dry_run: bool
    prefix: str
    now: datetime
    rules: RetentionRules
    files: int = 0
    #: Files under the prefix that no policy covers (all their versions are kept).
    files_without_policy: int = 0
    versions: int = 0
    kept_by_reason: dict[str, int] = field(default_factory=dict)
    dropped: list[DroppedVersion] = field(default_factory=list)
    deleted: list[DroppedVersion] = field(default_factory=list)
    failed: list[tuple[DroppedVersion, str]] = field(default_factory=list)
    #: Why the walk stopped early (a store error), when it did.
    stopped: str | None = None

    @property
    def kept(self) -> int:
        """How many versions stay."""
        return sum(self.kept_by_reason.values())

    @property
    def dropped_bytes(self) -> int:
        """The bytes of the dropped versions."""
        return sum(item.size for item in self.dropped)

    @property
    def deleted_bytes(self) -> int:
        """The bytes of the versions deleted."""
        return sum(item.size for item in self.deleted)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the output of ``jupyter bookstore prune --json``)."""
        return {
            "dry_run": self.dry_run,
            "prefix": self.prefix,
            "now": format_timestamp(self.now),
            "policies": self.rules.to_dict(),
            "totals": {
                "files": self.files,
                "files_without_policy": self.files_without_policy,
                "versions": self.versions,
                "kept": self.kept,
                "dropped_versions": len(self.dropped),
                "dropped_bytes": self.dropped_bytes,
                "deleted_versions": len(self.deleted),
                "deleted_bytes": self.deleted_bytes,
                "failed": len(self.failed),
            },
            "kept_by_reason": dict(sorted(self.kept_by_reason.items())),
            "dropped": [item.to_dict() for item in self.dropped],
            "failed": [{**item.to_dict(), "error": error} for item, error in self.failed],
            "stopped": self.stopped,
        }


# -- the pruner -------------------------------------------------------------------------------

#: ``protected_ids(key)``: the versions of ``key`` that are protected, with their reasons
#: (or just their ids: reason ``pinned``).
ProtectedIds = Callable[[str], Awaitable[Mapping[str, str] | AbstractSet[str]]]
#: ``run_versions()``: ``(key, version id)`` of every version a run or schedule names.
RunVersions = Callable[[], Awaitable[AbstractSet[tuple[str, str]]]]
#: ``record(event)``: append an audit event.
Record = Callable[[AuditEvent], Awaitable[Any]]


class Pruner:
    """Applies ``rules`` to the workspace under ``workspace_prefix`` of ``store``.

    The protections come from: ``protected_ids`` (names and pins: see
    :func:`annotated_ids`), the published notebooks under ``published_prefix`` (their
    versions' etags), ``run_versions`` (the runs database), ``pending`` (the archive
    spool) and each file's own listing (latest version, rename lineage).  ``record``
    writes the audit event of a prune that deleted something (as ``user``, for the
    workspace of ``server_user``); ``concurrency`` bounds the files listed and the
    versions deleted at once.
    """

    def __init__(
        self,
        store: ObjectStore,
        workspace_prefix: str,
        rules: RetentionRules,
        *,
        user: str,
        published_prefix: str | None = None,
        protected_ids: ProtectedIds | None = None,
        run_versions: RunVersions | None = None,
        pending: PendingSaves | None = None,
        record: Record | None = None,
        server_user: str | None = None,
        concurrency: int = 8,
        trigger: str = "command",
    ) -> None:
        self.store = store
        self.workspace_prefix = workspace_prefix
        self.rules = rules
        self.user = user
        self.published_prefix = published_prefix
        self.protected_ids = protected_ids
        self.run_versions = run_versions
        self.pending = pending
        self.record = record
        self.server_user = server_user
        self.concurrency = max(1, concurrency)
        self.trigger = trigger

    def path_of(self, key: str) -> str:
        """The workspace path of ``key``."""
        return key[len(self.workspace_prefix) + 1 :]

    async def run(
        self, prefix: str = "", *, dry_run: bool = True, now: datetime | None = None
    ) -> PruneReport:
        """Plan every file under path ``prefix`` (``""``: the whole workspace) as of
        ``now`` (default: now) and, unless ``dry_run``, delete what the plan drops.

        A store error stops the walk and is raised, after the audit event of what was
        deleted until then is written; a failed delete of one version is reported in
        :attr:`PruneReport.failed` and the prune goes on.
        """
        if not self.rules:
            raise NotAllowed(NO_POLICY)
        path_prefix = normalize_path(prefix, what="path prefix")
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        report = PruneReport(dry_run=dry_run, prefix=path_prefix, now=moment, rules=self.rules)
        try:
            await self._walk(report, path_prefix)
        except BaseException as exc:
            report.stopped = str(exc) if isinstance(exc, BookstoreError) else type(exc).__name__
            if not dry_run and (report.deleted or report.failed):
                await self._audit(report)
            raise
        if not dry_run and (report.deleted or report.failed):
            await self._audit(report)
        return report

    # -- the walk -----------------------------------------------------------------------

    async def _walk(self, report: PruneReport, path_prefix: str) -> None:
        keys, published, runs = await asyncio.gather(
            self._keys(path_prefix), self._published_etags(), self._run_versions()
        )
        covered = []
        for key in keys:
            found = self.rules.policy_for(self.path_of(key))
            if found is None:
                report.files_without_policy += 1
            else:
                covered.append((key, found[1]))
        report.files = len(covered)
        covered_keys = {key for key, _ in covered}
        if isinstance(self.pending, Spool):  # read from disk: in a worker thread
            pending = await asyncio.to_thread(self._pending_by_key, covered_keys)
        else:  # the archiver's memory: on the event loop, where it changes
            pending = self._pending_by_key(covered_keys)
        limit = asyncio.Semaphore(self.concurrency)
        latest = await _bounded(limit, (self._latest(key) for key, _ in covered))
        anchors = await self._lineage_anchors([info for info in latest if info is not None])
        deletes = asyncio.Semaphore(self.concurrency)
        protections = _Protections(published, runs, anchors, pending, deletes)
        await _bounded(
            limit, (self._prune_key(report, key, policy, protections) for key, policy in covered)
        )
        report.dropped.sort(key=lambda item: (item.path, -item.last_modified.timestamp()))
        report.deleted.sort(key=lambda item: (item.path, -item.last_modified.timestamp()))

    async def _keys(self, path_prefix: str) -> list[str]:
        """The current workspace keys under ``path_prefix`` (whole segments)."""
        if not path_prefix:
            return await list_all_keys(self.store, self.workspace_prefix + "/")
        base = s3_key(self.workspace_prefix, path_prefix)
        keys = await list_all_keys(self.store, base)
        return [key for key in keys if key == base or key.startswith(base + "/")]

    async def _published_etags(self) -> frozenset[str]:
        """The etags of every version of every published notebook."""
        prefix = self.published_prefix
        if not prefix or prefixes_overlap(prefix, self.workspace_prefix):
            return frozenset()
        keys = await list_all_keys(self.store, prefix + "/")
        limit = asyncio.Semaphore(self.concurrency)
        listings = await _bounded(limit, (self._all_versions(key) for key in keys))
        return frozenset(info.etag for versions in listings for info in versions if info.etag)

    async def _run_versions(self) -> frozenset[tuple[str, str]]:
        if self.run_versions is None:
            return frozenset()
        return frozenset(await self.run_versions())

    async def _all_versions(self, key: str) -> list[ObjectInfo]:
        versions: list[ObjectInfo] = []
        token = None
        while True:
            page = await self.store.list_versions(key, limit=MAX_PAGE_SIZE, token=token)
            versions.extend(page.items)
            token = page.next_token
            if token is None:
                return versions

    async def _latest(self, key: str) -> ObjectInfo | None:
        """The latest version of ``key`` with its metadata (None: deleted meanwhile)."""
        try:
            return await self.store.head(key)
        except ObjectNotFound:
            return None

    async def _lineage_anchors(self, latest: Sequence[ObjectInfo]) -> frozenset[tuple[str, str]]:
        """``(key, version id)`` of the versions the current files' rename lineages run
        through (each file's first version under its name, and the version of the older
        name it continues, hop after hop)."""
        anchors: set[tuple[str, str]] = set()
        limit = asyncio.Semaphore(self.concurrency)
        chains = await _bounded(limit, (self._chain(info) for info in latest))
        for chain in chains:
            anchors.update(chain)
        return frozenset(anchors)

    async def _chain(self, info: ObjectInfo) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        key, lineage = info.key, lineage_of(info)
        for _ in range(MAX_RENAME_HOPS):
            start = lineage.get(LINEAGE_START_FIELD)
            if start:
                found.add((key, start))
            older, version = (
                lineage.get(RENAMED_FROM_FIELD),
                lineage.get(RENAMED_FROM_VERSION_FIELD),
            )
            if not older or not version:
                break
            try:
                older_key = s3_key(self.workspace_prefix, unquote(older))
            except InvalidPath:
                break
            if (older_key, version) in found:
                break  # a loop
            found.add((older_key, version))
            try:
                previous = await self.store.head(older_key, version)
            except ObjectNotFound:
                break
            key, lineage = older_key, lineage_of(previous)
        return found

    async def _prune_key(
        self,
        report: PruneReport,
        key: str,
        policy: RetentionPolicy,
        protections: _Protections,
    ) -> None:
        path = self.path_of(key)
        stored = await self._all_versions(key)
        # Read after the listing: a version listed is covered by the notes read now.
        protected: dict[str, str] = {}
        if self.protected_ids is not None:
            ids = await self.protected_ids(key)
            items = ids.items() if isinstance(ids, Mapping) else ((vid, "pinned") for vid in ids)
            protected.update(items)
        for info in stored:
            version_id = str(info.version_id)
            if version_id in protected:
                continue
            if info.etag and info.etag in protections.published:
                protected[version_id] = "published"
            elif (key, version_id) in protections.runs:
                protected[version_id] = "run"
            elif (key, version_id) in protections.lineage:
                protected[version_id] = "lineage"
        pending = [pending_info(entry) for entry in protections.pending.get(key, [])]
        decisions = plan_versions([*pending, *stored], policy, now=report.now, protected=protected)
        report.versions += len(stored)
        drops = []
        for decision in decisions:
            if decision.keep:
                report.kept_by_reason[decision.reason] = (
                    report.kept_by_reason.get(decision.reason, 0) + 1
                )
                continue
            drops.append(
                DroppedVersion(
                    path,
                    key,
                    decision.version_id,
                    decision.last_modified,
                    decision.size,
                    decision.reason,
                )
            )
        report.dropped.extend(drops)
        if report.dry_run or not drops:
            return
        await asyncio.gather(*(self._delete(report, item, protections.deletes) for item in drops))

    async def _delete(
        self, report: PruneReport, item: DroppedVersion, deletes: asyncio.Semaphore
    ) -> None:
        async with deletes:
            try:
                await self.store.delete_version(item.key, item.version_id)
            except StoreError as exc:
                report.failed.append((item, str(exc)))
                return
        report.deleted.append(item)

    def _pending_by_key(self, keys: AbstractSet[str]) -> dict[str, list[SpoolEntry]]:
        """The saves of ``keys`` not archived yet, newest first (a spool on disk, as the
        command line sees it, is read once)."""
        if self.pending is None:
            return {}
        if isinstance(self.pending, Spool):
            found: dict[str, list[SpoolEntry]] = {}
            for entry in reversed(self.pending.entries()):
                if entry.action == "save" and entry.key in keys:
                    found.setdefault(entry.key, []).append(entry)
            return found
        return {key: saves for key in keys if (saves := self.pending.pending_saves(key))}

    # -- the audit event ----------------------------------------------------------------

    async def _audit(self, report: PruneReport) -> None:
        if self.record is None:
            return
        key = (
            s3_key(self.workspace_prefix, report.prefix) if report.prefix else self.workspace_prefix
        )
        result: dict[str, Any] = {
            "trigger": self.trigger,
            "files": report.files,
            "versions": report.versions,
            "kept": report.kept,
            "deleted_versions": len(report.deleted),
            "deleted_bytes": report.deleted_bytes,
            "failed": len(report.failed),
            "deleted": [[item.key, item.version_id] for item in report.deleted],
        }
        if report.stopped:
            result["stopped"] = report.stopped
        await self.record(
            AuditEvent(
                "prune",
                self.user,
                key=key,
                path=report.prefix or None,
                bucket=self.store.bucket,
                server_user=self.server_user,
                result=result,
            )
        )


@dataclass(frozen=True)
class _Protections:
    """What one prune protects besides each file's own notes, and its bound on deletes."""

    published: AbstractSet[str]
    runs: AbstractSet[tuple[str, str]]
    lineage: AbstractSet[tuple[str, str]]
    pending: Mapping[str, list[SpoolEntry]]
    deletes: asyncio.Semaphore


async def _bounded(limit: asyncio.Semaphore, coroutines: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await ``coroutines`` with at most ``limit`` of them running at once, in order."""

    async def one(coroutine: Awaitable[Any]) -> Any:
        async with limit:
            return await coroutine

    return list(await asyncio.gather(*(one(coroutine) for coroutine in coroutines)))


# -- where the protections come from ----------------------------------------------------------


def run_versions_reader(database_url: str) -> RunVersions:
    """``run_versions()`` reading the runs database at ``database_url``: a SQLite file
    that does not exist holds no runs; any other database is read with
    :meth:`~bookstore.core.runs.db.RunDB.versions_in_use`, and a prune refuses to go on
    (:class:`NotAllowed`) when it cannot be read: run inputs and outputs would not be
    protected."""

    async def read() -> AbstractSet[tuple[str, str]]:
        return await asyncio.to_thread(_read_run_versions, database_url)

    return read


def _read_run_versions(url: str) -> set[tuple[str, str]]:
    if url.startswith("sqlite:"):
        path = url.partition(":///")[2].partition("?")[0]
        if not path or path == ":memory:" or not os.path.exists(path):
            return set()
    try:
        from .runs.db import RunDB
    except ImportError as exc:
        raise NotAllowed(
            "Cannot read the runs database (BookstoreRuns.database_url) to keep the versions "
            f"runs use: {exc}. Install bookstore[runs] to prune."
        ) from None
    try:
        db = RunDB(url)
    except Exception as exc:
        raise NotAllowed(
            "Cannot read the runs database (BookstoreRuns.database_url) to keep the versions "
            f"runs use: {type(exc).__name__}; nothing is pruned."
        ) from None
    try:
        return db.versions_in_use()
    finally:
        db.close()


def annotated_ids(annotations: Annotations) -> ProtectedIds:
    """``protected_ids(key)`` from the version notes: the versions of ``key`` pinned
    (reason ``pinned``) or named (``named``)."""

    async def protected(key: str) -> Mapping[str, str]:
        notes = await annotations.for_key(key)
        return {
            version_id: "pinned" if note.pinned else "named"
            for version_id, note in notes.items()
            if Annotations.protected(note)
        }

    return protected


async def pruner_for(
    areas: StoreAreas,
    *,
    run_versions: RunVersions | None,
    record: Record | None,
    pending: PendingSaves | None = None,
    user: str | None = None,
    concurrency: int | None = None,
    trigger: str = "command",
) -> Pruner:
    """The :class:`Pruner` of ``areas``' workspace with every protection its settings give:
    :class:`NotAllowed` when no retention policy is configured or the workspace has no
    usable prefix.  Without a usable ``annotations_prefix`` no version can be named or
    pinned, so none is protected for that; without a usable ``published_prefix``, none
    for being published."""
    settings = areas.settings
    rules = RetentionRules.parse(settings.retention)
    if not rules:
        raise NotAllowed(NO_POLICY)
    history = await areas.history("workspace")
    try:
        published_prefix: str | None = areas.published_prefix()
    except NotAllowed:
        published_prefix = None
    try:
        protected: ProtectedIds | None = annotated_ids(await areas.annotations())
    except NotAllowed:
        protected = None
    return Pruner(
        history.store,
        history.prefix,
        rules,
        user=user or areas.username,
        published_prefix=published_prefix,
        protected_ids=protected,
        run_versions=run_versions,
        pending=pending,
        record=record,
        server_user=areas.username,
        concurrency=concurrency or settings.max_threads,
        trigger=trigger,
    )

"""Runs, schedules, fires and notifications in one SQL database shared by every server.

SQLAlchemy Core on SQLite (one file under the Jupyter data dir: every server of one
machine) or PostgreSQL (by URL: servers on several machines).  Everything that must
happen once, whoever asks, is decided by the database:

* a tick fires once: ``bookstore_fires`` has the primary key ``(schedule_id,
  fire_time)``, and the fire and its run are inserted in one transaction
  (:meth:`RunDB.claim_tick`), so the second server's insert fails and it moves on;
* a queued run starts once: dispatch is a conditional update that takes a lease
  (``lease_owner``, ``lease_until``) only while the run is still ``QUEUED`` and
  unleased (:meth:`RunDB.claim_runs`); the supervising server renews it, and a lease
  that expires means the server died (:meth:`RunDB.expire_leases` marks it ``LOST``);
* a state changes once: :meth:`RunDB.transition` updates only from the expected states;
* a notification is sent at least once: a row per ``(run, event, target)`` is claimed
  with a lease and marked sent after delivery.

Methods are synchronous (the service calls them in a thread); times are epoch seconds.
On SQLite every transaction is ``BEGIN IMMEDIATE`` (so a read-then-write transaction
waits for the file lock instead of failing) in WAL mode with a busy timeout.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, InvalidRequest, ObjectNotFound
from .states import ACTIVE, TERMINAL, RunState, check_transition

__all__ = ["RunDB", "new_id"]

metadata = sa.MetaData()

runs = sa.Table(
    "bookstore_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("schedule_id", sa.String(40), index=True),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("fire_time", sa.Float),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("reason", sa.Text),
    sa.Column("source_area", sa.String(20), nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("source_key", sa.Text, nullable=False),
    sa.Column("version_policy", sa.String(10), nullable=False),
    sa.Column("version_id", sa.Text),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("kernel_name", sa.String(200)),
    sa.Column("execution_timeout", sa.Float),
    sa.Column("wall_timeout", sa.Float),
    sa.Column("slow_after", sa.Float),
    sa.Column("output_path", sa.Text, nullable=False),
    sa.Column("output_key", sa.Text, nullable=False),
    sa.Column("output_version_id", sa.Text),
    sa.Column("attempt", sa.Integer, nullable=False, default=1),
    sa.Column("max_retries", sa.Integer, nullable=False, default=0),
    sa.Column("retry_on", sa.JSON, nullable=False),
    sa.Column("retry_backoff", sa.Float, nullable=False, default=30.0),
    sa.Column("retry_of", sa.String(40)),
    sa.Column("overlap", sa.String(20)),
    sa.Column("notify", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("error", sa.JSON),
    sa.Column("cells_done", sa.Integer, nullable=False, default=0),
    sa.Column("cells_total", sa.Integer, nullable=False, default=0),
    sa.Column("current_cell", sa.Integer),
    sa.Column("log", sa.Text, nullable=False, default=""),
    sa.Column("partial", sa.LargeBinary),
    sa.Column("engine", sa.String(200)),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("not_before", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", sa.Float),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("owner", "idempotency_key", name="bookstore_runs_idempotency"),
)

schedules = sa.Table(
    "bookstore_schedules",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("source_area", sa.String(20), nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("source_key", sa.Text, nullable=False),
    sa.Column("version_policy", sa.String(10), nullable=False),
    sa.Column("version_id", sa.Text),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("kernel_name", sa.String(200)),
    sa.Column("cron", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(100), nullable=False),
    sa.Column("execution_timeout", sa.Float),
    sa.Column("wall_timeout", sa.Float),
    sa.Column("slow_after", sa.Float),
    sa.Column("output_path", sa.Text, nullable=False),
    sa.Column("output_key", sa.Text, nullable=False),
    sa.Column("missed", sa.String(10), nullable=False),
    sa.Column("max_catchup", sa.Integer, nullable=False),
    sa.Column("overlap", sa.String(20), nullable=False),
    sa.Column("max_retries", sa.Integer, nullable=False),
    sa.Column("retry_on", sa.JSON, nullable=False),
    sa.Column("retry_backoff", sa.Float, nullable=False),
    sa.Column("notify", sa.JSON, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, default=1),
    # Ticks are counted (run, or missed and skipped) from here: the creation, the last
    # change of its timing, or its resumption.
    sa.Column("timing_since", sa.Float, nullable=False),
)

fires = sa.Table(
    "bookstore_fires",
    metadata,
    sa.Column("schedule_id", sa.String(40), primary_key=True),
    sa.Column("fire_time", sa.Float, primary_key=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
)

notifications = sa.Table(
    "bookstore_notifications",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("event", sa.String(20), primary_key=True),
    sa.Column("target", sa.String(600), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", sa.Float),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
)

#: Columns a run's progress report may set.
_PROGRESS_COLUMNS = {"cells_done", "cells_total", "current_cell", "log", "partial"}


def new_id() -> str:
    """A new run or schedule id: 24 hex digits, ordered by creation time."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def _new_run_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new run: ``row`` over the defaults (an id made when it has none)."""
    now = time.time()
    values = {
        "created_at": now,
        "updated_at": now,
        "not_before": now,
        "log": "",
        "cells_done": 0,
        "cells_total": 0,
        "cancel_requested": False,
        **row,
    }
    values.setdefault("id", new_id())
    return values


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class RunDB:
    """The runs database at ``url`` (a SQLAlchemy URL), its tables created if missing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- runs ---------------------------------------------------------------------------

    def create_run(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Insert a run; ``(run, True)``, or ``(existing, False)`` when its owner already
        made a run with the same idempotency key."""
        values = _new_run_values(row)
        try:
            with self._begin() as conn:
                conn.execute(runs.insert().values(**values))
        except IntegrityError:
            key = values.get("idempotency_key")
            if key is None:
                raise
            existing = self.find_idempotent(values["owner"], key)
            if existing is None:  # pragma: no cover - the unique constraint says it exists
                raise
            return existing, False
        run = self.get_run(values["id"])
        assert run is not None
        return run, True

    def find_idempotent(self, owner: str, key: str) -> dict[str, Any] | None:
        """The run ``owner`` created with idempotency key ``key``."""
        with self._begin() as conn:
            row = conn.execute(
                runs.select().where(runs.c.owner == owner, runs.c.idempotency_key == key)
            ).first()
        return _row(row) if row is not None else None

    def _one(self, table: sa.Table, row_id: str) -> dict[str, Any] | None:
        with self._begin() as conn:
            row = conn.execute(table.select().where(table.c.id == row_id)).first()
        return _row(row) if row is not None else None

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run, or None."""
        return self._one(runs, run_id)

    def require_run(self, run_id: str) -> dict[str, Any]:
        """One run; 404 when there is none."""
        run = self._one(runs, run_id)
        if run is None:
            raise ObjectNotFound(f"There is no run {run_id!r}.")
        return run

    def list_runs(
        self,
        *,
        owner: str | None = None,
        schedule_id: str | None = None,
        source_path: str | None = None,
        states: Iterable[str] | None = None,
        before: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Runs, newest first, filtered; ``before`` is the ``(created_at, id)`` of the last
        run of the previous page."""
        query = runs.select().with_only_columns(*[c for c in runs.c if c.name != "partial"])
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        if schedule_id is not None:
            query = query.where(runs.c.schedule_id == schedule_id)
        if source_path is not None:
            query = query.where(runs.c.source_path == source_path)
        if states is not None:
            query = query.where(runs.c.state.in_(list(states)))
        if before is not None:
            created, run_id = before
            query = query.where(
                sa.or_(
                    runs.c.created_at < created,
                    sa.and_(runs.c.created_at == created, runs.c.id < run_id),
                )
            )
        query = query.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
        with self._begin() as conn:
            return [_row(row) for row in conn.execute(query)]

    def last_runs(self, schedule_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest run of each of ``schedule_ids`` that has one, in one query."""
        if not schedule_ids:
            return {}
        newest = (
            sa.select(runs.c.schedule_id, sa.func.max(runs.c.created_at).label("created_at"))
            .where(runs.c.schedule_id.in_(list(schedule_ids)))
            .group_by(runs.c.schedule_id)
            .subquery()
        )
        columns = [c for c in runs.c if c.name != "partial"]
        query = (
            sa.select(*columns)
            .join(
                newest,
                sa.and_(
                    runs.c.schedule_id == newest.c.schedule_id,
                    runs.c.created_at == newest.c.created_at,
                ),
            )
            .order_by(runs.c.id)
        )
        with self._begin() as conn:
            return {row.schedule_id: _row(row) for row in conn.execute(query)}

    def count_runs(self, **filters: Any) -> int:
        """How many runs match (``schedule_id``, ``state``)."""
        query = sa.select(sa.func.count()).select_from(runs)
        for name, value in filters.items():
            query = query.where(runs.c[name] == value)
        with self._begin() as conn:
            return int(conn.execute(query).scalar_one())

    def has_due_runs(
        self, now: float, owner: str | None = None, ids: set[str] | None = None
    ) -> bool:
        """Whether a queued run (of ``owner``, among ``ids``) is due and unclaimed."""
        query = sa.select(runs.c.id).where(
            runs.c.state == RunState.QUEUED.value,
            runs.c.lease_owner.is_(None),
            runs.c.not_before <= now,
        )
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        if ids is not None:
            query = query.where(runs.c.id.in_(sorted(ids)))
        with self._begin() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def claim_runs(
        self,
        server_id: str,
        *,
        now: float,
        lease: float,
        limit: int,
        owner: str | None = None,
        ids: set[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Take up to ``limit`` due queued runs (of ``owner``, among ``ids``, when given) for
        ``server_id``: each becomes RUNNING with a lease, by a conditional update only
        one server can win.  A run of a schedule with ``overlap=queue`` waits while
        another run of it is running."""
        if limit <= 0:
            return []
        query = (
            sa.select(runs.c.id, runs.c.schedule_id, runs.c.overlap)
            .where(
                runs.c.state == RunState.QUEUED.value,
                runs.c.lease_owner.is_(None),
                runs.c.not_before <= now,
            )
            .order_by(runs.c.not_before, runs.c.created_at, runs.c.id)
            .limit(limit * 4)
        )
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        if ids is not None:
            query = query.where(runs.c.id.in_(sorted(ids)))
        with self._begin() as conn:
            candidates = conn.execute(query).all()
        claimed: list[dict[str, Any]] = []
        busy_schedules: set[str] = set()
        for run_id, schedule_id, overlap in candidates:
            if len(claimed) >= limit:
                break
            if overlap == "queue" and schedule_id is not None:
                if schedule_id in busy_schedules:
                    continue
                if not self._claim_serialized(
                    run_id, schedule_id, server_id=server_id, now=now, lease=lease
                ):
                    busy_schedules.add(schedule_id)
                    continue
                busy_schedules.add(schedule_id)
            elif not self._claim_one(run_id, server_id, now=now, lease=lease):
                continue
            run = self.get_run(run_id)
            if run is not None:
                claimed.append(run)
        return claimed

    def _claim_update(self, run_id: str, server_id: str, now: float, lease: float) -> Any:
        return (
            runs.update()
            .where(
                runs.c.id == run_id,
                runs.c.state == RunState.QUEUED.value,
                runs.c.lease_owner.is_(None),
            )
            .values(
                state=RunState.RUNNING.value,
                lease_owner=server_id,
                lease_until=now + lease,
                started_at=now,
                updated_at=now,
            )
        )

    def _claim_one(self, run_id: str, server_id: str, *, now: float, lease: float) -> bool:
        with self._begin() as conn:
            result = conn.execute(self._claim_update(run_id, server_id, now, lease))
            return result.rowcount == 1

    def _claim_serialized(
        self, run_id: str, schedule_id: str, *, server_id: str, now: float, lease: float
    ) -> bool:
        """Claim a run of an ``overlap=queue`` schedule only while none of its runs
        runs; the schedule's row is locked first, so two servers decide one at a time."""
        with self._begin() as conn:
            conn.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id)
                .values(revision=schedules.c.revision)
            )
            running = conn.execute(
                sa.select(sa.func.count())
                .select_from(runs)
                .where(
                    runs.c.schedule_id == schedule_id,
                    runs.c.state == RunState.RUNNING.value,
                )
            ).scalar_one()
            if running:
                return False
            result = conn.execute(self._claim_update(run_id, server_id, now, lease))
            return result.rowcount == 1

    def renew(self, server_id: str, run_ids: Sequence[str], until: float) -> set[str]:
        """Extend ``server_id``'s leases on ``run_ids``; the ids it still holds."""
        if not run_ids:
            return set()
        with self._begin() as conn:
            conn.execute(
                runs.update()
                .where(
                    runs.c.id.in_(list(run_ids)),
                    runs.c.lease_owner == server_id,
                    runs.c.state.in_([s.value for s in ACTIVE]),
                )
                .values(lease_until=until)
            )
            held = conn.execute(
                sa.select(runs.c.id).where(
                    runs.c.id.in_(list(run_ids)),
                    runs.c.lease_owner == server_id,
                    runs.c.state.in_([s.value for s in ACTIVE]),
                )
            ).scalars()
            return set(held)

    def expire_leases(self, now: float) -> list[dict[str, Any]]:
        """Mark LOST every active run whose lease ran out (its server died); those runs."""
        with self._begin() as conn:
            ids = list(
                conn.execute(
                    sa.select(runs.c.id).where(
                        runs.c.state.in_([s.value for s in ACTIVE]),
                        runs.c.lease_owner.is_not(None),
                        runs.c.lease_until < now,
                    )
                ).scalars()
            )
        lost = []
        for run_id in ids:
            with self._begin() as conn:
                result = conn.execute(
                    runs.update()
                    .where(
                        runs.c.id == run_id,
                        runs.c.state.in_([s.value for s in ACTIVE]),
                        runs.c.lease_until < now,
                    )
                    .values(
                        state=RunState.LOST.value,
                        finished_at=now,
                        updated_at=now,
                        lease_owner=None,
                        lease_until=None,
                        error={
                            "ename": "Lost",
                            "evalue": "the server running it stopped answering (its lease expired)",
                        },
                    )
                )
            if result.rowcount == 1:
                run = self.get_run(run_id)
                if run is not None:
                    lost.append(run)
        return lost

    def transition(
        self,
        run_id: str,
        new: RunState,
        *,
        expected: Iterable[RunState] = ACTIVE,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Move ``run_id`` to ``new`` (with ``fields``) if it is in one of ``expected``;
        the updated run, or None when another server moved it first."""
        expected = [RunState(state) for state in expected]
        for state in expected:
            check_transition(state, new)
        now = time.time()
        values: dict[str, Any] = {"state": new.value, "updated_at": now, **fields}
        if new in TERMINAL:
            values.setdefault("finished_at", now)
            values.update(lease_owner=None, lease_until=None)
        with self._begin() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.state.in_([s.value for s in expected]))
                .values(**values)
            )
            if result.rowcount != 1:
                return None
        return self.get_run(run_id)

    def update_run(self, run_id: str, server_id: str | None = None, **fields: Any) -> bool:
        """Set ``fields`` of an active run (progress, log, resolved version); when
        ``server_id`` is given only while that server holds its lease."""
        unknown = set(fields) - {c.name for c in runs.c}
        if unknown:
            raise InvalidRequest(f"Unknown run fields: {sorted(unknown)}")
        query = runs.update().where(
            runs.c.id == run_id, runs.c.state.in_([s.value for s in ACTIVE])
        )
        if server_id is not None:
            query = query.where(runs.c.lease_owner == server_id)
        with self._begin() as conn:
            result = conn.execute(query.values(updated_at=time.time(), **fields))
            return result.rowcount == 1

    def request_cancel(self, run_id: str) -> dict[str, Any]:
        """Ask for ``run_id`` to stop: a queued run is CANCELLED at once, a running one is
        flagged (its supervising server stops it).  409 when it has finished."""
        run = self.require_run(run_id)
        state = RunState(run["state"])
        if state in TERMINAL:
            raise Conflict(f"Run {run_id} is {state.value} already; there is nothing to cancel.")
        cancelled = self.transition(
            run_id,
            RunState.CANCELLED,
            expected=[RunState.QUEUED],
            cancel_requested=True,
            error={"ename": "Cancelled", "evalue": "cancelled before it started"},
        )
        if cancelled is not None:
            return cancelled
        self.update_run(run_id, cancel_requested=True)
        return self.require_run(run_id)

    def cancel_requested(self, run_ids: Sequence[str]) -> set[str]:
        """Which of ``run_ids`` somebody asked to cancel."""
        if not run_ids:
            return set()
        with self._begin() as conn:
            return set(
                conn.execute(
                    sa.select(runs.c.id).where(
                        runs.c.id.in_(list(run_ids)), runs.c.cancel_requested.is_(True)
                    )
                ).scalars()
            )

    def active_runs_of(self, schedule_id: str) -> list[dict[str, Any]]:
        """The queued and running runs of a schedule, oldest first."""
        with self._begin() as conn:
            rows = conn.execute(
                runs.select()
                .where(
                    runs.c.schedule_id == schedule_id,
                    runs.c.state.in_([s.value for s in ACTIVE]),
                )
                .order_by(runs.c.created_at)
            )
            return [_row(row) for row in rows]

    def versions_in_use(self) -> set[tuple[str, str]]:
        """``(key, version id)`` of every stored version a run or schedule names: what
        each run ran and wrote, and the version a schedule pins (retention keeps them)."""
        found: set[tuple[str, str]] = set()
        with self._begin() as conn:
            for key, version in conn.execute(
                sa.select(runs.c.source_key, runs.c.version_id).where(
                    runs.c.version_id.is_not(None)
                )
            ):
                found.add((key, version))
            for key, version in conn.execute(
                sa.select(runs.c.output_key, runs.c.output_version_id).where(
                    runs.c.output_version_id.is_not(None)
                )
            ):
                found.add((key, version))
            for key, version in conn.execute(
                sa.select(schedules.c.source_key, schedules.c.version_id).where(
                    schedules.c.version_id.is_not(None)
                )
            ):
                found.add((key, version))
        return found

    # -- schedules ----------------------------------------------------------------------

    def create_schedule(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a schedule (an id is made when ``row`` has none)."""
        now = time.time()
        values = {
            "created_at": now,
            "updated_at": now,
            "timing_since": now,
            "revision": 1,
            "paused": False,
            **row,
        }
        values.setdefault("id", new_id())
        with self._begin() as conn:
            conn.execute(schedules.insert().values(**values))
        return self.require_schedule(values["id"])

    def get_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        """One schedule, or None."""
        return self._one(schedules, schedule_id)

    def require_schedule(self, schedule_id: str) -> dict[str, Any]:
        """One schedule; 404 when there is none."""
        schedule = self._one(schedules, schedule_id)
        if schedule is None:
            raise ObjectNotFound(f"There is no schedule {schedule_id!r}.")
        return schedule

    def list_schedules(
        self, *, owner: str | None = None, include_paused: bool = True
    ) -> list[dict[str, Any]]:
        """Schedules, oldest first."""
        query = schedules.select().order_by(schedules.c.created_at, schedules.c.id)
        if owner is not None:
            query = query.where(schedules.c.owner == owner)
        if not include_paused:
            query = query.where(schedules.c.paused.is_(False))
        with self._begin() as conn:
            return [_row(row) for row in conn.execute(query)]

    def update_schedule(
        self,
        schedule_id: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> dict[str, Any]:
        """Apply ``changes`` and bump the revision; 409 when ``expected_revision`` is
        given and somebody changed the schedule since."""
        current = self.require_schedule(schedule_id)
        revision = current["revision"] if expected_revision is None else expected_revision
        values = {**changes, "revision": revision + 1, "updated_at": time.time()}
        with self._begin() as conn:
            result = conn.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id, schedules.c.revision == revision)
                .values(**values)
            )
            if result.rowcount != 1:
                raise Conflict(
                    f"Schedule {schedule_id} was changed by somebody else (revision "
                    f"{revision} is not the latest); reload it and try again."
                )
        return self.require_schedule(schedule_id)

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule (its runs stay, as history); 404 when there is none."""
        with self._begin() as conn:
            result = conn.execute(schedules.delete().where(schedules.c.id == schedule_id))
            if result.rowcount != 1:
                raise ObjectNotFound(f"There is no schedule {schedule_id!r}.")

    # -- ticks --------------------------------------------------------------------------

    def claim_tick(
        self, schedule_id: str, fire_time: float, server_id: str, run: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Record tick ``fire_time`` of a schedule as fired by ``server_id`` together with
        its run (queued, or SKIPPED with a reason), in one transaction; None when another
        server claimed the tick first."""
        values = _new_run_values(run)
        try:
            with self._begin() as conn:
                conn.execute(
                    fires.insert().values(
                        schedule_id=schedule_id,
                        fire_time=fire_time,
                        run_id=values["id"],
                        claimed_by=server_id,
                        claimed_at=time.time(),
                    )
                )
                conn.execute(runs.insert().values(**values))
        except IntegrityError:
            return None
        return self.get_run(values["id"])

    def last_fire(self, schedule_id: str) -> float | None:
        """The newest tick of a schedule that any server fired (run or skipped)."""
        with self._begin() as conn:
            value = conn.execute(
                sa.select(sa.func.max(fires.c.fire_time)).where(fires.c.schedule_id == schedule_id)
            ).scalar_one()
        return float(value) if value is not None else None

    def fires_of(self, schedule_id: str) -> list[dict[str, Any]]:
        """The fired ticks of a schedule (``fire_time``, ``run_id``, ``claimed_by``,
        ``claimed_at``), oldest first."""
        with self._begin() as conn:
            rows = conn.execute(
                fires.select().where(fires.c.schedule_id == schedule_id).order_by(fires.c.fire_time)
            )
            return [_row(row) for row in rows]

    def count_fires(self, schedule_id: str) -> int:
        """How many ticks of a schedule were fired."""
        with self._begin() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(fires)
                    .where(fires.c.schedule_id == schedule_id)
                ).scalar_one()
            )

    # -- notifications ------------------------------------------------------------------

    def enqueue_notifications(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add ``(run_id, event, target)`` rows to send; rows already there are kept as
        they are (each is sent once).  How many were new."""
        now = time.time()
        added = 0
        for row in rows:
            try:
                with self._begin() as conn:
                    conn.execute(
                        notifications.insert().values(
                            state="pending",
                            attempts=0,
                            next_attempt=now,
                            created_at=now,
                            **row,
                        )
                    )
                added += 1
            except IntegrityError:
                continue
        return added

    def claim_notifications(
        self, server_id: str, *, now: float, lease: float, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Take due pending notifications for ``server_id`` (a lease each)."""
        with self._begin() as conn:
            candidates = conn.execute(
                sa.select(notifications.c.run_id, notifications.c.event, notifications.c.target)
                .where(
                    notifications.c.state == "pending",
                    notifications.c.next_attempt <= now,
                    sa.or_(
                        notifications.c.lease_until.is_(None),
                        notifications.c.lease_until < now,
                    ),
                )
                .order_by(notifications.c.next_attempt)
                .limit(limit)
            ).all()
        claimed = []
        for run_id, event, target in candidates:
            key = (
                notifications.c.run_id == run_id,
                notifications.c.event == event,
                notifications.c.target == target,
            )
            with self._begin() as conn:
                result = conn.execute(
                    notifications.update()
                    .where(
                        *key,
                        notifications.c.state == "pending",
                        sa.or_(
                            notifications.c.lease_until.is_(None),
                            notifications.c.lease_until < now,
                        ),
                    )
                    .values(lease_owner=server_id, lease_until=now + lease)
                )
                if result.rowcount == 1:
                    row = conn.execute(notifications.select().where(*key)).first()
                    if row is not None:
                        claimed.append(_row(row))
        return claimed

    def finish_notification(
        self,
        row: Mapping[str, Any],
        *,
        sent: bool,
        error: str | None = None,
        retry_at: float | None = None,
        max_attempts: int = 8,
    ) -> None:
        """Record one delivery attempt: sent, or failed (retried at ``retry_at`` until
        ``max_attempts``)."""
        now = time.time()
        attempts = int(row["attempts"]) + 1
        if sent:
            values: dict[str, Any] = {"state": "sent", "sent_at": now}
        elif attempts >= max_attempts or retry_at is None:
            values = {"state": "failed"}
        else:
            values = {"state": "pending", "next_attempt": retry_at}
        with self._begin() as conn:
            conn.execute(
                notifications.update()
                .where(
                    notifications.c.run_id == row["run_id"],
                    notifications.c.event == row["event"],
                    notifications.c.target == row["target"],
                )
                .values(
                    attempts=attempts,
                    last_error=error,
                    lease_owner=None,
                    lease_until=None,
                    **values,
                )
            )

    def notifications_of(self, run_id: str) -> list[dict[str, Any]]:
        """The notifications of a run."""
        with self._begin() as conn:
            rows = conn.execute(
                notifications.select()
                .where(notifications.c.run_id == run_id)
                .order_by(notifications.c.created_at)
            )
            return [_row(row) for row in rows]


def _make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate transactions."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    database = parsed.database or ""
    if database and database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, begin transactions (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine

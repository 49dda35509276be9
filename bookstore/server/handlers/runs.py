"""``/api/bookstore/runs`` and ``/api/bookstore/schedules``: run stored notebook versions
now or on a schedule (:class:`~bookstore.core.runs.service.RunService` does the work).

Running a notebook executes code, so submitting a run, creating, changing or firing a
schedule also needs Jupyter's ``execute`` on ``kernels``; reading a workspace notebook
to run it needs ``read`` on ``contents``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.runs.service import RunService
from ...errors import InvalidRequest
from ...tokens import parse_limit
from .base import BookstoreAPIHandler

__all__ = [
    "RunCancelHandler",
    "RunHandler",
    "RunLogHandler",
    "RunNotebookHandler",
    "RunParametersHandler",
    "RunsHandler",
    "ScheduleActionHandler",
    "ScheduleHandler",
    "SchedulePreviewHandler",
    "SchedulesHandler",
]


class _RunsBase(BookstoreAPIHandler):
    """The run service (403 when runs are off here)."""

    async def run_service(self) -> RunService:
        """The started run service (403 when runs are off here)."""
        return await self.services.run_service()

    async def require_execute(self, body: Any) -> None:
        """``execute`` on ``kernels`` (runs execute code), and ``read`` on ``contents``
        when the notebook is a workspace one."""
        await self.require("execute", "kernels", "running a notebook")
        if isinstance(body, dict) and body.get("path") is not None:
            await self.require("read", "contents", "running a workspace notebook")

    def everybody(self) -> bool:
        return self.query_flag("all", default=False)


class RunsHandler(_RunsBase):
    """``GET /api/bookstore/runs`` (a page, newest first) and ``POST`` (run now)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"runs", "next_token"}`` filtered by ``path``, ``schedule_id``, ``state``."""
        states = [
            state
            for value in self.get_query_arguments("state")
            for state in value.split(",")
            if state
        ]
        page = await (await self.run_service()).list_runs(
            self.actor,
            path=self.get_query_argument("path", None) or None,
            schedule_id=self.get_query_argument("schedule_id", None) or None,
            states=states or None,
            limit=parse_limit(self.get_query_argument("limit", None), 50),
            page_token=self.get_query_argument("page_token", None) or None,
            everybody=self.everybody(),
        )
        self.finish_json({"runs": page.runs, "next_token": page.next_token})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Queue a run; 202 with the run (200 with the first run for a repeated
        ``Idempotency-Key``)."""
        body = await self.json_body()
        await self.require_execute(body)
        key = self.request.headers.get("Idempotency-Key")
        run, created = await (await self.run_service()).submit(
            self.actor, body, idempotency_key=key
        )
        self.set_header("Location", f"{self.base_url}api/bookstore/runs/{run['id']}")
        self.finish_json(run, status=202 if created else 200)


class RunParametersHandler(_RunsBase):
    """``GET /api/bookstore/runs/parameters?path=|published_path=&version_id=``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The parameters the notebook declares (its ``parameters`` cell)."""
        query = {
            name: self.get_query_argument(name, None)
            for name in ("path", "published_path", "version_id")
        }
        if query["path"] is not None:
            await self.require("read", "contents", "reading a workspace notebook's parameters")
        self.finish_json(await (await self.run_service()).parameters(self.actor, query))


class RunHandler(_RunsBase):
    """``GET /api/bookstore/runs/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """The run: state, progress, source, output, provenance, error."""
        self.finish_json(await (await self.run_service()).get_run(self.actor, run_id))


class RunCancelHandler(_RunsBase):
    """``POST /api/bookstore/runs/{id}/cancel``."""

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        """Cancel the run (202: a running run stops within about a second)."""
        self.finish_json(await (await self.run_service()).cancel(self.actor, run_id), status=202)


class RunLogHandler(_RunsBase):
    """``GET /api/bookstore/runs/{id}/log?offset=``."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """The kernel's stdout/stderr from ``offset`` (characters) on."""
        raw = self.get_query_argument("offset", "0")
        try:
            offset = int(raw)
        except ValueError:
            raise InvalidRequest("offset: expected a whole number of characters.") from None
        self.finish_json(await (await self.run_service()).run_log(self.actor, run_id, offset))


class RunNotebookHandler(_RunsBase):
    """``GET /api/bookstore/runs/{id}/notebook``."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """The output notebook (partial while the run runs)."""
        body = await (await self.run_service()).run_notebook(self.actor, run_id)
        self.finish(body, set_content_type="application/x-ipynb+json")


class SchedulesHandler(_RunsBase):
    """``GET /api/bookstore/schedules`` and ``POST`` (create)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"schedules"}``, each with its next fire times and last run."""
        schedules = await (await self.run_service()).list_schedules(
            self.actor, everybody=self.everybody()
        )
        self.finish_json({"schedules": schedules})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Create a schedule; 201 with it."""
        body = await self.json_body()
        await self.require_execute(body)
        schedule = await (await self.run_service()).create_schedule(self.actor, body)
        self.set_header("Location", f"{self.base_url}api/bookstore/schedules/{schedule['id']}")
        self.finish_json(schedule, status=201)


class SchedulePreviewHandler(_RunsBase):
    """``GET /api/bookstore/schedules/preview?cron=&timezone=&count=``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The next fire times of a cron expression, in UTC and local time."""
        raw_count = self.get_query_argument("count", "5")
        try:
            count = int(raw_count)
        except ValueError:
            raise InvalidRequest("count: expected a whole number from 1 to 50.") from None
        times = (await self.run_service()).preview(
            self.get_query_argument("cron", ""), self.get_query_argument("timezone", "UTC"), count
        )
        self.finish_json({"next_fire_times": times})


class ScheduleHandler(_RunsBase):
    """``GET``, ``PATCH``, ``DELETE`` ``/api/bookstore/schedules/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        """The schedule."""
        self.finish_json(await (await self.run_service()).get_schedule(self.actor, schedule_id))

    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        """Change fields of the schedule (each takes effect, or 400/409)."""
        body = await self.json_body()
        await self.require("execute", "kernels", "changing what a schedule runs")
        self.finish_json(
            await (await self.run_service()).update_schedule(self.actor, schedule_id, body)
        )

    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        """Delete the schedule (its runs stay)."""
        await (await self.run_service()).delete_schedule(self.actor, schedule_id)
        self.set_status(204)
        self.finish()


class ScheduleActionHandler(_RunsBase):
    """``POST /api/bookstore/schedules/{id}/(pause|resume|run)``."""

    @web.authenticated
    @authorized
    async def post(self, schedule_id: str, action: str) -> None:
        """Pause, resume, or run now (202 with the run)."""
        if action == "run":
            await self.require("execute", "kernels", "running a notebook")
            self.finish_json(
                await (await self.run_service()).run_schedule_now(self.actor, schedule_id),
                status=202,
            )
            return
        paused = action == "pause"
        self.finish_json(
            await (await self.run_service()).set_paused(self.actor, schedule_id, paused)
        )

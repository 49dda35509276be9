"""Runs: stored notebook versions executed with parameters, now or on a schedule.

* :mod:`.states`: the states of a run and the moves between them;
* :mod:`.timing`: cron expressions, presets, time zones and which ticks are due;
* :mod:`.parameters`: the parameters a notebook declares and the values a run passes;
* :mod:`.db`: runs, schedules, fires and notifications in one SQL database (SQLite or
  PostgreSQL) shared by every server;
* :mod:`.scheduler`: one tick, claimed in the database so each fires once;
* :mod:`.execute`: papermill in a worker, with progress, logs, timeouts and cancel;
* :mod:`.engine`: the Dask cluster runs go to;
* :mod:`.runner`: dispatch, supervision, retries and the reconciler;
* :mod:`.notify`: webhook and email notifications;
* :mod:`.service`: :class:`RunService`, what the server, the CLI and the standalone
  scheduler call.

The engine's dependencies come with the ``bookstore[runs]`` extra; only the modules that
need them import them.
"""

/**
 * The Runs panel (left sidebar): the runs of the active notebook, or all of the user's,
 * with live state and progress, and a Schedules tab. It polls the server while it is shown
 * (every second while a run it shows is queued or running, every few seconds otherwise);
 * what its buttons do lives in `runactions.ts`.
 */
import { Poll } from '@lumino/polling';
import React from 'react';

import type { BookstoreAPI, Run, RunState, ScheduleWithLastRun } from './api';
import { baseName, formatDuration, LIVE_TIME_ATTRIBUTE, relativeTime, shortId } from './format';
import { runsIcon } from './icons';
import { errorMessage } from './notify';
import { LiveTime, PanelHeader, ReloadingPanel, setUpPanel } from './panels';

/** What the panel's buttons do (implemented in `runactions.ts`). */
export interface IRunActions {
  /** Open the Run / Schedule dialog for the active notebook. */
  newRun(mode: 'now' | 'schedule'): Promise<void>;
  openOutput(run: Run): Promise<void>;
  diffOutputs(previous: Run, run: Run): Promise<void>;
  openLog(run: Run): Promise<void>;
  cancel(run: Run): Promise<void>;
  rerun(run: Run): Promise<void>;
  cloneOutput(run: Run): Promise<void>;
  runScheduleNow(schedule: ScheduleWithLastRun): Promise<void>;
  setPaused(schedule: ScheduleWithLastRun, paused: boolean): Promise<void>;
  editSchedule(schedule: ScheduleWithLastRun): Promise<void>;
  deleteSchedule(schedule: ScheduleWithLastRun): Promise<boolean>;
}

/** The states a run may still leave. */
export const ACTIVE_STATES: ReadonlySet<RunState> = new Set(['QUEUED', 'RUNNING']);

/** How each state reads: its words, its glyph (colour comes from the CSS class). */
const STATE_LOOK: Record<RunState, { text: string; glyph: string }> = {
  QUEUED: { text: 'Queued', glyph: '◷' },
  RUNNING: { text: 'Running', glyph: '▶' },
  COMPLETED: { text: 'Completed', glyph: '✔' },
  FAILED: { text: 'Failed', glyph: '✖' },
  TIMED_OUT: { text: 'Timed out', glyph: '⌛' },
  CANCELLED: { text: 'Cancelled', glyph: '■' },
  LOST: { text: 'Lost', glyph: '?' },
  SKIPPED: { text: 'Skipped', glyph: '↷' }
};

/** Poll intervals, ms: while a shown run is active, and otherwise. */
const ACTIVE_INTERVAL_MS = 1_000;
const IDLE_INTERVAL_MS = 3_000;
/** Runs per "Show more". */
const PAGE_SIZE = 50;

/** Which runs the panel shows. */
export interface IRunsScope {
  /** The active notebook's path (null: none is active). */
  notebook: string | null;
  /** Show every run of the user's, not only the active notebook's. */
  all: boolean;
  /** Only this schedule's runs (from the Schedules tab's "Runs"). */
  schedule: ScheduleWithLastRun | null;
}

/** The panel's data: fetched by a poll while the panel is shown. */
export class RunsModel {
  constructor(
    private readonly api: BookstoreAPI,
    private readonly changed: () => void
  ) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.fetch(),
      frequency: { interval: IDLE_INTERVAL_MS, backoff: true, max: 30_000 },
      name: 'bookstore:runs',
      // Nothing to fetch for a hidden panel or a hidden browser tab.
      standby: () => !this.visible || 'when-hidden'
    });
  }

  tab: 'runs' | 'schedules' = 'runs';
  scope: IRunsScope = { notebook: null, all: false, schedule: null };
  runs: Run[] = [];
  schedules: ScheduleWithLastRun[] = [];
  hasMore = false;
  /** Whether the first answer for the current scope and tab came. */
  loaded = false;
  error: string | null = null;
  /** Whether the panel is shown (the poll stands by otherwise). */
  visible = false;

  /** The path whose runs are listed (null: all of them). */
  get path(): string | null {
    return this.scope.all || this.scope.schedule ? null : this.scope.notebook;
  }

  setScope(scope: Partial<IRunsScope>): void {
    this.scope = { ...this.scope, ...scope };
    this.limit = PAGE_SIZE;
    this.reset();
  }

  setTab(tab: 'runs' | 'schedules'): void {
    if (tab !== this.tab) {
      this.tab = tab;
      this.reset();
    }
  }

  showMore(): void {
    this.limit = Math.min(this.limit + PAGE_SIZE, 1000);
    this.refresh();
  }

  /** Fetch now (and go on polling if shown). */
  refresh(): void {
    if (this.poll.state.phase === 'constructed') {
      void this.poll.start();
    } else {
      void this.poll.refresh();
    }
  }

  /** A schedule's name, if the panel knows it. */
  scheduleName(id: string | null): string | null {
    return (id && this.scheduleNames.get(id)) || null;
  }

  /** The newest run older than `run` that stored its output at the same path. */
  previousWithOutput(run: Run): Run | null {
    const index = this.runs.indexOf(run);
    for (const other of this.runs.slice(index + 1)) {
      if (other.output.path === run.output.path && other.output.version_id) {
        return other;
      }
    }
    return null;
  }

  dispose(): void {
    this.poll.dispose();
  }

  private reset(): void {
    this.loaded = false;
    this.error = null;
    this.generation += 1;
    this.changed();
    this.refresh();
  }

  private async fetch(): Promise<void> {
    const generation = this.generation;
    try {
      if (this.tab === 'schedules') {
        const reply = await this.api.schedules();
        if (generation !== this.generation) {
          return;
        }
        this.schedules = reply.schedules;
        this.rememberNames(reply.schedules);
        this.setActive(reply.schedules.some(s => s.last_run && ACTIVE_STATES.has(s.last_run.state)));
      } else {
        const page = await this.api.runs({
          path: this.path ?? undefined,
          schedule_id: this.scope.schedule?.id,
          limit: this.limit
        });
        if (generation !== this.generation) {
          return;
        }
        this.runs = page.runs;
        this.hasMore = page.next_token !== null;
        this.setActive(page.runs.some(run => ACTIVE_STATES.has(run.state)));
        if (page.runs.some(run => run.schedule_id && !this.scheduleNames.has(run.schedule_id))) {
          this.rememberNames((await this.api.schedules()).schedules);
        }
      }
      this.error = null;
    } catch (error) {
      if (generation === this.generation) {
        this.error = errorMessage(error);
      }
      throw error; // the poll backs off
    } finally {
      if (generation === this.generation) {
        this.loaded = true;
        this.changed();
      }
    }
  }

  private rememberNames(schedules: ScheduleWithLastRun[]): void {
    for (const schedule of schedules) {
      this.scheduleNames.set(schedule.id, schedule.name);
    }
  }

  private setActive(active: boolean): void {
    const interval = active ? ACTIVE_INTERVAL_MS : IDLE_INTERVAL_MS;
    this.poll.frequency = { interval, backoff: true, max: 30_000 };
  }

  private readonly poll: Poll;
  private readonly scheduleNames = new Map<string, string>();
  private limit = PAGE_SIZE;
  private generation = 0;
}

/** The Runs panel widget. */
export class RunsPanel extends ReloadingPanel {
  constructor(
    api: BookstoreAPI,
    private readonly actions: IRunActions
  ) {
    super();
    setUpPanel(this, {
      id: 'bookstore-runs',
      className: 'jp-bookstore-Runs',
      icon: runsIcon,
      label: 'Bookstore runs'
    });
    this.model = new RunsModel(api, () => this.update());
  }

  readonly model: RunsModel;

  /** Follow the active notebook (null: none). */
  showNotebook(path: string | null): void {
    if (path !== this.model.scope.notebook) {
      this.model.setScope({ notebook: path });
    }
  }

  refresh(): void {
    super.refresh();
    this.model.refresh();
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    this.model.visible = true;
    super.onAfterShow();
  }

  protected onAfterHide(): void {
    this.model.visible = false;
  }

  protected render(): JSX.Element {
    const model = this.model;
    return (
      <div className="jp-bookstore-panel" aria-busy={!model.loaded}>
        <PanelHeader
          title="Runs"
          refreshLabel="Refresh runs"
          onRefresh={() => this.model.refresh()}
        />
        <div className="jp-bookstore-tabs" role="tablist" aria-label="Runs or schedules">
          {(['runs', 'schedules'] as const).map(tab => (
            <button
              key={tab}
              role="tab"
              id={`jp-bookstore-tab-${tab}`}
              aria-selected={model.tab === tab}
              aria-controls="jp-bookstore-runsTabPanel"
              className="jp-bookstore-tab"
              onClick={() => model.setTab(tab)}
            >
              {tab === 'runs' ? 'Runs' : 'Schedules'}
            </button>
          ))}
        </div>
        <div
          id="jp-bookstore-runsTabPanel"
          role="tabpanel"
          aria-labelledby={`jp-bookstore-tab-${model.tab}`}
        >
          {model.tab === 'runs' ? (
            <RunsTab model={model} actions={this.actions} />
          ) : (
            <SchedulesTab model={model} actions={this.actions} />
          )}
        </div>
      </div>
    );
  }
}

/** Run a button's action with its row busy meanwhile. */
function useBusy(): [boolean, (task: () => Promise<unknown>) => void] {
  const [busy, setBusy] = React.useState(false);
  const run = (task: () => Promise<unknown>) => {
    setBusy(true);
    void task().finally(() => setBusy(false));
  };
  return [busy, run];
}

function RunsTab(props: { model: RunsModel; actions: IRunActions }): JSX.Element {
  const { model, actions } = props;
  const { scope } = model;
  const notebookName = scope.notebook ? baseName(scope.notebook) : null;
  let empty: string;
  if (scope.schedule) {
    empty = `Schedule ${scope.schedule.name} has no runs yet.`;
  } else if (model.path) {
    empty = `No runs of ${notebookName} yet: “Run / Schedule” in its toolbar starts one.`;
  } else {
    empty = 'No runs yet: “Run / Schedule” in a notebook’s toolbar starts one.';
  }
  return (
    <>
      <div className="jp-bookstore-runsScope">
        {scope.schedule ? (
          <span className="jp-bookstore-chip">
            Schedule {scope.schedule.name}
            <button
              className="jp-bookstore-iconButton"
              aria-label={`Stop showing only the runs of schedule ${scope.schedule.name}`}
              title="Show all runs again"
              onClick={() => model.setScope({ schedule: null })}
            >
              ×
            </button>
          </span>
        ) : (
          <label>
            Show{' '}
            <select
              className="jp-mod-styled"
              aria-label="Which runs to show"
              value={model.path ? 'notebook' : 'all'}
              onChange={event => model.setScope({ all: event.target.value === 'all' })}
            >
              <option value="notebook" disabled={!scope.notebook}>
                {notebookName ? `Runs of ${notebookName}` : 'Runs of the active notebook'}
              </option>
              <option value="all">All my runs</option>
            </select>
          </label>
        )}
        {scope.notebook && (
          <button
            className="jp-mod-styled jp-mod-accept"
            onClick={() => void actions.newRun('now')}
            title={`Run or schedule ${notebookName}`}
          >
            Run / Schedule…
          </button>
        )}
      </div>
      {model.error && (
        <div className="jp-bookstore-error" role="alert">
          {model.error}
        </div>
      )}
      {model.loaded && !model.error && model.runs.length === 0 && (
        <div className="jp-bookstore-empty">{empty}</div>
      )}
      <ul className="jp-bookstore-list" aria-label="Runs">
        {model.runs.map(run => (
          <RunRow
            key={run.id}
            run={run}
            model={model}
            actions={actions}
            previous={model.previousWithOutput(run)}
          />
        ))}
      </ul>
      {model.hasMore && (
        <button className="jp-mod-styled jp-bookstore-more" onClick={() => model.showMore()}>
          Show older runs
        </button>
      )}
      {!model.loaded && <div className="jp-bookstore-loading">Loading…</div>}
    </>
  );
}

/** "manual", "schedule morning", "retry 2 of run 0190…". */
function triggerText(run: Run, scheduleName: string | null): string {
  const schedule = scheduleName ?? (run.schedule_id ? shortId(run.schedule_id) : null);
  if (run.trigger === 'retry') {
    return `retry (attempt ${run.attempt})`;
  }
  if (run.trigger === 'schedule') {
    return `schedule ${schedule}`;
  }
  return schedule ? `now, from schedule ${schedule}` : 'run now';
}

/** `region="emea", n=3`: the parameters as given. */
function parametersText(parameters: Record<string, unknown>): string {
  return Object.entries(parameters)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}

/** The time a run's row shows: when it started (or was queued, or its tick). */
function runTime(run: Run): string {
  return run.started_at ?? run.fire_time ?? run.created_at;
}

/** A label naming the run for screen readers and tests: "run of demo.ipynb completed,
 * 12/2/2026, 7:37:00 PM". The exact time only: a relative one would change the labels of
 * every recent row at each poll. */
export function runLabel(run: Run): string {
  const state = STATE_LOOK[run.state].text.toLowerCase();
  return `run of ${baseName(run.source.path)} ${state}, ${relativeTime(runTime(run)).exact}`;
}

function StateBadge(props: { state: RunState }): JSX.Element {
  const look = STATE_LOOK[props.state];
  return (
    <span className={`jp-bookstore-runState jp-mod-${props.state.toLowerCase()}`}>
      <span aria-hidden="true">{look.glyph}</span> {look.text}
    </span>
  );
}

function RunRow(props: {
  run: Run;
  previous: Run | null;
  model: RunsModel;
  actions: IRunActions;
}): JSX.Element {
  const { run, previous, model, actions } = props;
  const [busy, act] = useBusy();
  const label = runLabel(run);
  const active = ACTIVE_STATES.has(run.state);
  const when = relativeTime(runTime(run));
  const duration =
    run.duration_s ??
    (run.state === 'RUNNING' && run.started_at
      ? (Date.now() - Date.parse(run.started_at)) / 1000
      : null);
  const { cells_done, cells_total, current_cell } = run.progress;
  const hasOutput = !!run.output.version_id;
  const parameters = parametersText(run.parameters);
  return (
    <li
      className={`jp-bookstore-run jp-mod-${run.state.toLowerCase()}`}
      data-run-id={run.id}
      data-state={run.state}
      aria-label={label}
    >
      <div className="jp-bookstore-versionLine">
        <StateBadge state={run.state} />
        {!model.path && (
          <span className="jp-bookstore-runNotebook" title={run.source.path}>
            {baseName(run.source.path)}
          </span>
        )}
        <span
          className="jp-bookstore-time"
          title={`${when.exact}\nrun ${run.id}`}
          {...{ [LIVE_TIME_ATTRIBUTE]: runTime(run) }}
        >
          {when.text}
        </span>
        {duration !== null && (
          <span className="jp-bookstore-duration" title="Duration">
            {formatDuration(duration)}
          </span>
        )}
      </div>
      <div className="jp-bookstore-runMeta">
        {triggerText(run, model.scheduleName(run.schedule_id))}
        {run.source.version_id ? ` · version ${shortId(run.source.version_id)}` : ' · latest version'}
        {run.cancel_requested && active && ' · cancelling…'}
      </div>
      {parameters && (
        <div className="jp-bookstore-runParameters" title={parameters}>
          {parameters}
        </div>
      )}
      {run.state === 'RUNNING' && (
        <div className="jp-bookstore-progress">
          <div
            className="jp-bookstore-progressBar"
            role="progressbar"
            aria-label={`Progress of the ${label}`}
            aria-valuemin={0}
            aria-valuemax={cells_total || 1}
            aria-valuenow={cells_done}
            aria-valuetext={`${cells_done} of ${cells_total} cells`}
          >
            <div
              className="jp-bookstore-progressFill"
              style={{ width: `${cells_total ? (100 * cells_done) / cells_total : 0}%` }}
            />
          </div>
          <span className="jp-bookstore-progressText">
            {cells_done} / {cells_total} cells
            {current_cell !== null ? ` · running cell ${current_cell}` : ''}
          </span>
        </div>
      )}
      {run.error && run.state !== 'CANCELLED' && (
        <div
          className="jp-bookstore-runError"
          title={
            run.error.traceback ??
            'Cells are numbered from 0 in the output notebook (papermill’s cells included), as in the log'
          }
        >
          {run.error.cell_index !== null && run.error.cell_index !== undefined
            ? `Cell ${run.error.cell_index}: `
            : ''}
          {run.error.ename}
          {run.error.evalue ? `: ${run.error.evalue}` : ''}
        </div>
      )}
      {run.state === 'SKIPPED' && run.reason && (
        <div className="jp-bookstore-runReason">Not run: {run.reason}</div>
      )}
      {run.state !== 'SKIPPED' && (
        <div className="jp-bookstore-actions" role="group" aria-label={`Actions for the ${label}`}>
          <button
            className="jp-mod-styled"
            disabled={busy || !hasOutput}
            onClick={() => act(() => actions.openOutput(run))}
            aria-label={`Open the output of the ${label}`}
            title={
              hasOutput
                ? 'Open the executed notebook read-only'
                : 'Its output is stored when it ends'
            }
          >
            Output
          </button>
          <button
            className="jp-mod-styled"
            disabled={busy || !hasOutput || !previous}
            onClick={() => previous && act(() => actions.diffOutputs(previous, run))}
            aria-label={`Diff the output of the ${label} against the previous run`}
            title={
              previous
                ? 'What changed since the previous run’s output (outputs included)'
                : 'No earlier run stored its output at the same path'
            }
          >
            Diff
          </button>
          <button
            className="jp-mod-styled"
            disabled={busy || run.state === 'QUEUED'}
            onClick={() => act(() => actions.openLog(run))}
            aria-label={`Open the log of the ${label}`}
            title="What its cells printed"
          >
            Log
          </button>
          {active ? (
            <button
              className="jp-mod-styled jp-mod-warn"
              disabled={busy || run.cancel_requested}
              onClick={() => act(() => actions.cancel(run))}
              aria-label={`Cancel the ${label}`}
              title="Stop it (a running cell is interrupted)"
            >
              Cancel
            </button>
          ) : (
            <button
              className="jp-mod-styled"
              disabled={busy}
              onClick={() => act(() => actions.rerun(run))}
              aria-label={`Run again like the ${label}`}
              title="Run again with the same or edited parameters"
            >
              Re-run
            </button>
          )}
          <button
            className="jp-mod-styled"
            disabled={busy || !hasOutput}
            onClick={() => act(() => actions.cloneOutput(run))}
            aria-label={`Clone the output of the ${label} into the workspace`}
            title="Copy the executed notebook into your workspace"
          >
            Clone
          </button>
        </div>
      )}
    </li>
  );
}

/** "every day at 06:00"-like text is the dialog's; the list shows the expression. */
function SchedulesTab(props: { model: RunsModel; actions: IRunActions }): JSX.Element {
  const { model, actions } = props;
  return (
    <>
      {model.error && (
        <div className="jp-bookstore-error" role="alert">
          {model.error}
        </div>
      )}
      {model.loaded && !model.error && model.schedules.length === 0 && (
        <div className="jp-bookstore-empty">
          No schedules yet: “Run / Schedule” in a notebook’s toolbar, then “On a schedule”.
        </div>
      )}
      <ul className="jp-bookstore-list" aria-label="Schedules">
        {model.schedules.map(schedule => (
          <ScheduleRow key={schedule.id} schedule={schedule} model={model} actions={actions} />
        ))}
      </ul>
      {!model.loaded && <div className="jp-bookstore-loading">Loading…</div>}
    </>
  );
}

function ScheduleRow(props: {
  schedule: ScheduleWithLastRun;
  model: RunsModel;
  actions: IRunActions;
}): JSX.Element {
  const { schedule, model, actions } = props;
  const [busy, act] = useBusy();
  const label = `schedule ${schedule.name} of ${baseName(schedule.source.path)}`;
  const next = schedule.next_fire_times[0];
  const nextWhen = next ? relativeTime(next.utc) : null;
  const last = schedule.last_run;
  return (
    <li
      className="jp-bookstore-schedule"
      data-schedule-id={schedule.id}
      data-paused={schedule.paused}
      aria-label={label}
    >
      <div className="jp-bookstore-versionLine">
        <span className="jp-bookstore-scheduleName">{schedule.name}</span>
        <span className="jp-bookstore-runNotebook" title={schedule.source.path}>
          {baseName(schedule.source.path)}
        </span>
        {schedule.paused && <span className="jp-bookstore-badge jp-mod-paused">paused</span>}
      </div>
      <div className="jp-bookstore-runMeta">
        <code>{schedule.cron}</code> ({schedule.timezone})
        {schedule.source.version_policy === 'pinned'
          ? ` · version ${shortId(schedule.source.version_id ?? '')}`
          : ' · latest version'}
      </div>
      <div className="jp-bookstore-runMeta">
        {nextWhen ? (
          <span title={`${next!.local} (${schedule.timezone})\n${next!.utc}`}>
            Next: {nextWhen.exact}
          </span>
        ) : (
          <span>{schedule.paused ? 'Paused: no next run' : 'No next run'}</span>
        )}
      </div>
      <div className="jp-bookstore-runMeta">
        Last run:{' '}
        {last ? (
          <>
            <StateBadge state={last.state} /> <LiveTime iso={runTime(last)} />
          </>
        ) : (
          'none yet'
        )}
      </div>
      <div className="jp-bookstore-actions" role="group" aria-label={`Actions for ${label}`}>
        <button
          className="jp-mod-styled"
          disabled={busy}
          onClick={() => {
            model.setTab('runs');
            model.setScope({ schedule });
          }}
          aria-label={`Show the runs of ${label}`}
        >
          Runs
        </button>
        <button
          className="jp-mod-styled"
          disabled={busy}
          onClick={() => act(() => actions.runScheduleNow(schedule))}
          aria-label={`Run ${label} now`}
          title="Run it now with its settings (its timing is unchanged)"
        >
          Run now
        </button>
        <button
          className="jp-mod-styled"
          disabled={busy}
          onClick={() => act(() => actions.setPaused(schedule, !schedule.paused))}
          aria-label={`${schedule.paused ? 'Resume' : 'Pause'} ${label}`}
        >
          {schedule.paused ? 'Resume' : 'Pause'}
        </button>
        <button
          className="jp-mod-styled"
          disabled={busy}
          onClick={() => act(() => actions.editSchedule(schedule))}
          aria-label={`Edit ${label}`}
        >
          Edit
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          disabled={busy}
          onClick={() => act(() => actions.deleteSchedule(schedule))}
          aria-label={`Delete ${label}`}
          title="Delete the schedule (its runs and outputs stay)"
        >
          Delete
        </button>
      </div>
    </li>
  );
}

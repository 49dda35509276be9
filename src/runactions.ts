/**
 * What the Runs panel's buttons and the Run / Schedule command do: open the dialog, open a
 * run's output or log, diff two runs' outputs, cancel, re-run, clone the output, and manage
 * schedules. Runs started from this browser are watched: when one ends, a notification says
 * so, with a button to open its output. Every failure is a notification with the server's
 * message.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, MainAreaWidget, Notification, showDialog } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import type { BookstoreActions } from './actions';
import type { BookstoreAPI, Run, ScheduleWithLastRun } from './api';
import { cloneStoredVersion } from './clone';
import { baseName, formatDuration, relativeTime } from './format';
import { notifyError, notifySuccess } from './notify';
import { type IRunDialogOptions, openRunDialog } from './rundialog';
import { ACTIVE_STATES, type IRunActions, type RunsPanel } from './runs';

/** Where the ids of the runs this browser watches are kept (a reload keeps watching). */
const WATCHED_KEY = 'bookstore:watched-runs';
/** How often watched runs and an open log are read while they run, ms. */
const WATCH_INTERVAL_MS = 1_000;

/** "demo.ipynb run of 3 minutes ago". */
function runName(run: Run): string {
  const when = relativeTime(run.started_at ?? run.created_at).text;
  return `${baseName(run.source.path)} run of ${when}`;
}

/** The Runs panel's actions, the dialog's launcher and the watcher of this browser's runs. */
export class RunActions implements IRunActions {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly api: BookstoreAPI,
    private readonly docManager: IDocumentManager,
    private readonly views: BookstoreActions,
    private readonly currentNotebook: () => NotebookPanel | null
  ) {
    this.watcher = new RunWatcher(api, {
      ended: run => this.announce(run),
      changed: () => this.panel?.model.refresh()
    });
  }

  /** The Runs panel, once it exists. */
  panel: RunsPanel | null = null;
  readonly watcher: RunWatcher;

  async newRun(mode: 'now' | 'schedule'): Promise<void> {
    const panel = this.currentNotebook();
    if (!panel) {
      return;
    }
    await this.dialog({ mode, panel, source: { area: 'workspace' as const, path: panel.context.path } });
  }

  async openOutput(run: Run): Promise<void> {
    if (run.output.version_id) {
      await this.views.openVersion('workspace', run.output.path, run.output.version_id);
    }
  }

  async diffOutputs(previous: Run, run: Run): Promise<void> {
    if (!previous.output.version_id || !run.output.version_id) {
      return;
    }
    // Run outputs differ in the metadata papermill writes (times, durations): hidden.
    await this.views.openDiff('workspace', run.output.path, previous.output.version_id, run.output.version_id, {
      names: {
        [previous.output.version_id]: `run of ${runClock(previous.created_at)}`,
        [run.output.version_id]: `run of ${runClock(run.created_at)}`
      },
      options: { hide: ['papermill'] }
    });
  }

  async openLog(run: Run): Promise<void> {
    const id = `bookstore-run-log-${run.id}`;
    if (this.views.activateInMain(id)) {
      return;
    }
    const view = new MainAreaWidget({ content: new RunLogView(this.api, run) });
    view.id = id;
    view.title.label = `Log: ${runName(run)}`;
    view.title.caption = `What the cells of run ${run.id} (${run.source.path}) printed`;
    view.title.closable = true;
    this.views.addToMain(view);
  }

  async cancel(run: Run): Promise<void> {
    try {
      await this.api.cancelRun(run.id);
    } catch (error) {
      notifyError('Cancelling the run', error);
    }
    this.panel?.model.refresh();
  }

  async rerun(run: Run): Promise<void> {
    const source = { area: run.source.area, path: run.source.path };
    const open = this.currentNotebook();
    const panel = open && open.context.path === source.path ? open : null;
    await this.dialog({ mode: 'now' as const, fromRun: run, source, panel });
  }

  async cloneOutput(run: Run): Promise<void> {
    if (!run.output.version_id) {
      return;
    }
    const stem = baseName(run.source.path).replace(/\.ipynb$/, '');
    const stamp = (run.finished_at ?? run.created_at).slice(0, 16).replace(/[-:]/g, '');
    await cloneStoredVersion(
      this.api,
      this.docManager,
      { path: run.output.path, bucket: '', key: run.output.key },
      {
        id: run.output.version_id,
        text: `Output of the ${runName(run)} (${run.state.toLowerCase()})`
      },
      `${stem}-run-${stamp}.ipynb`
    );
  }

  async runScheduleNow(schedule: ScheduleWithLastRun): Promise<void> {
    try {
      const run = await this.api.runScheduleNow(schedule.id);
      this.watcher.watch(run);
      notifySuccess(`Queued a run of schedule ${schedule.name}.`);
    } catch (error) {
      notifyError(`Running schedule ${schedule.name}`, error);
    }
    this.panel?.model.refresh();
  }

  async setPaused(schedule: ScheduleWithLastRun, paused: boolean): Promise<void> {
    try {
      await this.api.setSchedulePaused(schedule.id, paused);
    } catch (error) {
      notifyError(`${paused ? 'Pausing' : 'Resuming'} schedule ${schedule.name}`, error);
    }
    this.panel?.model.refresh();
  }

  async editSchedule(schedule: ScheduleWithLastRun): Promise<void> {
    const source = { area: schedule.source.area, path: schedule.source.path };
    const open = this.currentNotebook();
    const panel = open && open.context.path === source.path ? open : null;
    await this.dialog({ mode: 'schedule' as const, schedule, source, panel });
  }

  async deleteSchedule(schedule: ScheduleWithLastRun): Promise<boolean> {
    const confirmed = await showDialog({
      title: `Delete schedule ${schedule.name}?`,
      body:
        `It stops running ${schedule.source.path}. Its past runs and their outputs stay ` +
        'in the Runs list and in your workspace history.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!confirmed.button.accept) {
      return false;
    }
    try {
      await this.api.deleteSchedule(schedule.id);
      notifySuccess(`Deleted schedule ${schedule.name}.`);
      return true;
    } catch (error) {
      notifyError(`Deleting schedule ${schedule.name}`, error);
      return false;
    } finally {
      this.panel?.model.refresh();
    }
  }

  /** Open the Run / Schedule dialog; a run it queues is watched and shown in the panel. */
  private async dialog(
    options: Omit<IRunDialogOptions, 'api' | 'kernels'>
  ): Promise<void> {
    let result;
    try {
      result = await openRunDialog({ ...options, api: this.api, kernels: this.kernels(options.panel) });
    } catch (error) {
      notifyError('Opening the run dialog', error);
      return;
    }
    if (!result) {
      return;
    }
    const panel = this.panel;
    if (result.kind === 'run') {
      this.watcher.watch(result.run);
      panel?.model.setTab('runs');
    } else {
      const next = result.schedule.next_fire_times[0];
      const when = next ? ` Next run: ${relativeTime(next.utc).exact}.` : '';
      notifySuccess(`${result.created ? 'Created' : 'Saved'} schedule ${result.schedule.name}.${when}`);
      panel?.model.setTab('schedules');
    }
    if (panel) {
      this.app.shell.activateById(panel.id);
      panel.model.refresh();
    }
  }

  /** The kernels a run may use, and the notebook's own as the default. */
  private kernels(panel?: NotebookPanel | null): IRunDialogOptions['kernels'] {
    const specs = this.app.serviceManager.kernelspecs.specs;
    const own = panel?.sessionContext.kernelPreference.name || panel?.model?.defaultKernelName;
    return {
      default: own || specs?.default || 'python3',
      specs: Object.values(specs?.kernelspecs ?? {})
        .filter(spec => !!spec)
        .map(spec => ({ name: spec!.name, display: spec!.display_name }))
    };
  }

  /** The notification of a watched run that ended. */
  private announce(run: Run): void {
    const took = run.duration_s !== null ? ` in ${formatDuration(run.duration_s)}` : '';
    const actions: Notification.IAction[] = [];
    if (run.output.version_id) {
      actions.push({
        label: 'Open output',
        caption: 'Open the executed notebook read-only',
        callback: () => void this.openOutput(run)
      });
    }
    if (run.state === 'COMPLETED') {
      Notification.success(`Run of ${baseName(run.source.path)} completed${took}.`, {
        autoClose: 10_000,
        actions
      });
      return;
    }
    actions.push({
      label: 'Show log',
      caption: 'What its cells printed',
      callback: () => void this.openLog(run)
    });
    // "failed at cell 4: ValueError: bad input"; the other states' evalue says it all
    // ("cancelled while cell 3 was running", "cell 2 ran longer than …").
    const error = run.error;
    let detail = '';
    if (run.state === 'FAILED' && error) {
      const cell = error.cell_index !== null && error.cell_index !== undefined;
      detail = `${cell ? ` at cell ${error.cell_index}` : ''}: ${error.ename}`;
      detail += error.evalue ? `: ${error.evalue}` : '';
    } else if (error?.evalue) {
      detail = ` (${error.evalue})`;
    }
    const verb = run.state === 'TIMED_OUT' ? 'timed out' : run.state.toLowerCase();
    const message = `Run of ${baseName(run.source.path)} ${verb}${detail}`;
    const notify = run.state === 'CANCELLED' ? Notification.info : Notification.error;
    notify(message.length > 130 ? `${message.slice(0, 129)}…` : message, {
      autoClose: false,
      actions
    });
  }
}

/**
 * The runs started from this browser: read every second until each ends, then
 * `ended(run)`. The ids live in `localStorage`, so a reload keeps watching.
 */
export class RunWatcher {
  constructor(
    private readonly api: BookstoreAPI,
    private readonly callbacks: { ended(run: Run): void; changed(): void }
  ) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.check(),
      frequency: { interval: WATCH_INTERVAL_MS, backoff: true, max: 30_000 },
      name: 'bookstore:watched-runs',
      standby: () => this.ids.size === 0
    });
    for (const id of this.load()) {
      this.ids.add(id);
    }
    if (this.ids.size) {
      void this.poll.start();
    }
  }

  /** Watch `run` until it ends. */
  watch(run: Run): void {
    if (!ACTIVE_STATES.has(run.state)) {
      this.callbacks.ended(run);
      return;
    }
    this.ids.add(run.id);
    this.save();
    if (this.poll.state.phase === 'constructed') {
      void this.poll.start();
    } else {
      void this.poll.refresh();
    }
  }

  private async check(): Promise<void> {
    let changed = false;
    for (const id of Array.from(this.ids)) {
      let run: Run;
      try {
        run = await this.api.run(id);
      } catch (error) {
        // A run that is gone (another user's after a login change, a dropped table).
        if ((error as { status?: number }).status === 404) {
          this.ids.delete(id);
          changed = true;
          continue;
        }
        throw error;
      }
      if (!ACTIVE_STATES.has(run.state)) {
        this.ids.delete(id);
        changed = true;
        this.callbacks.ended(run);
      }
    }
    if (changed) {
      this.save();
      this.callbacks.changed();
    }
  }

  private load(): string[] {
    try {
      const stored = JSON.parse(window.localStorage.getItem(WATCHED_KEY) ?? '[]');
      return Array.isArray(stored) ? stored.filter(id => typeof id === 'string') : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    try {
      window.localStorage.setItem(WATCHED_KEY, JSON.stringify(Array.from(this.ids)));
    } catch {
      // Storage full or off: watching still works until a reload.
    }
  }

  private readonly poll: Poll;
  private readonly ids = new Set<string>();
}

/** A run's log, read again every second while the run runs (only what is new). */
class RunLogView extends Widget {
  constructor(
    private readonly api: BookstoreAPI,
    run: Run
  ) {
    super();
    this.addClass('jp-bookstore-RunLog');
    this._runId = run.id;
    const header = document.createElement('p');
    header.className = 'jp-bookstore-banner';
    header.setAttribute('role', 'note');
    header.textContent = `Log of the ${runName(run)} (${run.source.path}, run ${run.id}).`;
    this._state = document.createElement('p');
    this._state.className = 'jp-bookstore-status';
    this._state.setAttribute('role', 'status');
    this._pre = document.createElement('pre');
    this._pre.className = 'jp-bookstore-logText';
    this._pre.tabIndex = 0;
    this._pre.setAttribute('aria-label', `Log of the ${runName(run)}`);
    this.node.append(header, this._state, this._pre);
    this._poll = new Poll({
      factory: () => this.read(),
      frequency: { interval: WATCH_INTERVAL_MS, backoff: true, max: 30_000 },
      name: 'bookstore:run-log',
      standby: 'when-hidden'
    });
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async read(): Promise<void> {
    const log = await this.api.runLog(this._runId, this._offset);
    if (log.log) {
      this._pre.append(log.log);
    }
    this._offset = log.next_offset;
    const active = ACTIVE_STATES.has(log.state as Run['state']);
    this._state.textContent = active
      ? `${log.state.toLowerCase()}: new lines appear as the cells print them.`
      : `${log.state.toLowerCase()}.${this._offset === 0 ? ' Its cells printed nothing.' : ''}`;
    if (!active) {
      this._poll.dispose();
    }
  }

  private readonly _runId: string;
  private readonly _state: HTMLParagraphElement;
  private readonly _pre: HTMLPreElement;
  private readonly _poll: Poll;
  private _offset = 0;
}

/** "10:02" today, else "1 Dec, 10:02": when a run was made, for a tab label. */
function runClock(iso: string): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return date.toDateString() === new Date().toDateString()
    ? time
    : `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}, ${time}`;
}

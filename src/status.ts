/**
 * The archive state in the status bar: all archived, N pending, N set aside or failing (the
 * reason in the tooltip), polled from `GET /api/bookstore/archive` and shown again after
 * every save.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import type { ArchiveStatus, BookstoreAPI } from './api';
import { relativeTime } from './format';
import { errorMessage } from './notify';

/** How often the state is polled, in ms (JupyterLab slows polls down in hidden tabs). */
const POLL_INTERVAL_MS = 10_000;

/** The text and tooltip for one archive state. */
function describeArchive(status: ArchiveStatus): { text: string; title: string; state: string } {
  if (!status.enabled) {
    return { text: 'Bookstore: archiving off', title: 'Saves are not archived.', state: 'off' };
  }
  const last = status.last_archived_time
    ? ` Last archived ${relativeTime(status.last_archived_time).text}.`
    : '';
  // Saves that can never be archived (kept aside in the spool): said in every tooltip.
  const setAside = status.failed
    ? ` ${status.failed} save(s) set aside: they can never be archived` +
      `${status.last_error ? ` (last error: ${status.last_error})` : ''}.`
    : '';
  if (status.state === 'failing') {
    return {
      text: `Bookstore: archiving failing (${status.pending} pending)`,
      title:
        `Archiving fails and is retried: ${status.last_error ?? 'unknown error'}.` +
        `${setAside}${last}`,
      state: 'failing'
    };
  }
  if (status.pending > 0) {
    return {
      text: `Bookstore: ${status.pending} pending`,
      title: `${status.pending} save(s) waiting to be archived.${setAside}${last}`,
      state: 'pending'
    };
  }
  if (status.failed > 0) {
    return {
      text: `Bookstore: ${status.failed} set aside`,
      title: `${setAside.trim()} Every other save is archived.${last}`,
      state: 'set-aside'
    };
  }
  return {
    text: 'Bookstore: all archived',
    title: `Every save is archived (${status.archived} this session).${last}`,
    state: 'ok'
  };
}

/** The status bar item. */
export class ArchiveStatusItem extends Widget {
  constructor(private readonly api: BookstoreAPI) {
    super();
    this.addClass('jp-bookstore-ArchiveStatus');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
    this.node.textContent = 'Bookstore: …';
    this._poll = new Poll({
      factory: () => this._load(),
      frequency: { interval: POLL_INTERVAL_MS, backoff: true, max: 60_000 },
      name: 'bookstore:archive-status',
      standby: 'when-hidden'
    });
  }

  /** Show `status` (fetched by someone else, e.g. after a save). */
  showStatus(status: ArchiveStatus): void {
    const shown = describeArchive(status);
    this._render(shown.text, shown.title, shown.state);
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async _load(): Promise<void> {
    try {
      this.showStatus(await this.api.archiveStatus());
    } catch (error) {
      this._render('Bookstore: unavailable', errorMessage(error), 'error');
    }
  }

  private _render(text: string, title: string, state: string): void {
    this.node.textContent = text;
    this.node.title = title;
    this.node.dataset.state = state;
    this.toggleClass('jp-bookstore-warning', state === 'set-aside');
  }

  private readonly _poll: Poll;
}

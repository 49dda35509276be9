/**
 * The archive state in the status bar: all archived, N pending, or failing (the reason in
 * the tooltip), polled from `GET /api/bookstore/archive` and refreshed after every save.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import type { ArchiveStatus, BookstoreAPI } from './api';
import { relativeTime } from './format';

/** How often the state is polled, in ms (JupyterLab slows polls down in hidden tabs). */
export const POLL_INTERVAL_MS = 10_000;

/** The text and tooltip for one archive state. */
export function describeArchive(status: ArchiveStatus): { text: string; title: string; state: string } {
  if (!status.enabled) {
    return { text: 'Bookstore: archiving off', title: 'Saves are not archived.', state: 'off' };
  }
  const last = status.last_archived_time
    ? ` Last archived ${relativeTime(status.last_archived_time).text}.`
    : '';
  if (status.state === 'failing') {
    return {
      text: `Bookstore: archiving failing (${status.pending} pending)`,
      title: `Archiving fails and is retried: ${status.last_error ?? 'unknown error'}.${last}`,
      state: 'failing'
    };
  }
  if (status.pending > 0) {
    return {
      text: `Bookstore: ${status.pending} pending`,
      title: `${status.pending} save(s) waiting to be archived.${last}`,
      state: 'pending'
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

  /** Look again now (after a save). */
  refresh(): void {
    void this._poll.refresh();
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async _load(): Promise<void> {
    try {
      const shown = describeArchive(await this.api.archiveStatus());
      this.node.textContent = shown.text;
      this.node.title = shown.title;
      this.node.dataset.state = shown.state;
    } catch (error) {
      this.node.textContent = 'Bookstore: unavailable';
      this.node.title = error instanceof Error ? error.message : String(error);
      this.node.dataset.state = 'error';
    }
  }

  private readonly _poll: Poll;
}

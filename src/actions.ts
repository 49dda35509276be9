/**
 * What the panels' buttons do: open a version or a diff in the main area, restore, clone,
 * copy a link, unpublish. Every failure becomes a notification with the server's message.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { Widget } from '@lumino/widgets';

import type { Area, BookstoreAPI, CatalogItem, VersionItem } from './api';
import type { ICatalogActions } from './catalog';
import { cloneFromCatalog, clonePublishedVersion, type IStoredNotebook } from './clone';
import { baseName, relativeTime } from './format';
import type { HistoryPanel, IHistoryActions } from './history';
import { notifyError, notifySuccess } from './notify';
import { diffView, type IRenderServices, versionView } from './views';

/** The sides of a diff that change over time (any other side is a stored version id). */
const MOVING_SIDES = new Set(['current', 'latest']);

/** The actions of the History panel and the catalog. */
export class BookstoreActions implements IHistoryActions, ICatalogActions {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly api: BookstoreAPI,
    private readonly docManager: IDocumentManager,
    private readonly services: IRenderServices
  ) {}

  /** The History panel, once it exists (the catalog's History button opens it). */
  history: HistoryPanel | null = null;
  /** Called after a publish or unpublish changes what the panels show. */
  onChanged: () => void = () => undefined;

  async openVersion(area: Area, path: string, id: string): Promise<void> {
    // A stored version never changes: a view of it that is open already is shown again.
    const viewId = `bookstore-version-${area}-${path}-${id}`;
    if (this.activateInMain(viewId)) {
      return;
    }
    try {
      const model = await this.api.version(area, path, id);
      this.addToMain(versionView(model, this.services, viewId));
    } catch (error) {
      notifyError('Opening the version', error);
    }
  }

  async openDiff(
    area: Area,
    path: string,
    base: string,
    remote: string,
    title = `Diff ${baseName(path)}`
  ): Promise<void> {
    // The diff of two stored versions never changes: an open one is shown again. A diff
    // against `current` or `latest` is fetched again and replaces the open one.
    const id = `bookstore-diff-${area}-${path}-${base}-${remote}`;
    const immutable = !MOVING_SIDES.has(base) && !MOVING_SIDES.has(remote);
    if (immutable && this.activateInMain(id)) {
      return;
    }
    try {
      const diff = await this.api.diff(area, path, base, remote);
      this.addToMain(diffView(diff, this.services, { id, title }));
    } catch (error) {
      notifyError('Showing the diff', error);
    }
  }

  async restore(path: string, version: VersionItem): Promise<boolean> {
    const open = this.docManager.findWidget(path);
    const context = open ? this.docManager.contextForWidget(open) : undefined;
    const unsaved = context?.model.dirty
      ? ' Your unsaved changes in the open notebook are discarded.'
      : '';
    const when = relativeTime(version.last_modified);
    const confirmed = await showDialog({
      title: 'Restore this version?',
      body:
        `Write the version of ${path} saved ${when.text} (${when.exact}) over the notebook. ` +
        `The restore is saved as a new version, so the current content stays in the history.` +
        unsaved,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Restore' })]
    });
    if (!confirmed.button.accept) {
      return false;
    }
    try {
      const result = await this.api.restore(path, version.id);
      if (context) {
        await context.revert();
      }
      const saved =
        result.archive === 'archived' && result.version_id
          ? `; saved as version ${result.version_id}`
          : result.archive === 'pending'
            ? '; its archiving is pending'
            : '';
      notifySuccess(`Restored ${path} to the version saved ${when.text}${saved}.`);
      return true;
    } catch (error) {
      notifyError('Restoring', error);
      return false;
    }
  }

  async cloneVersion(source: IStoredNotebook, version: VersionItem): Promise<void> {
    await clonePublishedVersion(this.api, this.docManager, source, version);
  }

  async openPublished(item: CatalogItem): Promise<void> {
    await this.openVersion('published', item.path, item.version_id);
  }

  async showPublishedHistory(item: CatalogItem): Promise<void> {
    if (!this.history) {
      return;
    }
    const { path, bucket, key } = item;
    this.history.showTarget({ area: 'published', path, bucket, key });
    this.app.shell.activateById(this.history.id);
  }

  async cloneFromCatalog(item: CatalogItem): Promise<void> {
    await cloneFromCatalog(this.api, this.docManager, item);
  }

  async copyLink(item: CatalogItem): Promise<void> {
    Clipboard.copyToSystem(this.api.absoluteUrl(item.clone_url));
    notifySuccess(`Copied the clone link of ${item.path}.`);
  }

  async unpublish(path: string): Promise<boolean> {
    const confirmed = await showDialog({
      title: 'Unpublish?',
      body: `Remove ${path} from the published notebooks? Its published versions stay in the store.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Unpublish' })]
    });
    if (!confirmed.button.accept) {
      return false;
    }
    try {
      await this.api.unpublish(path);
      notifySuccess(`Unpublished ${path}.`);
      this.onChanged();
      return true;
    } catch (error) {
      notifyError('Unpublishing', error);
      return false;
    }
  }

  /** The main-area widget with this id, if one is open. */
  private findInMain(id: string): Widget | undefined {
    return Array.from(this.app.shell.widgets('main')).find(w => w.id === id);
  }

  /** Show the main-area widget with this id; false when none is open. */
  activateInMain(id: string): boolean {
    if (!this.findInMain(id)) {
      return false;
    }
    this.app.shell.activateById(id);
    return true;
  }

  /** Add `widget` to the main area (in place of an open one with the same id) and show it. */
  addToMain(widget: Widget): void {
    const old = this.findInMain(widget.id);
    if (old) {
      this.app.shell.add(widget, 'main', { ref: old.id, mode: 'tab-after' });
      old.dispose();
    } else {
      this.app.shell.add(widget, 'main', { mode: 'split-right' });
    }
    if (widget.isAttached) {
      this.app.shell.activateById(widget.id);
      return;
    }
    // Notebook 7 keeps one document in its main area: show the view in a large dialog.
    widget.addClass('jp-bookstore-inDialog');
    void showDialog({
      title: widget.title.caption,
      body: widget,
      buttons: [Dialog.okButton({ label: 'Close' })]
    }).finally(() => widget.dispose());
  }
}

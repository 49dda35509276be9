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
import { cloneFromCatalog } from './clone';
import { baseName, relativeTime } from './format';
import type { HistoryPanel, IHistoryActions } from './history';
import { notifyError, notifySuccess } from './notify';
import { diffView, type IRenderServices, versionView } from './views';

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
  /** Called after a publish, unpublish or clone changes what the panels show. */
  onChanged: () => void = () => undefined;

  async openVersion(area: Area, path: string, id: string): Promise<void> {
    try {
      const model = await this.api.version(area, path, id);
      this.addToMain(versionView(model, this.services));
    } catch (error) {
      notifyError('Opening the version', error);
    }
  }

  async openDiff(area: Area, path: string, base: string, remote: string): Promise<void> {
    try {
      const diff = await this.api.diff(area, path, base, remote);
      this.addToMain(diffView(diff, this.services, `Diff ${baseName(path)}`));
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

  async cloneVersion(path: string, version: VersionItem): Promise<void> {
    try {
      const info = await this.api.published(path);
      if (!info) {
        notifyError('Cloning', new Error(`${path} is not published any more.`));
        return;
      }
      const item: CatalogItem = {
        path: info.path,
        key: info.key,
        bucket: info.bucket,
        version_id: info.versionID,
        last_modified: info.last_modified,
        size: info.size,
        clone_url: info.clone_url,
        etag: info.etag
      };
      await this.cloneFromCatalog(item, version.id);
    } catch (error) {
      notifyError('Cloning', error);
    }
  }

  async openPublished(item: CatalogItem): Promise<void> {
    await this.openVersion('published', item.path, item.version_id);
  }

  async showPublishedHistory(item: CatalogItem): Promise<void> {
    if (!this.history) {
      return;
    }
    this.history.showTarget({ area: 'published', path: item.path });
    this.app.shell.activateById(this.history.id);
  }

  async cloneFromCatalog(item: CatalogItem, versionId?: string): Promise<void> {
    await cloneFromCatalog(this.api, this.docManager, item, versionId);
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

  private addToMain(widget: Widget): void {
    const existing = Array.from(this.app.shell.widgets('main')).find(w => w.id === widget.id);
    if (existing) {
      widget.dispose();
      this.app.shell.activateById(existing.id);
      return;
    }
    this.app.shell.add(widget, 'main', { mode: 'split-right' });
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

/**
 * What the panels' buttons do: open a version or a diff in the main area, restore, clone,
 * copy a link, unpublish. Every failure becomes a notification with the server's message.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Dialog, type MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { DockPanel, Widget } from '@lumino/widgets';

import type {
  Area,
  BookstoreAPI,
  CatalogItem,
  Diff,
  DiffOptions,
  VersionAnnotation,
  VersionItem
} from './api';
import type { ICatalogActions } from './catalog';
import { cloneFromCatalog, clonePublishedVersion, type IStoredNotebook } from './clone';
import { baseName, onLiveTimes, relativeTime, shortId, shortRelativeTime } from './format';
import {
  errorLine,
  type ISubmitBody,
  setErrorLine,
  showSubmitDialog,
  statusLine,
  textAreaField,
  textField
} from './forms';
import type { HistoryPanel, IHistoryActions } from './history';
import { errorMessage, notifyError, notifySuccess } from './notify';
import { type DiffPanel, diffView, type IDiffAction, type IRenderServices, versionView } from './views';

/** The sides of a diff that change over time (any other side is a stored version id). */
const MOVING_SIDES = new Set(['current', 'latest']);

/** What a diff compares, for {@link BookstoreActions.showDiff}. */
export interface IDiffRequest {
  area: Area;
  path: string;
  /** A version id, `latest` or `current`. */
  base: string;
  remote: string;
  /** Names for the sides' ids in the tab label (a version's name, "run of 10:02"). */
  names?: Record<string, string>;
  /** The toggles to start with (a view already open keeps its own). */
  options?: DiffOptions;
  /** Buttons in the view's toolbar. */
  actions?: IDiffAction[];
  /** Show it in the one preview tab of this notebook (replacing what it showed) instead
   * of a tab of its own for this pair. */
  preview?: boolean;
  /** Only update the view if it is open, without showing it (after a save). */
  refreshOnly?: boolean;
  /** Move the keyboard focus to the view (default); false keeps it where it is. */
  focus?: boolean;
}

/** What a diff view shows now (its toggles refetch this pair). */
interface IDiffState {
  area: Area;
  path: string;
  base: string;
  remote: string;
  names: Record<string, string>;
  diff: Diff | null;
  request: number;
}

/** The label of one side of a diff in a tab: its name, "current", "latest", or when it was
 * saved ("3 min ago"). */
function sideText(ref: string, side: Diff['base'] | undefined, names: Record<string, string>): string {
  if (ref === 'current' || side?.current) {
    return 'current';
  }
  const id = side?.id ?? ref;
  if (names[id]) {
    return names[id];
  }
  if (ref === 'latest') {
    return 'latest';
  }
  return side?.last_modified ? shortRelativeTime(side.last_modified) : shortId(id);
}

/** "demo.ipynb: 3 min ago ↔ current". */
function diffTitle(state: IDiffState): string {
  const { diff, names } = state;
  return (
    `${baseName(state.path)}: ${sideText(state.base, diff?.base, names)}` +
    ` ↔ ${sideText(state.remote, diff?.remote, names)}`
  );
}

/** The actions of the History panel and the catalog. */
export class BookstoreActions implements IHistoryActions, ICatalogActions {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly api: BookstoreAPI,
    private readonly docManager: IDocumentManager,
    private readonly services: IRenderServices
  ) {
    // Tab labels hold relative times ("3 min ago"): keep them current.
    onLiveTimes(() => {
      for (const [id, state] of this._diffs) {
        const widget = this.findInMain(id);
        if (widget) {
          widget.title.label = diffTitle(state);
        }
      }
    });
  }

  /** The History panel, once it exists (the catalog's History button opens it). */
  history: HistoryPanel | null = null;
  /** Called after a publish or unpublish changes what the panels show. */
  onChanged: () => void = () => undefined;

  /** True where the main area holds many documents (JupyterLab): selecting a version
   * previews it there. Notebook 7 shows a view in a dialog, opened on demand only. */
  get previewsOnSelect(): boolean {
    return this.app.name !== 'Jupyter Notebook';
  }

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

  /** Show the diff of `base` to `remote` in its own tab (the same pair reuses its tab). */
  async openDiff(
    area: Area,
    path: string,
    base: string,
    remote: string,
    extra: Pick<IDiffRequest, 'names' | 'options' | 'actions'> = {}
  ): Promise<void> {
    await this.showDiff({ area, path, base, remote, ...extra });
  }

  /** Show a diff: in the tab of that pair (or the notebook's preview tab), fetched again
   * when a side moves (`current`, `latest`); an open view is updated in place. */
  async showDiff(request: IDiffRequest): Promise<void> {
    const { area, path, base, remote } = request;
    const id = request.preview
      ? `bookstore-preview-${area}-${path}`
      : `bookstore-diff-${area}-${path}-${base}-${remote}`;
    const open = this.findInMain(id) as MainAreaWidget<DiffPanel> | undefined;
    if (request.refreshOnly && !open) {
      return;
    }
    const previous = this._diffs.get(id);
    const immutable = !MOVING_SIDES.has(base) && !MOVING_SIDES.has(remote);
    const same = previous && previous.base === base && previous.remote === remote;
    if (open && same && immutable) {
      if (request.actions) {
        open.content.setActions(request.actions);
      }
      if (!request.refreshOnly) {
        this.reveal(id, request.focus ?? true);
      }
      return;
    }
    const state: IDiffState = {
      area,
      path,
      base,
      remote,
      names: request.names ?? {},
      diff: null,
      request: (previous?.request ?? 0) + 1
    };
    this._diffs.set(id, state);
    const options = open ? open.content.diffOptions : (request.options ?? {});
    let diff: Diff;
    try {
      diff = await this.api.diff(area, path, base, remote, options);
    } catch (error) {
      if (this._diffs.get(id)?.request === state.request) {
        notifyError('Showing the diff', error);
      }
      return;
    }
    if (this._diffs.get(id)?.request !== state.request) {
      return; // another selection since: its answer shows
    }
    state.diff = diff;
    const title = diffTitle(state);
    const caption = `${path}: ${title.slice(baseName(path).length + 2)}`;
    const current = this.findInMain(id) as MainAreaWidget<DiffPanel> | undefined;
    if (current) {
      current.content.setDiff(diff);
      current.content.setActions(request.actions ?? []);
      current.title.label = title;
      current.title.caption = caption;
      if (!request.refreshOnly) {
        this.reveal(id, request.focus ?? true);
      }
      return;
    }
    const view = diffView(diff, this.services, {
      id,
      title,
      caption,
      options,
      actions: request.actions,
      fetch: async changed => {
        const now = this._diffs.get(id) ?? state;
        const answer = await this.api.diff(now.area, now.path, now.base, now.remote, changed);
        now.diff = answer;
        return answer;
      }
    });
    view.disposed.connect(() => {
      if (this._diffs.get(id) === state || !this.findInMain(id)) {
        this._diffs.delete(id);
      }
    });
    this.addToMain(view, { focus: request.focus ?? true });
  }

  /** Name and describe `version` of the workspace file `path` (a dialog that keeps what
   * was typed when the server refuses); true once saved. */
  async nameVersion(path: string, version: VersionItem): Promise<boolean> {
    const form = new NameForm(version);
    const answer = await showSubmitDialog({
      title: version.name ? 'Rename this version' : 'Name this version',
      body: form,
      acceptLabel: 'Save',
      submit: value => this.api.annotate(path, version.id, value)
    });
    if (!answer) {
      return false;
    }
    notifySuccess(
      answer.name
        ? `Named the version of ${baseName(path)} “${answer.name}”.`
        : `Removed the name of the version of ${baseName(path)}.`
    );
    return true;
  }

  /** Save the notebook in `panel` and name the version that save becomes, in one step
   * (the dialog keeps what was typed when the save or the naming fails). */
  async saveNamedVersion(panel: NotebookPanel): Promise<void> {
    const context = panel.context;
    const answer = await showSubmitDialog({
      title: `Save a named version of ${baseName(context.path)}`,
      body: new NameForm(null),
      acceptLabel: 'Save and name',
      submit: async value => {
        if (!value.name) {
          throw new Error('A name is required, e.g. “sent to review”.');
        }
        await context.save();
        // The save heads the history at once (a pending save until archived; naming a
        // pending save waits on the server for the version it becomes).
        const newest = (await this.api.versions('workspace', context.path, { limit: 1 })).versions[0];
        if (!newest) {
          throw new Error('The save was not archived, so there is no version to name.');
        }
        return this.api.annotate(context.path, newest.id, value);
      }
    });
    if (answer) {
      notifySuccess(`Saved ${baseName(context.path)} as the version “${answer.name}”.`);
      this.history?.refresh();
    }
  }

  /** Pin (kept forever by retention) or unpin `version`; true once done. */
  async setPinned(path: string, version: VersionItem, pinned: boolean): Promise<boolean> {
    try {
      await this.api.annotate(path, version.id, { pinned });
      notifySuccess(
        pinned
          ? `Pinned the version of ${baseName(path)}: retention keeps it forever.`
          : `Unpinned the version of ${baseName(path)}.`
      );
      return true;
    } catch (error) {
      notifyError(pinned ? 'Pinning' : 'Unpinning', error);
      return false;
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

  /** The newest of bookstore's views still in the main area: new views open as tabs
   * beside it (one tab group), not in another split pane. */
  private groupRef(): string | null {
    for (let n = this._views.length - 1; n >= 0; n--) {
      if (this.findInMain(this._views[n])) {
        return this._views[n];
      }
    }
    return null;
  }

  /** Add `widget` to the main area and show it: in place of an open one with the same id,
   * else as a tab in the group of bookstore's views, else split right of the notebook. */
  addToMain(widget: Widget, options: { focus?: boolean } = {}): void {
    const focus = options.focus ?? true;
    const old = this.findInMain(widget.id);
    const group = this.groupRef();
    const activate = focus;
    if (old) {
      this.app.shell.add(widget, 'main', { ref: old.id, mode: 'tab-after', activate });
      old.dispose();
    } else if (group) {
      this.app.shell.add(widget, 'main', { ref: group, mode: 'tab-after', activate });
    } else {
      this.app.shell.add(widget, 'main', { mode: 'split-right', activate });
    }
    this._views = this._views.filter(id => id !== widget.id);
    this._views.push(widget.id);
    if (widget.isAttached) {
      this.reveal(widget.id, focus);
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

  /** Bring the main-area widget `id` to the front of its tab group; with `focus`, also
   * activate it (keyboard focus moves there), else the focus stays where it is (the
   * History panel, whose arrow keys keep moving the selection). */
  private reveal(id: string, focus: boolean): void {
    if (focus) {
      this.app.shell.activateById(id);
      return;
    }
    const widget = this.findInMain(id);
    const dock = widget?.parent;
    if (widget && dock instanceof DockPanel) {
      dock.selectWidget(widget);
    } else {
      this.app.shell.activateById(id);
    }
  }

  /** Ids of the views opened here, oldest first. */
  private _views: string[] = [];
  /** What each open diff view shows, by widget id. */
  private readonly _diffs = new Map<string, IDiffState>();
}

/** The body of the Name dialog: a name and a description. */
class NameForm extends Widget implements ISubmitBody<VersionAnnotation> {
  /** `version`: the version to name; null for the version a save is about to make. */
  constructor(version: VersionItem | null) {
    super();
    this.addClass('jp-bookstore-form');
    const name = textField('Name', {
      name: 'version-name',
      value: version?.name ?? '',
      placeholder: 'e.g. sent to review',
      help: version
        ? 'Shown in the History panel; named versions are never pruned. Empty removes it.'
        : 'Shown in the History panel; named versions are never pruned.'
    });
    const description = textAreaField('Description (optional)', {
      name: 'version-description',
      value: version?.description ?? ''
    });
    this._name = name.input;
    this._description = description.input;
    this._error = errorLine();
    const when = version ? relativeTime(version.last_modified) : null;
    this.node.append(
      statusLine(
        when
          ? `The version saved ${when.text} (${when.exact}).`
          : 'Saves the notebook and names the version the save becomes.'
      ),
      name.row,
      description.row,
      this._error
    );
  }

  getValue(): VersionAnnotation {
    return {
      name: this._name.value.trim() || null,
      description: this._description.value.trim() || null
    };
  }

  showError(error: unknown): void {
    setErrorLine(this._error, errorMessage(error));
    this._name.focus();
  }

  protected onAfterAttach(): void {
    this._name.focus();
    this._name.select();
  }

  private readonly _name: HTMLInputElement;
  private readonly _description: HTMLTextAreaElement;
  private readonly _error: HTMLParagraphElement;
}

/**
 * Publishing a notebook: the dialog of the toolbar button, the File menu entry and the
 * palette command "Publish notebook".
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IStateDB } from '@jupyterlab/statedb';
import type { Contents } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import type { BookstoreActions } from './actions';
import type { BookstoreAPI, PublishedInfo, PublishResult } from './api';
import { baseName, relativeTime } from './format';
import { errorLine, type ISubmitBody, setErrorLine, showSubmitDialog, statusLine, textField } from './forms';
import { errorMessage, notifyError } from './notify';

/** The `actions` of the dialog's buttons that do more than publish. */
const UNPUBLISH = 'bookstore-unpublish';
const LAST_SAVE = 'bookstore-last-save';

/** How long the published path must stay unchanged before its state is looked up, in ms. */
const LOOKUP_DELAY_MS = 300;

/** The state database key of the paths notebooks were last published under. */
const PUBLISHED_PATHS_KEY = 'bookstore-jupyterlab:published-paths';
/** How many notebooks' published paths are remembered. */
const PUBLISHED_PATHS_KEPT = 200;

/** Where each notebook was last published (JupyterLab's state database, so it is
 * remembered across reloads); without a state database nothing is remembered. */
export class PublishedPaths {
  constructor(private readonly state: IStateDB | null) {}

  /** The path `notebook` was last published under, if known. */
  async get(notebook: string): Promise<string | null> {
    const paths = await this._load();
    return paths[notebook] ?? null;
  }

  /** Remember that `notebook` was published under `target`. */
  async set(notebook: string, target: string): Promise<void> {
    if (!this.state) {
      return;
    }
    const paths = await this._load();
    delete paths[notebook];
    paths[notebook] = target;
    const kept = Object.entries(paths).slice(-PUBLISHED_PATHS_KEPT);
    await this.state.save(PUBLISHED_PATHS_KEY, Object.fromEntries(kept));
  }

  private async _load(): Promise<Record<string, string>> {
    if (!this.state) {
      return {};
    }
    try {
      const saved = await this.state.fetch(PUBLISHED_PATHS_KEY);
      return saved && typeof saved === 'object' ? { ...(saved as Record<string, string>) } : {};
    } catch {
      return {};
    }
  }
}

/** The dialog's body: the published path (editable) and what is published there now. */
class PublishForm extends Widget implements ISubmitBody<string> {
  constructor(
    private readonly api: BookstoreAPI,
    path: string,
    info: PublishedInfo | null,
    dirty: boolean
  ) {
    super();
    this.addClass('jp-bookstore-form');
    const { row, input } = textField('Published path', {
      name: 'published-path',
      value: path,
      help: 'Where others find it in the catalog; a path of your choice ending in .ipynb.'
    });
    this._input = input;
    this._state = statusLine();
    this._error = errorLine();
    row.append(this._error);
    this.node.append(row, this._state);
    if (dirty) {
      const note = statusLine(
        'This notebook has unsaved changes: “Save and publish” saves them first; ' +
          '“Publish last save” leaves them out.'
      );
      note.classList.add('jp-bookstore-warning');
      this.node.append(note);
    }
    this._describe(info);
    input.addEventListener('input', () => {
      setErrorLine(this._error, null);
      input.removeAttribute('aria-invalid');
      window.clearTimeout(this._timer);
      this._timer = window.setTimeout(() => void this._lookUp(), LOOKUP_DELAY_MS);
    });
  }

  getValue(): string {
    const value = this._input.value.trim();
    if (!value) {
      throw new Error('A published path is required, e.g. team/report.ipynb.');
    }
    return value;
  }

  showError(error: unknown): void {
    setErrorLine(this._error, errorMessage(error));
    this._input.setAttribute('aria-invalid', 'true');
    this._input.focus();
  }

  protected onAfterAttach(): void {
    this._input.focus();
    this._input.select();
  }

  protected onBeforeDetach(): void {
    window.clearTimeout(this._timer);
  }

  private async _lookUp(): Promise<void> {
    const path = this._input.value.trim();
    if (!path) {
      return;
    }
    try {
      this._describe(await this.api.published(path));
    } catch (error) {
      this._state.textContent = '';
      this.showError(error);
    }
  }

  private _describe(info: PublishedInfo | null): void {
    this._state.classList.toggle('jp-bookstore-warning', !!info && !info.may_manage);
    if (!info) {
      this._state.textContent = 'Not published yet.';
      return;
    }
    const by = info.published_by ? ` by ${info.published_by}` : '';
    const when = `Already published${by} ${relativeTime(info.last_modified).text} (version ${info.versionID}).`;
    this._state.textContent = info.may_manage
      ? `${when} Publishing again makes a new version.`
      : `${when} It belongs to ${info.owner}: only they, the publication editors and ` +
        'JupyterHub admins may publish over it. Choose another path.';
  }

  private readonly _input: HTMLInputElement;
  private readonly _state: HTMLParagraphElement;
  private readonly _error: HTMLParagraphElement;
  private _timer = 0;
}

/** The result: version id and the clone link, with a Copy button. */
class PublishedBody extends Widget {
  constructor(result: PublishResult, link: string) {
    super();
    this.addClass('jp-bookstore-form');
    const version = statusLine(`Version ${result.versionID} of ${result.s3_path}`);
    const { row, input } = textField('Clone link', { name: 'clone-link', value: link });
    input.readOnly = true;
    const copy = document.createElement('button');
    copy.className = 'jp-mod-styled jp-bookstore-copy';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', 'Copy the clone link');
    copy.onclick = () => {
      Clipboard.copyToSystem(link);
      copy.textContent = 'Copied';
    };
    row.append(copy);
    const help = statusLine('Anyone with access to this Jupyter can open the link to clone it.');
    this.node.append(version, row, help);
  }
}

/** The notebook as last saved, read back through the contents API. */
async function savedNotebook(contents: Contents.IManager, path: string): Promise<unknown> {
  const model = await contents.get(path, { type: 'notebook', content: true });
  return model.content;
}

/** What the dialog did: published (with the result), or asked to unpublish. */
type PublishChoice = { published: PublishResult } | { unpublish: string };

/** The whole flow for the notebook in `panel`: dialog (it stays open, with the path typed,
 * when the server refuses), optional save, publish, result; or the shared unpublish, with
 * its confirmation. The path offered is the one the notebook was last published under. */
export async function publishNotebook(
  panel: NotebookPanel,
  api: BookstoreAPI,
  contents: Contents.IManager,
  actions: Pick<BookstoreActions, 'unpublish' | 'onChanged'>,
  remembered: PublishedPaths
): Promise<void> {
  const context = panel.context;
  const path = context.path;
  let info: PublishedInfo | null;
  let offered = path;
  try {
    const last = await remembered.get(path);
    info = last && last !== path ? await api.published(last) : null;
    if (info && last) {
      offered = last;
    } else {
      info = await api.published(path);
    }
  } catch (error) {
    notifyError('Publishing', error);
    return;
  }
  const dirty = context.model.dirty;
  const form = new PublishForm(api, offered, info, dirty);
  const extraButtons = [];
  if (info?.may_manage) {
    extraButtons.push(
      Dialog.warnButton({ label: 'Unpublish', ariaLabel: `Unpublish ${offered}`, actions: [UNPUBLISH] })
    );
  }
  if (dirty) {
    extraButtons.push(
      Dialog.okButton({ label: 'Publish last save', displayType: 'default', actions: [LAST_SAVE] })
    );
  }
  const choice = await showSubmitDialog<string, PublishChoice>({
    title: `Publish ${baseName(context.localPath)}`,
    body: form,
    acceptLabel: dirty ? 'Save and publish' : 'Publish',
    extraButtons,
    submit: async (target, button) => {
      if (button.actions.includes(UNPUBLISH)) {
        return { unpublish: target };
      }
      if (dirty && !button.actions.includes(LAST_SAVE)) {
        await context.save();
      }
      const content = await savedNotebook(contents, path);
      const published = await api.publish(target, { type: 'notebook', content: content as any });
      return { published };
    }
  });
  if (!choice) {
    return;
  }
  if ('unpublish' in choice) {
    await actions.unpublish(choice.unpublish);
    return;
  }
  const result = choice.published;
  actions.onChanged();
  void remembered.set(path, result.path).catch(() => undefined);
  const link = api.absoluteUrl(result.clone_url);
  await showDialog({
    title: `Published ${result.path}`,
    body: new PublishedBody(result, link),
    buttons: [Dialog.okButton({ label: 'Done' })]
  });
}

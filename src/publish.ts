/**
 * Publishing a notebook: the dialog of the toolbar button, the File menu entry and the
 * palette command "Publish notebook".
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { Contents } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import type { BookstoreActions } from './actions';
import type { BookstoreAPI, PublishedInfo, PublishResult } from './api';
import { baseName, relativeTime } from './format';
import { statusLine, textField } from './forms';
import { errorMessage, notifyError } from './notify';

/** The `actions` of the dialog's buttons that do more than publish. */
const UNPUBLISH = 'bookstore-unpublish';
const SAVE_FIRST = 'bookstore-save-first';

/** How long the published path must stay unchanged before its state is looked up, in ms. */
const LOOKUP_DELAY_MS = 300;

/** The dialog's body: the published path (editable) and what is published there now. */
class PublishForm extends Widget {
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
      window.clearTimeout(this._timer);
      this._timer = window.setTimeout(() => void this._lookUp(), LOOKUP_DELAY_MS);
    });
  }

  getValue(): string {
    return this._input.value.trim();
  }

  protected onAfterAttach(): void {
    this._input.focus();
    this._input.select();
  }

  private async _lookUp(): Promise<void> {
    const path = this.getValue();
    try {
      this._describe(await this.api.published(path));
    } catch (error) {
      this._state.textContent = errorMessage(error);
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

/** The whole flow for the notebook in `panel`: dialog, optional save, publish, result (or
 * the shared unpublish, with its confirmation). */
export async function publishNotebook(
  panel: NotebookPanel,
  api: BookstoreAPI,
  contents: Contents.IManager,
  actions: Pick<BookstoreActions, 'unpublish' | 'onChanged'>
): Promise<void> {
  const context = panel.context;
  const path = context.path;
  let info: PublishedInfo | null;
  try {
    info = await api.published(path);
  } catch (error) {
    notifyError('Publishing', error);
    return;
  }
  const dirty = context.model.dirty;
  const form = new PublishForm(api, path, info, dirty);
  const buttons = [Dialog.cancelButton()];
  if (info?.may_manage) {
    buttons.push(
      Dialog.warnButton({ label: 'Unpublish', ariaLabel: `Unpublish ${path}`, actions: [UNPUBLISH] })
    );
  }
  if (dirty) {
    buttons.push(Dialog.okButton({ label: 'Publish last save', displayType: 'default' }));
    buttons.push(Dialog.okButton({ label: 'Save and publish', actions: [SAVE_FIRST] }));
  } else {
    buttons.push(Dialog.okButton({ label: 'Publish' }));
  }
  const choice = await showDialog({
    title: `Publish ${baseName(context.localPath)}`,
    body: form,
    buttons,
    focusNodeSelector: 'input'
  });
  const target = choice.value ?? path;
  if (!choice.button.accept) {
    return;
  }
  if (choice.button.actions.includes(UNPUBLISH)) {
    await actions.unpublish(target);
    return;
  }
  try {
    if (choice.button.actions.includes(SAVE_FIRST)) {
      await context.save();
    }
    const content = await savedNotebook(contents, path);
    const result = await api.publish(target, { type: 'notebook', content: content as any });
    actions.onChanged();
    const link = api.absoluteUrl(result.clone_url);
    await showDialog({
      title: `Published ${result.path}`,
      body: new PublishedBody(result, link),
      buttons: [Dialog.okButton({ label: 'Done' })]
    });
  } catch (error) {
    notifyError('Publishing', error);
  }
}

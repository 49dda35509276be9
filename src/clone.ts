/**
 * Cloning into the workspace: the palette command "Clone from bookstore…" (bucket, key,
 * version, target), the catalog's Clone (choose a published version and the target) and
 * the published history's Clone (that version; choose the target).
 */
import type { IDocumentManager } from '@jupyterlab/docmanager';
import { Widget } from '@lumino/widgets';

import type { BookstoreAPI, CatalogItem, CloneRequest, VersionItem } from './api';
import { baseName, formatSize, relativeTime } from './format';
import {
  errorLine,
  type ISubmitBody,
  selectField,
  setErrorLine,
  showSubmitDialog,
  statusLine,
  textField
} from './forms';
import { errorMessage, notifyError, notifySuccess } from './notify';

/** How many published versions the catalog's clone dialog offers. */
const VERSION_CHOICES = 50;

/** A stored notebook: its path (as the catalog names it), bucket and key. */
export interface IStoredNotebook {
  path: string;
  bucket: string;
  key: string;
}

/** One entry of the dialog's Version list. */
interface IVersionChoice {
  value: string;
  text: string;
}

/** The palette dialog: any object the server may clone. */
class CloneForm extends Widget implements ISubmitBody<CloneRequest> {
  constructor(defaultBucket: string) {
    super();
    this.addClass('jp-bookstore-form');
    const bucket = textField('Bucket', {
      name: 'bucket',
      placeholder: defaultBucket || 'the configured bucket',
      help: 'Leave empty for the bucket bookstore is configured with.'
    });
    const key = textField('Key', {
      name: 'key',
      placeholder: 'published/team/report.ipynb',
      help: 'The object to clone, e.g. a published notebook’s key.'
    });
    const version = textField('Version (optional)', {
      name: 'version',
      placeholder: 'latest',
      help: 'A past version id; empty clones the latest.'
    });
    const target = textField('Target path (optional)', {
      name: 'target',
      placeholder: 'the object’s file name',
      help: 'Where to write it in your workspace; an existing file is never overwritten.'
    });
    this._bucket = bucket.input;
    this._key = key.input;
    this._version = version.input;
    this._target = target.input;
    this._error = errorLine();
    this.node.append(bucket.row, key.row, version.row, target.row, this._error);
  }

  getValue(): CloneRequest {
    const key = this._key.value.trim();
    if (!key) {
      throw new Error('A key is required, e.g. published/team/report.ipynb.');
    }
    return {
      s3_bucket: this._bucket.value.trim() || null,
      s3_key: key,
      s3_version_id: this._version.value.trim() || null,
      target_path: this._target.value.trim() || null,
      content: false
    };
  }

  showError(error: unknown): void {
    setErrorLine(this._error, errorMessage(error));
    this._key.focus();
  }

  protected onAfterAttach(): void {
    this._key.focus();
  }

  private readonly _bucket: HTMLInputElement;
  private readonly _key: HTMLInputElement;
  private readonly _version: HTMLInputElement;
  private readonly _target: HTMLInputElement;
  private readonly _error: HTMLParagraphElement;
}

/** The catalog's and the published history's dialog: which version, and where to. */
class StoredCloneForm extends Widget implements ISubmitBody<CloneRequest> {
  constructor(source: IStoredNotebook, choices: IVersionChoice[], targetPath?: string) {
    super();
    this.addClass('jp-bookstore-form');
    this._source = source;
    const version = selectField('Version', { name: 'version', choices });
    this._version = version.select;
    const target = textField('Target path', {
      name: 'target',
      value: targetPath ?? baseName(source.path),
      help: 'Where to write it in your workspace; an existing file is never overwritten.'
    });
    this._target = target.input;
    this._error = errorLine();
    this.node.append(
      statusLine(`Clone ${source.path} into your workspace.`),
      version.row,
      target.row,
      this._error
    );
  }

  showError(error: unknown): void {
    setErrorLine(this._error, errorMessage(error));
    this._target.focus();
  }

  getValue(): CloneRequest {
    return {
      s3_bucket: this._source.bucket,
      s3_key: this._source.key,
      s3_version_id: this._version.value || null,
      target_path: this._target.value.trim() || null,
      content: false
    };
  }

  protected onAfterAttach(): void {
    this._target.focus();
  }

  private readonly _source: IStoredNotebook;
  private readonly _version: HTMLSelectElement;
  private readonly _target: HTMLInputElement;
  private readonly _error: HTMLParagraphElement;
}

/** Show `body`; Clone sends its request and the dialog stays open, everything typed,
 * showing why when the server refuses. The new file opens once cloned. */
async function cloneInDialog(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  title: string,
  body: ISubmitBody<CloneRequest>
): Promise<void> {
  const model = await showSubmitDialog({
    title,
    body,
    acceptLabel: 'Clone',
    submit: request => api.clone(request)
  });
  if (model) {
    docManager.openOrReveal(model.path);
    notifySuccess(`Cloned into ${model.path}.`);
  }
}

/** The palette command's flow; `bucket` is the configured one (a placeholder). */
export async function cloneFromStore(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  bucket: string
): Promise<void> {
  await cloneInDialog(api, docManager, 'Clone from bookstore', new CloneForm(bucket));
}

/** "Latest: 26/11/2026, 02:52:34 (20.3 KB)". */
function versionChoice(version: VersionItem, latest: boolean): IVersionChoice {
  return {
    value: version.id,
    text:
      `${latest ? 'Latest: ' : ''}${relativeTime(version.last_modified).exact}` +
      ` (${formatSize(version.size)})`
  };
}

/** Ask which of `choices` and where to, then clone. */
async function cloneWithDialog(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  source: IStoredNotebook,
  choices: IVersionChoice[],
  targetPath?: string
): Promise<void> {
  const body = new StoredCloneForm(source, choices, targetPath);
  await cloneInDialog(api, docManager, `Clone ${baseName(source.path)}`, body);
}

/** The catalog's flow: choose among the latest published versions. */
export async function cloneFromCatalog(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  item: CatalogItem
): Promise<void> {
  let versions: VersionItem[] = [];
  try {
    versions = (await api.versions('published', item.path, { limit: VERSION_CHOICES })).versions;
  } catch (error) {
    notifyError('Listing published versions', error);
    return;
  }
  const choices = versions.length
    ? versions.map((version, index) => versionChoice(version, index === 0))
    : [{ value: item.version_id, text: 'Latest' }];
  await cloneWithDialog(api, docManager, item, choices);
}

/** The published history's flow: `version` (chosen there) of `source`, which stays
 * clonable after an unpublish. */
export async function clonePublishedVersion(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  source: IStoredNotebook,
  version: VersionItem
): Promise<void> {
  await cloneWithDialog(api, docManager, source, [versionChoice(version, version.is_latest)]);
}

/** A run's output (a version of a workspace key): choose where to, then clone. `text`
 * names the version ("Output of the run of 12/1/2026, 10:00:00"). */
export async function cloneStoredVersion(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  source: IStoredNotebook,
  version: { id: string; text: string },
  targetPath: string
): Promise<void> {
  await cloneWithDialog(api, docManager, source, [{ value: version.id, text: version.text }], targetPath);
}

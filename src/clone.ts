/**
 * Cloning into the workspace: the palette command "Clone from bookstore…" (bucket, key,
 * version, target) and the catalog's Clone (choose a published version and the target).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import { Widget } from '@lumino/widgets';

import type { BookstoreAPI, CatalogItem, CloneRequest, VersionItem } from './api';
import { baseName, formatSize, relativeTime } from './format';
import { selectField, statusLine, textField } from './forms';
import { notifyError, notifySuccess } from './notify';

/** How many published versions the catalog's clone dialog offers. */
const VERSION_CHOICES = 50;

/** The palette dialog: any object the server may clone. */
class CloneForm extends Widget {
  constructor(defaultBucket: string) {
    super();
    this.addClass('jp-bookstore-form');
    this._bucket = textField('Bucket', {
      name: 'bucket',
      placeholder: defaultBucket || 'the configured bucket',
      help: 'Leave empty for the bucket bookstore is configured with.'
    }).input;
    this._key = textField('Key', {
      name: 'key',
      placeholder: 'published/team/report.ipynb',
      help: 'The object to clone, e.g. a published notebook’s key.'
    }).input;
    this._version = textField('Version (optional)', {
      name: 'version',
      placeholder: 'latest',
      help: 'A past version id; empty clones the latest.'
    }).input;
    this._target = textField('Target path (optional)', {
      name: 'target',
      placeholder: 'the object’s file name',
      help: 'Where to write it in your workspace; an existing file is never overwritten.'
    }).input;
    for (const input of [this._bucket, this._key, this._version, this._target]) {
      this.node.append(input.parentElement!);
    }
  }

  getValue(): CloneRequest {
    return {
      s3_bucket: this._bucket.value.trim() || null,
      s3_key: this._key.value.trim(),
      s3_version_id: this._version.value.trim() || null,
      target_path: this._target.value.trim() || null,
      content: false
    };
  }

  protected onAfterAttach(): void {
    this._key.focus();
  }

  private readonly _bucket: HTMLInputElement;
  private readonly _key: HTMLInputElement;
  private readonly _version: HTMLInputElement;
  private readonly _target: HTMLInputElement;
}

/** The catalog's dialog: which published version, and where to. */
class CatalogCloneForm extends Widget {
  constructor(item: CatalogItem, versions: VersionItem[], preselect?: string) {
    super();
    this.addClass('jp-bookstore-form');
    this._item = item;
    const choices = versions.map((version, index) => ({
      value: version.id,
      text:
        `${index === 0 ? 'Latest: ' : ''}${relativeTime(version.last_modified).exact}` +
        ` (${formatSize(version.size)})`
    }));
    if (!choices.length) {
      choices.push({ value: item.version_id, text: 'Latest' });
    }
    if (preselect && !choices.some(choice => choice.value === preselect)) {
      choices.unshift({ value: preselect, text: `Version ${preselect}` });
    }
    const version = selectField('Version', { name: 'version', choices });
    if (preselect) {
      version.select.value = preselect;
    }
    this._version = version.select;
    const target = textField('Target path', {
      name: 'target',
      value: baseName(item.path),
      help: 'Where to write it in your workspace; an existing file is never overwritten.'
    });
    this._target = target.input;
    this.node.append(statusLine(`Clone ${item.path} into your workspace.`), version.row, target.row);
  }

  getValue(): CloneRequest {
    return {
      s3_bucket: this._item.bucket,
      s3_key: this._item.key,
      s3_version_id: this._version.value || null,
      target_path: this._target.value.trim() || null,
      content: false
    };
  }

  protected onAfterAttach(): void {
    this._target.focus();
  }

  private readonly _item: CatalogItem;
  private readonly _version: HTMLSelectElement;
  private readonly _target: HTMLInputElement;
}

/** Clone `request` and open the new file. */
async function cloneAndOpen(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  request: CloneRequest
): Promise<void> {
  try {
    const model = await api.clone(request);
    docManager.openOrReveal(model.path);
    notifySuccess(`Cloned into ${model.path}.`);
  } catch (error) {
    notifyError('Cloning', error);
  }
}

/** The palette command's flow. */
export async function cloneFromStore(api: BookstoreAPI, docManager: IDocumentManager): Promise<void> {
  let bucket = '';
  try {
    bucket = (await api.info()).store.bucket;
  } catch {
    // The dialog still works; the server will answer any real problem.
  }
  const choice = await showDialog({
    title: 'Clone from bookstore',
    body: new CloneForm(bucket),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Clone' })]
  });
  if (!choice.button.accept || !choice.value) {
    return;
  }
  if (!choice.value.s3_key) {
    notifyError('Cloning', new Error('A key is required, e.g. published/team/report.ipynb.'));
    return;
  }
  await cloneAndOpen(api, docManager, choice.value);
}

/** The catalog's flow (optionally with a version chosen in the published history). */
export async function cloneFromCatalog(
  api: BookstoreAPI,
  docManager: IDocumentManager,
  item: CatalogItem,
  versionId?: string
): Promise<void> {
  let versions: VersionItem[] = [];
  try {
    versions = (await api.versions('published', item.path, { limit: VERSION_CHOICES })).versions;
  } catch (error) {
    notifyError('Listing published versions', error);
    return;
  }
  const choice = await showDialog({
    title: `Clone ${baseName(item.path)}`,
    body: new CatalogCloneForm(item, versions, versionId),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Clone' })]
  });
  if (!choice.button.accept || !choice.value) {
    return;
  }
  await cloneAndOpen(api, docManager, choice.value);
}

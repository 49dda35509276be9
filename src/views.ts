/**
 * Main-area views of stored notebooks: one version read-only, and the diff of two sides
 * rendered by nbdime's own notebook diff widget.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import type * as nbformat from '@jupyterlab/nbformat';
import { NotebookModel, NotebookPanel, StaticNotebook } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { CELLDIFF_CLASS, NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import { UNCHANGED_DIFF_CLASS } from 'nbdime/lib/diff/widget/common';

import type { Diff, VersionModel } from './api';
import { relativeTime, shortId } from './format';

/** What rendering a notebook needs from JupyterLab. */
export interface IRenderServices {
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
}

/** Class of the read-only version view. */
export const VERSION_VIEW_CLASS = 'jp-bookstore-VersionView';
/** Class of the diff view. */
export const DIFF_VIEW_CLASS = 'jp-bookstore-DiffView';

/** A label for one side of a diff: "v 3HL4kqtJ… (5 minutes ago)" or "current file". */
function sideLabel(side: Diff['base']): string {
  if (side.current) {
    return 'current file';
  }
  const when = side.last_modified ? ` (${relativeTime(side.last_modified).text})` : '';
  return `version ${shortId(side.id ?? '')}${when}`;
}

/** The notebook of one version, rendered like a notebook but not editable and without a
 * kernel; `id` is the widget's id. */
export function versionView(
  model: VersionModel,
  services: IRenderServices,
  id: string
): MainAreaWidget<Panel> {
  const content = new Panel();
  content.addClass(VERSION_VIEW_CLASS);
  const version = model.version;
  const banner = new Widget();
  banner.addClass('jp-bookstore-banner');
  banner.node.setAttribute('role', 'note');
  banner.node.textContent =
    `Read-only: ${model.path} as saved ${relativeTime(version.last_modified).exact}` +
    ` (version ${version.id}${version.is_latest ? ', the latest' : ''}).`;
  content.addWidget(banner);

  if (model.type === 'notebook' && model.content) {
    content.addWidget(readOnlyNotebook(model.content as unknown as nbformat.INotebookContent, services));
  } else {
    const pre = document.createElement('pre');
    pre.textContent = typeof model.content === 'string' ? model.content : '';
    content.addWidget(new Widget({ node: pre }));
  }
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = `${model.name} @ ${shortId(version.id)}`;
  widget.title.caption = `${model.path}, version ${version.id} (read-only)`;
  widget.title.closable = true;
  return widget;
}

/** A `StaticNotebook` (cells, outputs, rendered markdown; no kernel) whose cells are
 * read-only. */
function readOnlyNotebook(
  content: nbformat.INotebookContent,
  services: IRenderServices
): StaticNotebook {
  const cells = content.cells.map(cell => ({
    ...cell,
    metadata: { ...cell.metadata, editable: false, deletable: false }
  }));
  const model = new NotebookModel();
  model.fromJSON({ ...content, cells });
  const notebook = new StaticNotebook({
    rendermime: services.rendermime,
    contentFactory: new NotebookPanel.ContentFactory({
      editorFactory: services.editorServices.factoryService.newInlineEditor
    }),
    mimeTypeService: services.editorServices.mimeTypeService,
    notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode: 'none' }
  });
  notebook.model = model;
  for (const cell of notebook.widgets) {
    cell.readOnly = true;
  }
  notebook.addClass('jp-bookstore-readOnlyNotebook');
  notebook.disposed.connect(() => model.dispose());
  return notebook;
}

/** nbdime's rendering of `diff`, with a header naming both sides and the summary. */
export function diffView(
  diff: Diff,
  services: IRenderServices,
  options: { id: string; title: string }
): MainAreaWidget<Panel> {
  const content = new Panel();
  content.addClass(DIFF_VIEW_CLASS);

  const header = document.createElement('div');
  header.className = 'jp-bookstore-diffHeader';
  const sides = document.createElement('div');
  sides.className = 'jp-bookstore-diffSides';
  const base = document.createElement('span');
  base.className = 'jp-bookstore-diffBase';
  base.textContent = sideLabel(diff.base);
  const remote = document.createElement('span');
  remote.className = 'jp-bookstore-diffRemote';
  remote.textContent = sideLabel(diff.remote);
  sides.append(base, remote);
  const summary = document.createElement('p');
  summary.className = 'jp-bookstore-diffSummary';
  summary.setAttribute('role', 'status');
  summary.textContent = diff.summary.text;
  const toggle = document.createElement('label');
  const checkbox = document.createElement('input');
  checkbox.type = 'checkbox';
  checkbox.checked = true;
  toggle.append(checkbox, ' Hide unchanged cells');
  header.append(sides, summary, toggle);
  content.addWidget(new Widget({ node: header }));

  const scroller = new Panel();
  scroller.addClass('jp-bookstore-diffScroller');
  scroller.addClass('jp-mod-hideUnchanged');
  scroller.node.tabIndex = 0;
  scroller.node.setAttribute('aria-label', `Differences: ${diff.summary.text}`);
  checkbox.onchange = () => scroller.toggleClass('jp-mod-hideUnchanged', checkbox.checked);
  content.addWidget(scroller);

  if (diff.base_notebook) {
    const model = new NotebookDiffModel(
      diff.base_notebook as unknown as nbformat.INotebookContent,
      diff.diff as IDiffEntry[]
    );
    const widget = new NotebookDiffWidget({
      model,
      rendermime: services.rendermime,
      editorFactory: services.editorServices.factoryService.newInlineEditor
    });
    scroller.addWidget(widget);
    void widget.init().then(() => markHiddenRuns(scroller.node));
  }

  const view = new MainAreaWidget({ content });
  view.id = options.id;
  view.title.label = options.title;
  view.title.caption = `${diff.path}: ${sideLabel(diff.base)} → ${sideLabel(diff.remote)}`;
  view.title.closable = true;
  return view;
}

/** Say how many unchanged cells are hidden before each shown cell (and after the last). */
function markHiddenRuns(root: HTMLElement): void {
  const cells = Array.from(root.querySelectorAll(`.${CELLDIFF_CLASS}`));
  let hidden = 0;
  let lastShown: Element | null = null;
  for (const cell of cells) {
    if (cell.classList.contains(UNCHANGED_DIFF_CLASS)) {
      hidden += 1;
      continue;
    }
    if (hidden) {
      cell.setAttribute('data-bookstore-hidden-before', String(hidden));
    }
    hidden = 0;
    lastShown = cell;
  }
  if (hidden && lastShown) {
    lastShown.setAttribute('data-bookstore-hidden-after', String(hidden));
  } else if (hidden && !lastShown) {
    root.setAttribute('data-bookstore-all-hidden', String(hidden));
  }
}

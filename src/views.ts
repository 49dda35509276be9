/**
 * Main-area views of stored notebooks: one version read-only, and the diff of two sides.
 *
 * Both render statically: code is highlighted once with JupyterLab's language registry (as
 * rendered markdown code blocks are) instead of one live CodeMirror editor per cell, and
 * every cell is built in one go (nbdime's own widget adds one cell per animation frame and
 * waits on every editor's fonts). Outputs and markdown go through the rendermime registry.
 * The diff comes from nbdime's models (`NotebookDiffModel`: cells, line and character
 * ranges); changed cells show base and remote in two columns with their lines aligned.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import {
  EditorLanguageRegistry,
  type IEditorLanguage,
  type IEditorLanguageRegistry,
  jupyterHighlightStyle
} from '@jupyterlab/codemirror';
import type * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { type IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { highlightTree } from '@lezer/highlight';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import {
  type CellDiffModel,
  type IStringDiffModel,
  NotebookDiffModel,
  type OutputDiffModel
} from 'nbdime/lib/diff/model';

import type { Diff, DiffOptions, VersionModel } from './api';
import { relativeTime, shortId } from './format';

/** What rendering a notebook needs from JupyterLab. */
export interface IRenderServices {
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
  /** JupyterLab's languages (`IEditorLanguageRegistry`), to highlight code; without it a
   * registry of the default languages is made once. */
  languages?: IEditorLanguageRegistry;
}

/** Class of the read-only version view. */
export const VERSION_VIEW_CLASS = 'jp-bookstore-VersionView';
/** Class of the diff view. */
export const DIFF_VIEW_CLASS = 'jp-bookstore-DiffView';
/** Class of one cell of a diff, and of its state (nbdime's names). */
export const CELLDIFF_CLASS = 'jp-Cell-diff';
export const UNCHANGED_DIFF_CLASS = 'jp-Diff-unchanged';
export const TWOWAY_DIFF_CLASS = 'jp-Diff-twoway';
export const ADDED_DIFF_CLASS = 'jp-Diff-added';
export const DELETED_DIFF_CLASS = 'jp-Diff-deleted';

/** A label for one side of a diff: "version 3HL4kqtJ… (5 minutes ago)" or "current file". */
function sideLabel(side: Diff['base']): string {
  if (side.current) {
    return 'current file';
  }
  const when = side.last_modified ? ` (${relativeTime(side.last_modified).text})` : '';
  return `version ${shortId(side.id ?? '')}${when}`;
}

// -- small DOM helpers ----------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function widgetOf(node: HTMLElement): Widget {
  return new Widget({ node });
}

/** A panel on a node of its own (`<details>`, `<figure>`). */
class NodePanel extends Widget {
  constructor(node: HTMLElement) {
    super({ node });
    this.layout = new PanelLayout();
  }

  get widgets(): readonly Widget[] {
    return (this.layout as PanelLayout).widgets;
  }

  addWidget(widget: Widget): void {
    (this.layout as PanelLayout).addWidget(widget);
  }
}

function panel(className: string): Panel {
  const p = new Panel();
  p.addClass(className);
  return p;
}

function sourceText(source: nbformat.MultilineString | undefined): string {
  return Array.isArray(source) ? source.join('') : (source ?? '');
}

// -- static highlighting --------------------------------------------------------------

/** A piece of highlighted code: its text and the highlight style's classes. */
interface IToken {
  text: string;
  cls: string;
}

let defaultLanguages: IEditorLanguageRegistry | null = null;
let highlightStyleMounted = false;

/** JupyterLab's languages, or (not given) a registry of the default ones, made once. */
function languageRegistry(services: IRenderServices): IEditorLanguageRegistry {
  if (services.languages) {
    return services.languages;
  }
  if (!defaultLanguages) {
    const registry = new EditorLanguageRegistry();
    for (const language of EditorLanguageRegistry.getDefaultLanguages()) {
      registry.addLanguage(language);
    }
    defaultLanguages = registry;
  }
  return defaultLanguages;
}

/** The CSS of JupyterLab's highlight style is mounted by the first CodeMirror editor of
 * the page; a view opened before any editor mounts it itself (the `StyleModule` class that
 * made it, so the same copy of style-mod). */
function mountHighlightStyle(): void {
  if (highlightStyleMounted) {
    return;
  }
  highlightStyleMounted = true;
  const module = jupyterHighlightStyle.module;
  if (module) {
    const StyleModule = module.constructor as unknown as {
      mount(root: Document, modules: unknown): void;
    };
    StyleModule.mount(document, module);
  }
}

/** Highlights code of the languages of one view: `tokens()` is synchronous, for the
 * languages `ready` has loaded (others come out plain). */
class Highlighter {
  constructor(
    private readonly registry: IEditorLanguageRegistry,
    private readonly mimeTypes: Set<string>
  ) {
    mountHighlightStyle();
  }

  /** Load the languages not loaded yet; true if any had to be loaded (render again). */
  async ready(): Promise<boolean> {
    let loaded = false;
    for (const mime of this.mimeTypes) {
      const spec = this.language(mime);
      if (spec && !spec.support) {
        await this.registry.getLanguage(spec);
        loaded = loaded || !!spec.support;
      }
    }
    return loaded;
  }

  /** True when every language is loaded. */
  get complete(): boolean {
    return Array.from(this.mimeTypes).every(mime => {
      const spec = this.language(mime);
      return !spec || !!spec.support;
    });
  }

  tokens(code: string, mime: string): IToken[] {
    const support = this.language(mime)?.support;
    if (!support || !code) {
      return [{ text: code, cls: '' }];
    }
    // What IEditorLanguageRegistry.highlight does, without its await per call.
    const tokens: IToken[] = [];
    let pos = 0;
    const tree = support.language.parser.parse(code);
    highlightTree(tree, jupyterHighlightStyle, (from, to, classes) => {
      if (from > pos) {
        tokens.push({ text: code.slice(pos, from), cls: '' });
      }
      tokens.push({ text: code.slice(from, to), cls: classes });
      pos = to;
    });
    if (pos < code.length) {
      tokens.push({ text: code.slice(pos), cls: '' });
    }
    return tokens;
  }

  private language(mime: string): IEditorLanguage | null {
    if (!mime || mime === 'text/plain') {
      return null;
    }
    return this.registry.findByMIME(mime) ?? this.registry.findBest(mime, false);
  }
}

/** `<pre>` of highlighted code (the read-only cells). */
function codeBlock(code: string, mime: string, highlighter: Highlighter): HTMLElement {
  const pre = el('pre', 'jp-bookstore-code');
  for (const token of highlighter.tokens(code, mime)) {
    if (token.cls) {
      pre.appendChild(el('span', token.cls, token.text));
    } else {
      pre.appendChild(document.createTextNode(token.text));
    }
  }
  return pre;
}

/** A piece of one line: text, highlight classes, and whether the diff marks it. */
interface ISegment {
  text: string;
  cls: string;
  marked: boolean;
}

/** The tokens of `code` cut into lines and at the edges of `marks` ([from, to) offsets,
 * sorted, not overlapping). */
function segmentLines(tokens: IToken[], marks: [number, number][]): ISegment[][] {
  const lines: ISegment[][] = [[]];
  let offset = 0;
  let m = 0;
  for (const token of tokens) {
    const text = token.text;
    let i = 0;
    while (i < text.length) {
      const at = offset + i;
      while (m < marks.length && marks[m][1] <= at) {
        m += 1;
      }
      const marked = m < marks.length && marks[m][0] <= at;
      const edge = m < marks.length ? (marked ? marks[m][1] : marks[m][0]) - offset : text.length;
      const newline = text.indexOf('\n', i);
      if (newline === i) {
        lines.push([]);
        i += 1;
        continue;
      }
      const end = Math.min(text.length, edge, newline === -1 ? text.length : newline);
      lines[lines.length - 1].push({ text: text.slice(i, end), cls: token.cls, marked });
      i = end;
    }
    offset += text.length;
  }
  return lines;
}

/** One row of a side-by-side text diff: a line of each side (null: a filler). */
interface IRow {
  base: number | null;
  remote: number | null;
  same: boolean;
}

/** Myers' diff gives up beyond this many entries of its trace (about the lines of both
 * sides times the lines that differ); the lines between are then paired in order. */
const MAX_TRACE = 4_000_000;

/** The pairs (i, j) of equal lines of `a` and `b` in a shortest edit script (Myers'
 * O((N+M)D) algorithm), in order; null when the texts differ too much for `MAX_TRACE`. */
function matchLines(a: string[], b: string[]): [number, number][] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    if ((d + 1) * v.length > MAX_TRACE) {
      return null;
    }
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
          ? v[offset + k + 1]
          : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        return backtrack(trace, offset, n, m);
      }
    }
  }
  return null;
}

/** The diagonal moves (equal lines) of the path `matchLines` found, first to last. */
function backtrack(trace: Int32Array[], offset: number, n: number, m: number): [number, number][] {
  const matches: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const v = trace[d];
    const k = x - y;
    const previousK =
      k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? k + 1 : k - 1;
    const previousX = v[offset + previousK];
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      x -= 1;
      y -= 1;
      matches.push([x, y]);
    }
    x = previousX;
    y = previousY;
  }
  return matches.reverse();
}

/** Align the lines of `a` (base) and `b` (remote): equal lines of a shortest edit script
 * share a row; the lines between two matches are paired in order, the shorter side padded
 * with fillers. */
export function alignLines(a: string[], b: string[]): IRow[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) {
    head += 1;
  }
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const middleA = a.slice(head, a.length - tail);
  const middleB = b.slice(head, b.length - tail);
  const rows: IRow[] = [];
  for (let i = 0; i < head; i++) {
    rows.push({ base: i, remote: i, same: true });
  }
  // Lines between matches, paired in order (equal ones, when the texts differ too much
  // for a script, still count as the same).
  const gap = (fromA: number, toA: number, fromB: number, toB: number) => {
    for (let k = 0; k < Math.max(toA - fromA, toB - fromB); k++) {
      const i = fromA + k < toA ? head + fromA + k : null;
      const j = fromB + k < toB ? head + fromB + k : null;
      rows.push({ base: i, remote: j, same: i !== null && j !== null && a[i] === b[j] });
    }
  };
  const matches = middleA.length && middleB.length ? matchLines(middleA, middleB) : [];
  if (matches === null) {
    gap(0, middleA.length, 0, middleB.length);
  } else {
    let i = 0;
    let j = 0;
    for (const [x, y] of matches) {
      gap(i, x, j, y);
      rows.push({ base: head + x, remote: head + y, same: true });
      i = x + 1;
      j = y + 1;
    }
    gap(i, middleA.length, j, middleB.length);
  }
  for (let k = tail; k > 0; k--) {
    rows.push({ base: a.length - k, remote: b.length - k, same: true });
  }
  return rows;
}

/** The [from, to) offsets in `text` of nbdime's ranges (line/column positions). */
function rangeOffsets(
  text: string,
  ranges: IStringDiffModel['additions'] | undefined
): [number, number][] {
  if (!ranges?.length) {
    return [];
  }
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  const offset = (pos: { line: number; column: number }) =>
    Math.min(text.length, (starts[pos.line] ?? text.length) + pos.column);
  const marks = ranges
    .map(range => [offset(range.from), offset(range.to)] as [number, number])
    .filter(([from, to]) => to > from)
    .sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const mark of marks) {
    const last = merged[merged.length - 1];
    if (last && mark[0] <= last[1]) {
      last[1] = Math.max(last[1], mark[1]);
    } else {
      merged.push([...mark]);
    }
  }
  return merged;
}

/** One line of a pane. */
function lineNode(segments: ISegment[] | null, number: number | null, state: string): HTMLElement {
  const line = el('div', `jp-bookstore-line${state ? ` jp-mod-${state}` : ''}`);
  if (number !== null) {
    line.dataset.line = String(number + 1);
  }
  if (!segments || !segments.length) {
    line.appendChild(document.createElement('br'));
    return line;
  }
  for (const segment of segments) {
    const cls = [segment.cls, segment.marked ? 'jp-bookstore-mark' : ''].filter(Boolean).join(' ');
    if (cls) {
      line.appendChild(el('span', cls, segment.text));
    } else {
      line.appendChild(document.createTextNode(segment.text));
    }
  }
  return line;
}

/** One side's lines, with their numbers in a gutter (one text node: cheaper to lay out
 * than a number per line). */
class Pane {
  constructor(side: 'base' | 'remote') {
    this.node = el('div', `jp-bookstore-pane jp-mod-${side}`);
    const body = el('div', 'jp-bookstore-paneBody');
    this._gutter.className = 'jp-bookstore-gutter';
    this._gutter.setAttribute('aria-hidden', 'true');
    body.append(this._gutter, this._code);
    this._code.className = 'jp-bookstore-code';
    this.node.appendChild(body);
  }

  readonly node: HTMLElement;

  /** Add a line (`number` null: a filler). */
  add(segments: ISegment[] | null, number: number | null, state: string): void {
    this._code.appendChild(lineNode(segments, number, state));
    this._numbers.push(number === null ? '' : String(number + 1));
  }

  /** Show the numbers of the lines added. */
  done(): void {
    this._gutter.textContent = this._numbers.join('\n');
  }

  private readonly _gutter = el('pre');
  private readonly _code = el('div');
  private readonly _numbers: string[] = [];
}

/** Two texts to show side by side, with nbdime's ranges of what changed (without them,
 * the changed part of each changed line is found here). */
interface ITextPair {
  base: string | null;
  remote: string | null;
  additions?: IStringDiffModel['additions'];
  deletions?: IStringDiffModel['deletions'];
}

/** For each changed row of both sides, the span between the lines' common head and tail
 * (absolute offsets in base and remote). */
function lineMarks(
  rows: IRow[],
  a: string[],
  b: string[]
): [[number, number][], [number, number][]] {
  const starts = (lines: string[]) => {
    const result: number[] = [];
    let at = 0;
    for (const line of lines) {
      result.push(at);
      at += line.length + 1;
    }
    return result;
  };
  const startA = starts(a);
  const startB = starts(b);
  const marksA: [number, number][] = [];
  const marksB: [number, number][] = [];
  for (const row of rows) {
    if (row.same || row.base === null || row.remote === null) {
      continue;
    }
    const x = a[row.base];
    const y = b[row.remote];
    let head = 0;
    while (head < x.length && head < y.length && x[head] === y[head]) {
      head += 1;
    }
    let tail = 0;
    while (
      tail < x.length - head &&
      tail < y.length - head &&
      x[x.length - 1 - tail] === y[y.length - 1 - tail]
    ) {
      tail += 1;
    }
    if (x.length - tail > head) {
      marksA.push([startA[row.base] + head, startA[row.base] + x.length - tail]);
    }
    if (y.length - tail > head) {
      marksB.push([startB[row.remote] + head, startB[row.remote] + y.length - tail]);
    }
  }
  return [marksA, marksB];
}

/** Lines of a text shown at first; a button shows the rest (a long output stays cheap). */
const MAX_ROWS = 1000;

/** Base and remote of a string diff in two columns, lines aligned, changed lines and
 * characters marked. */
function sideBySideText(
  model: ITextPair,
  mime: string,
  highlighter: Highlighter,
  className = ''
): HTMLElement {
  const base = model.base ?? '';
  const remote = model.remote ?? '';
  const baseText = base.split('\n');
  const remoteText = remote.split('\n');
  if (base.endsWith('\n') && remote.endsWith('\n')) {
    // Text ending with a newline (outputs, JSON): no empty last line on either side.
    baseText.pop();
    remoteText.pop();
  }
  const rows = alignLines(baseText, remoteText);
  let marks: [[number, number][], [number, number][]];
  if (model.additions || model.deletions) {
    marks = [rangeOffsets(base, model.deletions), rangeOffsets(remote, model.additions)];
  } else {
    marks = lineMarks(rows, baseText, remoteText);
  }
  const baseLines = segmentLines(highlighter.tokens(base, mime), marks[0]);
  const remoteLines = segmentLines(highlighter.tokens(remote, mime), marks[1]);
  const grid = el('div', `jp-bookstore-sideBySide ${className}`.trim());
  const left = new Pane('base');
  const right = new Pane('remote');
  const render = (from: number, to: number) => {
    for (const row of rows.slice(from, to)) {
      const state = row.same ? '' : row.base !== null && row.remote !== null ? 'changed' : '';
      if (row.base === null) {
        left.add(null, null, 'filler');
      } else {
        left.add(baseLines[row.base], row.base, state || (row.same ? '' : 'deleted'));
      }
      if (row.remote === null) {
        right.add(null, null, 'filler');
      } else {
        right.add(remoteLines[row.remote], row.remote, state || (row.same ? '' : 'added'));
      }
    }
    left.done();
    right.done();
  };
  render(0, MAX_ROWS);
  grid.append(left.node, right.node);
  if (rows.length > MAX_ROWS) {
    grid.appendChild(moreButton(rows.length - MAX_ROWS, () => render(MAX_ROWS, rows.length)));
  }
  return grid;
}

/** "Show 4,000 more lines": calls `more` once, then goes away. */
function moreButton(count: number, more: () => void): HTMLElement {
  const label = `Show ${count.toLocaleString()} more lines`;
  const button = el('button', 'jp-bookstore-moreLines', label);
  button.type = 'button';
  button.onclick = () => {
    button.remove();
    more();
  };
  return button;
}

/** One side of a cell or output only (added: right, deleted: left), lines marked. */
function oneSideText(
  text: string,
  mime: string,
  highlighter: Highlighter,
  state: string
): HTMLElement {
  const pane = new Pane(state === 'added' ? 'remote' : 'base');
  const lines = segmentLines(highlighter.tokens(text, mime), []);
  if (lines.length > 1 && text.endsWith('\n')) {
    lines.pop();
  }
  const render = (from: number, to: number) => {
    for (let i = from; i < Math.min(to, lines.length); i++) {
      pane.add(lines[i], i, state);
    }
    pane.done();
  };
  render(0, MAX_ROWS);
  if (lines.length > MAX_ROWS) {
    pane.node.appendChild(
      moreButton(lines.length - MAX_ROWS, () => render(MAX_ROWS, lines.length))
    );
  }
  return pane.node;
}

// -- outputs --------------------------------------------------------------------------

/** JupyterLab's output area for `outputs` (untrusted: stored versions are not this
 * session's work, so HTML is sanitized and scripts do not run). */
function outputArea(outputs: nbformat.IOutput[], services: IRenderServices): OutputArea {
  const area = new OutputArea({
    model: new OutputAreaModel({ values: outputs, trusted: false }),
    rendermime: services.rendermime
  });
  area.addClass('jp-Cell-outputArea');
  area.disposed.connect(() => area.model.dispose());
  return area;
}

/** The key of the text an output diff compares as lines (stream text, a plain-text
 * result), or null for outputs compared rendered (images, HTML, errors). */
function textKey(model: OutputDiffModel, services: IRenderServices): string | string[] | null {
  const output = (model.base ?? model.remote) as nbformat.IOutput;
  if (output.output_type === 'stream') {
    return 'text';
  }
  if (output.output_type === 'execute_result' || output.output_type === 'display_data') {
    const data = { ...((model.base as nbformat.IDisplayData | null)?.data ?? {}) };
    Object.assign(data, (model.remote as nbformat.IDisplayData | null)?.data ?? {});
    const preferred = services.rendermime.preferredMimeType(data as any, 'ensure');
    if (preferred === 'text/plain') {
      return ['data', 'text/plain'];
    }
  }
  return null;
}

/** The text of an output shown as text (a stream, a plain-text result), else null. */
function outputText(output: nbformat.IOutput, services: IRenderServices): string | null {
  if (output.output_type === 'stream') {
    return sourceText((output as nbformat.IStream).text);
  }
  if (output.output_type === 'execute_result' || output.output_type === 'display_data') {
    const data = (output as nbformat.IDisplayData).data ?? {};
    if (services.rendermime.preferredMimeType(data, 'ensure') === 'text/plain') {
      return sourceText(data['text/plain'] as nbformat.MultilineString);
    }
  }
  return null;
}

// -- cells ----------------------------------------------------------------------------

/** What a notebook's code is written in, as a MIME type ("text/x-ipython"). */
function notebookMimeType(notebook: nbformat.INotebookContent, services: IRenderServices): string {
  const metadata = notebook.metadata ?? {};
  const info = (metadata.language_info ?? {
    name: (metadata.kernelspec as { language?: string } | undefined)?.language ?? 'python'
  }) as nbformat.ILanguageInfoMetadata;
  return services.editorServices.mimeTypeService.getMimeTypeByLanguage(info);
}

/** The MIME type of a cell's source. */
function cellMimeType(cellType: string, notebookMime: string): string {
  if (cellType === 'code') {
    return notebookMime;
  }
  return cellType === 'markdown' ? 'text/x-ipythongfm' : 'text/plain';
}

/** A prompt like a notebook's: "[3]:" (none for a count left out: `undefined`). */
function prompt(count: nbformat.ExecutionCount | undefined, cellType: string): HTMLElement {
  const text = cellType === 'code' && count !== undefined ? `[${count ?? ' '}]:` : '';
  return el('div', 'jp-InputPrompt jp-InputArea-prompt', text);
}

/** Rendered markdown (untrusted, like an untrusted notebook's). */
function markdownWidget(source: string, services: IRenderServices): Widget {
  const renderer = services.rendermime.createRenderer('text/markdown');
  renderer.addClass('jp-MarkdownOutput');
  renderer
    .renderModel(new MimeModel({ data: { 'text/markdown': source }, trusted: false }))
    .catch(error => console.warn('bookstore: could not render a markdown cell', error));
  return renderer;
}

/** The input of a cell as a read-only notebook shows it: prompt and highlighted code, or
 * rendered markdown. */
function inputArea(
  cellType: string,
  source: string,
  count: nbformat.ExecutionCount | undefined,
  notebookMime: string,
  services: IRenderServices,
  highlighter: Highlighter
): Panel {
  const area = panel('jp-InputArea');
  area.addWidget(widgetOf(prompt(count, cellType)));
  if (cellType === 'markdown') {
    area.addWidget(markdownWidget(source, services));
  } else {
    const editor = el('div', 'jp-InputArea-editor jp-bookstore-codeBox');
    editor.appendChild(codeBlock(source, cellMimeType(cellType, notebookMime), highlighter));
    area.addWidget(widgetOf(editor));
  }
  return area;
}

/** A cell of a stored notebook, read-only: its input, and a code cell's outputs. */
function readOnlyCell(
  cell: nbformat.ICell,
  notebookMime: string,
  services: IRenderServices,
  highlighter: Highlighter
): Panel {
  const type = cell.cell_type;
  const widget = panel('jp-Cell');
  widget.addClass(
    type === 'code' ? 'jp-CodeCell' : type === 'markdown' ? 'jp-MarkdownCell' : 'jp-RawCell'
  );
  widget.addClass('jp-bookstore-cell');
  const count =
    type === 'code' ? ((cell as nbformat.ICodeCell).execution_count ?? null) : undefined;
  const source = sourceText(cell.source);
  const input = panel('jp-Cell-inputWrapper');
  input.addWidget(inputArea(type, source, count, notebookMime, services, highlighter));
  widget.addWidget(input);
  const outputs = type === 'code' ? (cell as nbformat.ICodeCell).outputs : [];
  if (outputs?.length) {
    const wrapper = panel('jp-Cell-outputWrapper');
    wrapper.addWidget(outputArea(outputs, services));
    widget.addWidget(wrapper);
  }
  return widget;
}

/** The cells of a stored notebook, read-only, built at once. */
function readOnlyNotebook(content: nbformat.INotebookContent, services: IRenderServices): Panel {
  const mime = notebookMimeType(content, services);
  const mimes = new Set([mime]);
  if (content.cells.some(cell => cell.cell_type !== 'code')) {
    mimes.add(cellMimeType('markdown', mime));
  }
  const highlighter = new Highlighter(languageRegistry(services), mimes);
  const notebook = panel('jp-bookstore-readOnlyNotebook');
  notebook.node.tabIndex = 0;
  notebook.node.setAttribute('role', 'document');
  notebook.node.setAttribute('aria-label', 'Cells of the version, read-only');
  const fill = () => {
    for (const cell of content.cells) {
      notebook.addWidget(readOnlyCell(cell, mime, services, highlighter));
    }
  };
  fill();
  if (!highlighter.complete) {
    // A language used for the first time in this page: highlight once it is loaded.
    void highlighter.ready().then(loaded => {
      if (loaded && !notebook.isDisposed) {
        for (const widget of [...notebook.widgets]) {
          widget.dispose();
        }
        fill();
      }
    });
  }
  return notebook;
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
    const notebook = model.content as unknown as nbformat.INotebookContent;
    content.addWidget(readOnlyNotebook(notebook, services));
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

// -- the diff view --------------------------------------------------------------------

/** A button of a diff view's toolbar. */
export interface IDiffAction {
  /** `data-action` of the button ("open", "restore"). */
  action: string;
  label: string;
  title: string;
  /** A consequential action (styled as a warning). */
  warn?: boolean;
  onClick(): void | Promise<void>;
}

/** What a diff view shows and how it gets another diff. */
export interface IDiffViewOptions {
  id: string;
  title: string;
  caption?: string;
  /** Fetch the diff again with other options (the toggles refetch through this). */
  fetch(options: DiffOptions): Promise<Diff>;
  /** The toggles to start with (runs pass `{hide: ['papermill']}`). */
  options?: DiffOptions;
  /** Buttons in the header: `<button data-action=…>`. */
  actions?: IDiffAction[];
}

type HideWord = NonNullable<DiffOptions['hide']>[number];

/** The toggles of the header, in order: what each hides. */
const TOGGLES: { word: HideWord | 'only-outputs'; label: string }[] = [
  { word: 'outputs', label: 'Hide outputs' },
  { word: 'metadata', label: 'Hide metadata' },
  { word: 'execution_count', label: 'Hide execution counts' },
  { word: 'papermill', label: "Hide papermill's metadata" },
  { word: 'only-outputs', label: 'Outputs only' }
];

/** What the summary line says is not compared. */
const HIDDEN_TEXT: Record<HideWord, string> = {
  outputs: 'outputs',
  metadata: 'metadata',
  execution_count: 'execution counts',
  papermill: "papermill's metadata"
};

/** Options in a canonical form (sorted, without duplicates; `hide=outputs` dropped with
 * `only=outputs`, as the server does). */
function normalOptions(options: DiffOptions | undefined): DiffOptions {
  const only = options?.only === 'outputs' ? 'outputs' : undefined;
  const hide = Array.from(new Set(options?.hide ?? []))
    .filter(word => !(only && word === 'outputs'))
    .sort() as HideWord[];
  return { ...(hide.length ? { hide } : {}), ...(only ? { only } : {}) };
}

/** The cells of one diff, built at once from nbdime's model. */
class DiffBody extends Panel {
  constructor(
    private readonly diff: Diff,
    private readonly services: IRenderServices,
    private readonly options: DiffOptions
  ) {
    super();
    this.addClass('jp-bookstore-diffBody');
    const base = diff.base_notebook as unknown as nbformat.INotebookContent | null;
    if (!base) {
      return;
    }
    this.model = new NotebookDiffModel(base, diff.diff as IDiffEntry[]);
    this.notebookMime = notebookMimeType(base, services);
    const mimes = new Set([this.notebookMime, 'application/json']);
    if (this.model.cells.some(cell => cell.cellType === 'markdown')) {
      mimes.add(cellMimeType('markdown', this.notebookMime));
    }
    this.highlighter = new Highlighter(languageRegistry(services), mimes);
    this.fill();
    if (!this.highlighter.complete) {
      void this.highlighter.ready().then(loaded => {
        if (loaded && !this.isDisposed) {
          for (const widget of [...this.widgets]) {
            widget.dispose();
          }
          this.fill();
          this.rendered();
        }
      });
    }
  }

  /** Called when the cells are (re)built. */
  rendered: () => void = () => undefined;

  private fill(): void {
    const model = this.model!;
    if (model.metadata && !model.metadata.unchanged && !this.hidden('metadata')) {
      this.addWidget(
        this.lazyDetails('Notebook metadata changed', 'jp-bookstore-notebookMetadata', () =>
          sideBySideText(model.metadata!, 'application/json', this.highlighter!)
        )
      );
    }
    for (const chunk of model.chunkedCells) {
      if (chunk.length === 1 && !(chunk[0].added || chunk[0].deleted)) {
        this.addWidget(this.cell(chunk[0]));
        continue;
      }
      // Cells removed (left) and added (right) at the same place, side by side.
      const pair = panel('jp-bookstore-cellPair');
      const left = panel('jp-bookstore-cellColumn');
      const right = panel('jp-bookstore-cellColumn');
      for (const cell of chunk) {
        (cell.deleted ? left : right).addWidget(this.cell(cell));
      }
      for (const column of [left, right]) {
        if (!column.widgets.length) {
          column.addClass('jp-mod-empty');
        }
      }
      pair.addWidget(left);
      pair.addWidget(right);
      this.addWidget(pair);
    }
  }

  private hidden(word: HideWord): boolean {
    if (word !== 'outputs' && this.options.only === 'outputs') {
      return word !== 'papermill' || !!this.options.hide?.includes('papermill');
    }
    return !!this.options.hide?.includes(word);
  }

  private get sideLabels(): [string, string] {
    return [`Before: ${sideLabel(this.diff.base)}`, `After: ${sideLabel(this.diff.remote)}`];
  }

  /** One cell: its state class, prompts, source, metadata and outputs. */
  private cell(model: CellDiffModel): Panel {
    const widget = panel(CELLDIFF_CLASS);
    widget.node.dataset.cellType = model.cellType;
    const mime = cellMimeType(model.cellType, this.notebookMime);
    const counts = model.executionCount;
    if (model.added || model.deleted) {
      const state = model.added ? 'added' : 'deleted';
      widget.addClass(model.added ? ADDED_DIFF_CLASS : DELETED_DIFF_CLASS);
      const source = (model.added ? model.source.remote : model.source.base) ?? '';
      const label = model.added ? 'Cell added' : 'Cell removed';
      const count = counts ? (model.added ? counts.remote : counts.base) : undefined;
      const header = el('div', 'jp-bookstore-cellHeader');
      header.appendChild(el('span', 'jp-bookstore-cellState', label));
      if (model.cellType === 'code' && !this.hidden('execution_count')) {
        header.appendChild(el('span', 'jp-InputPrompt', `In [${count ?? ' '}]:`));
      }
      widget.addWidget(widgetOf(header));
      widget.addWidget(widgetOf(oneSideText(source, mime, this.highlighter!, state)));
      const outputs = (model.outputs ?? [])
        .map(o => (model.added ? o.remote : o.base))
        .filter((o): o is nbformat.IOutput => !!o);
      if (outputs.length && !this.hidden('outputs')) {
        widget.addWidget(outputArea(outputs, this.services));
      }
      return widget;
    }
    if (model.unchanged) {
      widget.addClass(UNCHANGED_DIFF_CLASS);
      const count = this.hidden('execution_count') ? undefined : (counts?.base as number | null);
      const source = model.source.base ?? '';
      const input = inputArea(
        model.cellType,
        source,
        count,
        this.notebookMime,
        this.services,
        this.highlighter!
      );
      widget.addWidget(input);
      return widget;
    }
    widget.addClass(TWOWAY_DIFF_CLASS);
    if (model.cellType === 'code' && counts && !this.hidden('execution_count')) {
      const header = el('div', 'jp-bookstore-sideBySide jp-bookstore-cellHeader');
      const changed = counts.base !== counts.remote ? ' jp-mod-changed' : '';
      header.append(
        el('span', `jp-InputPrompt jp-mod-base${changed}`, `In [${counts.base ?? ' '}]:`),
        el('span', `jp-InputPrompt jp-mod-remote${changed}`, `In [${counts.remote ?? ' '}]:`)
      );
      widget.addWidget(widgetOf(header));
    }
    if (model.source.unchanged) {
      // Only outputs or metadata changed: the source once, for context.
      const source = el('div', 'jp-bookstore-sameSource');
      source.appendChild(codeBlock(model.source.base ?? '', mime, this.highlighter!));
      widget.addWidget(widgetOf(source));
    } else {
      const source = sideBySideText(model.source, mime, this.highlighter!, 'jp-bookstore-source');
      widget.addWidget(widgetOf(source));
    }
    if (!model.metadata.unchanged && !this.hidden('metadata')) {
      widget.addWidget(
        this.lazyDetails('Cell metadata changed', 'jp-bookstore-cellMetadata', () =>
          sideBySideText(model.metadata, 'application/json', this.highlighter!)
        )
      );
    }
    if (model.outputs?.length && !this.hidden('outputs')) {
      widget.addWidget(this.outputs(model));
    }
    return widget;
  }

  /** The outputs of a changed cell: unchanged ones once (collapsed when none changed),
   * changed ones side by side, added ones on the right, removed ones on the left. */
  private outputs(cell: CellDiffModel): Widget {
    const chunks = cell.getChunkedOutputs() ?? [];
    const changed = chunks.some(chunk => chunk.length > 1 || !chunk[0].unchanged);
    if (!changed) {
      const count = cell.outputs?.length ?? 0;
      return this.lazyDetails(
        `Outputs unchanged (${count})`,
        'jp-bookstore-outputsUnchanged',
        () => outputArea(cell.outputs!.map(o => o.base!), this.services)
      );
    }
    const container = panel('jp-bookstore-outputs');
    for (const chunk of chunks) {
      if (chunk.length === 1 && chunk[0].unchanged) {
        const same = panel('jp-bookstore-outputSame');
        same.addWidget(outputArea([chunk[0].base!], this.services));
        container.addWidget(same);
      } else if (chunk.length === 1 && !chunk[0].added && !chunk[0].deleted) {
        container.addWidget(this.changedOutput(chunk[0]));
      } else {
        // Outputs removed and added at the same place (a new image is often both, and so
        // is a text nbdime finds too different to patch).
        const removed = chunk.filter(o => o.deleted).map(o => o.base!);
        const added = chunk.filter(o => o.added).map(o => o.remote!);
        const both = removed.length > 0 && added.length > 0;
        const texts = removed.length === 1 && added.length === 1
          ? [outputText(removed[0], this.services), outputText(added[0], this.services)]
          : [null, null];
        if (texts[0] !== null && texts[1] !== null) {
          container.addWidget(
            widgetOf(
              sideBySideText(
                { base: texts[0], remote: texts[1] },
                'text/plain',
                this.highlighter!,
                'jp-bookstore-outputText'
              )
            )
          );
          continue;
        }
        const pair = this.outputPair(
          removed.length ? outputArea(removed, this.services) : null,
          added.length ? outputArea(added, this.services) : null,
          both ? this.sideLabels : ['Output removed', 'Output added']
        );
        if (both) {
          pair.addClass('jp-bookstore-outputCompare');
        }
        container.addWidget(pair);
      }
    }
    return container;
  }

  /** One changed output: text as aligned lines, anything else (images, HTML) rendered
   * side by side. */
  private changedOutput(model: OutputDiffModel): Widget {
    const key = textKey(model, this.services);
    if (key) {
      const text = model.stringify(key);
      return widgetOf(
        sideBySideText(text, 'text/plain', this.highlighter!, 'jp-bookstore-outputText')
      );
    }
    const base = model.base as nbformat.IOutput;
    const remote = model.remote as nbformat.IOutput;
    const pair = this.outputPair(
      outputArea([base], this.services),
      outputArea([remote], this.services),
      this.sideLabels
    );
    pair.addClass('jp-bookstore-outputCompare');
    return pair;
  }

  /** Two outputs next to each other, each in a labelled figure (null: nothing there). */
  private outputPair(left: Widget | null, right: Widget | null, labels: [string, string]): Panel {
    const pair = panel('jp-bookstore-sideBySide');
    const sides: [Widget | null, string, string][] = [
      [left, labels[0], 'jp-mod-base'],
      [right, labels[1], 'jp-mod-remote']
    ];
    for (const [content, label, side] of sides) {
      const figure = new NodePanel(el('figure'));
      figure.addClass('jp-bookstore-outputSide');
      figure.addClass(side);
      if (content) {
        const caption = el('figcaption', '', label);
        caption.title = label;
        figure.addWidget(widgetOf(caption));
        figure.addWidget(content);
      } else {
        figure.addClass('jp-mod-empty');
      }
      pair.addWidget(figure);
    }
    return pair;
  }

  /** A collapsed `<details>` whose content is made the first time it is opened. */
  private lazyDetails(
    summary: string,
    className: string,
    make: () => HTMLElement | Widget
  ): Widget {
    const details = new NodePanel(el('details'));
    details.addClass('jp-bookstore-details');
    details.addClass(className);
    details.addWidget(widgetOf(el('summary', '', summary)));
    details.node.addEventListener('toggle', () => {
      if ((details.node as HTMLDetailsElement).open && details.widgets.length === 1) {
        const made = make();
        details.addWidget(made instanceof Widget ? made : widgetOf(made));
      }
    });
    return details;
  }

  private model: NotebookDiffModel | null = null;
  private notebookMime = 'text/x-python';
  private highlighter: Highlighter | null = null;
}

/** A diff view: a header (the sides, the summary, toggles, actions) over the cells. */
export class DiffPanel extends Panel {
  constructor(
    diff: Diff,
    private readonly services: IRenderServices,
    private readonly viewOptions: IDiffViewOptions
  ) {
    super();
    this.addClass(DIFF_VIEW_CLASS);
    this._options = normalOptions(viewOptions.options);
    this._showPapermill = !!this._options.hide?.includes('papermill');

    const header = el('div', 'jp-bookstore-diffHeader');
    const top = el('div', 'jp-bookstore-diffTop');
    this._actionBar.className = 'jp-bookstore-diffActions';
    this._actionBar.setAttribute('role', 'toolbar');
    this._actionBar.setAttribute('aria-label', 'Actions on this version');
    top.append(this._summary, this._actionBar);
    this._summary.className = 'jp-bookstore-diffSummary';
    this._summary.setAttribute('role', 'status');
    this._error.className = 'jp-bookstore-error jp-bookstore-diffError';
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    header.append(top, this.toggles(), this._error, this._sides);
    this._sides.className = 'jp-bookstore-diffSides';
    this._base.className = 'jp-bookstore-diffBase';
    this._remote.className = 'jp-bookstore-diffRemote';
    this._sides.append(this._base, this._remote);
    this.addWidget(widgetOf(header));

    this._scroller.addClass('jp-bookstore-diffScroller');
    // nbdime's class for its diff UIs (its styles, where installed, key on it).
    this._scroller.addClass('nbdime-root');
    this._scroller.addClass('jp-mod-hideUnchanged');
    this._scroller.node.tabIndex = 0;
    this.addWidget(this._scroller);

    this.setTitle(viewOptions.title, viewOptions.caption);
    this.setActions(viewOptions.actions ?? []);
    this.setDiff(diff);
  }

  /** The toggles as they are now (what a diff of another version should be asked with). */
  get diffOptions(): DiffOptions {
    return normalOptions(this._options);
  }

  /** Show `diff` in place of the one shown (the toggles stay). */
  setDiff(diff: Diff): void {
    this._sequence += 1;
    this._error.hidden = true;
    this._scroller.node.removeAttribute('aria-busy');
    const shown = diff.options as Diff['options'] | undefined;
    if (shown) {
      // The server says what it filtered: the toggles follow.
      this._options = normalOptions({
        hide: shown.hide ?? [],
        only: shown.only === 'outputs' ? 'outputs' : undefined
      });
    }
    this.syncToggles();
    this.node.dataset.bookstoreBase = diff.base.current ? 'current' : (diff.base.id ?? '');
    this.node.dataset.bookstoreRemote = diff.remote.current ? 'current' : (diff.remote.id ?? '');
    this._base.textContent = sideLabel(diff.base);
    this._remote.textContent = sideLabel(diff.remote);
    const hidden = (this._options.hide ?? []).map(word => HIDDEN_TEXT[word]);
    const scope =
      this._options.only === 'outputs'
        ? ' Outputs only.'
        : hidden.length
          ? ` Not compared: ${hidden.join(', ')}.`
          : '';
    this._summary.textContent = `${diff.summary.text}.${scope}`.replace(/\.\./g, '.');
    this._scroller.node.setAttribute('aria-label', `Differences: ${diff.summary.text}`);

    const old = this._body;
    this._body = new DiffBody(diff, this.services, this._options);
    this._body.rendered = () => markHiddenRuns(this._scroller.node);
    this._scroller.addWidget(this._body);
    old?.dispose();
    markHiddenRuns(this._scroller.node);
    this._scroller.node.scrollTop = 0;
  }

  /** The buttons of the header. */
  setActions(actions: IDiffAction[]): void {
    this._actionBar.replaceChildren(
      ...actions.map(action => {
        const button = el('button', 'jp-bookstore-diffAction', action.label);
        button.type = 'button';
        button.dataset.action = action.action;
        button.title = action.title;
        if (action.warn) {
          button.classList.add('jp-mod-warn');
        }
        button.onclick = async () => {
          button.disabled = true;
          try {
            await action.onClick();
          } finally {
            button.disabled = false;
          }
        };
        return button;
      })
    );
    this._actionBar.hidden = !actions.length;
  }

  /** The tab's label and tooltip (the main-area widget mirrors them). */
  setTitle(title: string, caption?: string): void {
    this.title.label = title;
    this.title.caption = caption ?? title;
  }

  /** The checkboxes of the header. */
  private toggles(): HTMLElement {
    const set = el('fieldset', 'jp-bookstore-diffToggles');
    set.appendChild(el('legend', 'jp-bookstore-diffTogglesLegend', 'What the diff shows'));
    const unchanged = this.checkbox('unchanged', 'Hide unchanged cells');
    unchanged.checked = true;
    unchanged.onchange = () =>
      this._scroller.toggleClass('jp-mod-hideUnchanged', unchanged.checked);
    set.appendChild(unchanged.parentElement!);
    for (const toggle of TOGGLES) {
      const box = this.checkbox(toggle.word, toggle.label);
      box.onchange = () => this.toggled(toggle.word, box.checked);
      this._boxes.set(toggle.word, box);
      set.appendChild(box.parentElement!);
    }
    return set;
  }

  private checkbox(name: string, label: string): HTMLInputElement {
    const wrapper = el('label', 'jp-bookstore-diffToggle');
    const box = el('input');
    box.type = 'checkbox';
    box.name = name;
    box.dataset.toggle = name;
    wrapper.append(box, ` ${label}`);
    return box;
  }

  /** The checkboxes as the options say. */
  private syncToggles(): void {
    const only = this._options.only === 'outputs';
    const hide = new Set(this._options.hide ?? []);
    this._showPapermill = this._showPapermill || hide.has('papermill');
    for (const [word, box] of this._boxes) {
      if (word === 'only-outputs') {
        box.checked = only;
        continue;
      }
      // Outputs only leaves out sources, metadata and counts (shown checked) and cannot
      // hide outputs: those toggles do not apply meanwhile.
      const implied = only && word !== 'papermill';
      box.disabled = implied;
      box.checked = implied ? word !== 'outputs' : hide.has(word);
      if (word === 'papermill') {
        box.parentElement!.hidden = !this._showPapermill;
      }
    }
  }

  /** The toggle of `word` changed: fetch the diff with the new options. */
  private toggled(word: HideWord | 'only-outputs', checked: boolean): void {
    const hide = new Set(this._options.hide ?? []);
    let only = this._options.only === 'outputs';
    if (word === 'only-outputs') {
      only = checked;
    } else if (checked) {
      hide.add(word);
    } else {
      hide.delete(word);
    }
    const previous = this._options;
    this._options = normalOptions({ hide: [...hide], only: only ? 'outputs' : undefined });
    this.syncToggles();
    const sequence = ++this._sequence;
    this._scroller.node.setAttribute('aria-busy', 'true');
    this._error.hidden = true;
    this.viewOptions.fetch(this.diffOptions).then(
      diff => {
        if (sequence === this._sequence && !this.isDisposed) {
          this.setDiff(diff);
        }
      },
      error => {
        if (sequence !== this._sequence || this.isDisposed) {
          return;
        }
        this._scroller.node.removeAttribute('aria-busy');
        this._options = previous;
        this.syncToggles();
        this._error.textContent = `Could not show the diff with these options: ${
          error instanceof Error ? error.message : String(error)
        }`;
        this._error.hidden = false;
      }
    );
  }

  private _body: DiffBody | null = null;
  private _options: DiffOptions;
  private _showPapermill: boolean;
  private _sequence = 0;
  private readonly _boxes = new Map<HideWord | 'only-outputs', HTMLInputElement>();
  private readonly _scroller = new Panel();
  private readonly _summary = el('p');
  private readonly _error = el('p');
  private readonly _actionBar = el('div');
  private readonly _sides = el('div');
  private readonly _base = el('span');
  private readonly _remote = el('span');
}

/** The diff view of `diff` in a main-area widget. */
export function diffView(
  diff: Diff,
  services: IRenderServices,
  options: IDiffViewOptions
): MainAreaWidget<DiffPanel> {
  const content = new DiffPanel(diff, services, options);
  const view = new MainAreaWidget({ content });
  view.id = options.id;
  view.title.label = options.title;
  view.title.caption =
    options.caption ?? `${diff.path}: ${sideLabel(diff.base)} → ${sideLabel(diff.remote)}`;
  view.title.closable = true;
  return view;
}

/** Say how many unchanged cells are hidden before each shown cell (and after the last). */
function markHiddenRuns(root: HTMLElement): void {
  root.removeAttribute('data-bookstore-all-hidden');
  const cells = Array.from(root.querySelectorAll(`.${CELLDIFF_CLASS}`));
  let hidden = 0;
  let lastShown: Element | null = null;
  for (const cell of cells) {
    cell.removeAttribute('data-bookstore-hidden-before');
    cell.removeAttribute('data-bookstore-hidden-after');
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

/**
 * Labelled form fields for the dialogs (plain DOM: every control has a visible label that
 * screen readers announce), and a dialog that keeps its input when the server refuses it.
 */
import { Dialog } from '@jupyterlab/apputils';
import type { Widget } from '@lumino/widgets';

let counter = 0;

/** `control` under its `<label>`, in a `div.jp-bookstore-field`, with optional help text. */
export function labelled<T extends HTMLInputElement | HTMLSelectElement>(
  label: string,
  control: T,
  name: string,
  help?: string
): { row: HTMLDivElement; control: T } {
  control.id = `jp-bookstore-field-${++counter}`;
  control.name = name;
  control.className = 'jp-mod-styled';
  const row = document.createElement('div');
  row.className = 'jp-bookstore-field';
  const labelNode = document.createElement('label');
  labelNode.htmlFor = control.id;
  labelNode.textContent = label;
  row.append(labelNode, control);
  if (help) {
    const helpNode = document.createElement('div');
    helpNode.className = 'jp-bookstore-help';
    helpNode.id = `${control.id}-help`;
    helpNode.textContent = help;
    control.setAttribute('aria-describedby', helpNode.id);
    row.append(helpNode);
  }
  return { row, control };
}

/** A labelled text `<input>`. */
export function textField(
  label: string,
  options: { value?: string; placeholder?: string; help?: string; name: string }
): { row: HTMLDivElement; input: HTMLInputElement } {
  const input = document.createElement('input');
  input.type = 'text';
  input.value = options.value ?? '';
  input.placeholder = options.placeholder ?? '';
  input.spellcheck = false;
  const { row } = labelled(label, input, options.name, options.help);
  return { row, input };
}

/** A labelled `<select>`. */
export function selectField(
  label: string,
  options: { name: string; choices: { value: string; text: string }[] }
): { row: HTMLDivElement; select: HTMLSelectElement } {
  const select = document.createElement('select');
  for (const choice of options.choices) {
    const option = document.createElement('option');
    option.value = choice.value;
    option.textContent = choice.text;
    select.append(option);
  }
  const { row } = labelled(label, select, options.name);
  return { row, select };
}

/** A paragraph announced when it changes. */
export function statusLine(text = ''): HTMLParagraphElement {
  const node = document.createElement('p');
  node.className = 'jp-bookstore-status';
  node.setAttribute('role', 'status');
  node.textContent = text;
  return node;
}

/** A dialog body that gives its value and shows a refusal next to the right field. */
export interface ISubmitBody<T> extends Widget {
  getValue(): T;
  /** Show why `submit` failed (the dialog stays open with everything typed). */
  showError(error: unknown): void;
}

/** What {@link showSubmitDialog} shows and does. */
export interface ISubmitDialogOptions<T, R> {
  title: string;
  body: ISubmitBody<T>;
  /** The label of the button that submits (e.g. "Run"). */
  acceptLabel: string;
  /** Send the value; a rejection keeps the dialog open and goes to `body.showError`. */
  submit(value: T): Promise<R>;
}

/** A dialog that closes only once `submit` succeeded (or on Cancel / Escape). */
class SubmitDialog<T, R> extends Dialog<T> {
  constructor(private readonly _options: ISubmitDialogOptions<T, R>) {
    super({
      title: _options.title,
      body: _options.body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: _options.acceptLabel })],
      defaultButton: SubmitDialog.ACCEPT,
      focusNodeSelector: 'input, select, textarea'
    });
    this.addClass('jp-bookstore-submitDialog');
  }

  /** What `submit` answered; null until it succeeded. */
  result: R | null = null;

  /** Cancel closes at once; the accept button (or Enter) submits first. */
  resolve(index?: number): void {
    const chosen = index ?? SubmitDialog.ACCEPT;
    if (chosen !== SubmitDialog.ACCEPT) {
      super.resolve(chosen);
      return;
    }
    if (this._busy) {
      return;
    }
    this._setBusy(true);
    let value: T;
    try {
      value = this._options.body.getValue();
    } catch (error) {
      this._options.body.showError(error);
      this._setBusy(false);
      return;
    }
    this._options.submit(value).then(
      result => {
        this.result = result;
        this._setBusy(false);
        super.resolve(chosen);
      },
      error => {
        this._options.body.showError(error);
        this._setBusy(false);
      }
    );
  }

  private _setBusy(busy: boolean): void {
    this._busy = busy;
    this.node.setAttribute('aria-busy', String(busy));
    const accept = this.node.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    if (accept) {
      accept.disabled = busy;
    }
  }

  private _busy = false;
  static readonly ACCEPT = 1;
}

/**
 * Show `options.body` with Cancel and `acceptLabel`; the accept button (or Enter) calls
 * `submit` with the body's value and closes only when it succeeds, so a refusal (shown by
 * the body) never loses what was typed. Resolves with `submit`'s answer, null on Cancel.
 */
export async function showSubmitDialog<T, R>(options: ISubmitDialogOptions<T, R>): Promise<R | null> {
  const dialog = new SubmitDialog<T, R>(options);
  const choice = await dialog.launch();
  return choice.button.accept ? dialog.result : null;
}

/** A labelled `<input type="number">` (read its `.value`; `step` is "any" unless given,
 * "1" for whole numbers). No `min`/`max`: a value out of range is the server's to refuse,
 * with a message, rather than an accept button the dialog disables without saying why. */
export function numberField(
  label: string,
  options: { name: string; value?: string; placeholder?: string; help?: string; step?: string }
): { row: HTMLDivElement; input: HTMLInputElement } {
  const input = document.createElement('input');
  input.type = 'number';
  input.step = options.step ?? 'any';
  input.inputMode = input.step === '1' ? 'numeric' : 'decimal';
  input.value = options.value ?? '';
  input.placeholder = options.placeholder ?? '';
  const { row } = labelled(label, input, options.name, options.help);
  return { row, input };
}

/** A checkbox followed by its `<label>`, in a `div.jp-bookstore-check`. */
export function checkboxField(
  label: string,
  options: { name: string; checked?: boolean; help?: string }
): { row: HTMLDivElement; input: HTMLInputElement } {
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.checked = !!options.checked;
  const { row } = labelled(label, input, options.name, options.help);
  input.className = '';
  row.className = 'jp-bookstore-check';
  row.prepend(input); // the box before its label
  return { row, input };
}

/**
 * Labelled form fields for the dialogs (plain DOM: every control has a visible label that
 * screen readers announce), and a dialog that keeps its input when the server refuses it.
 */
import { Dialog } from '@jupyterlab/apputils';
import type { Widget } from '@lumino/widgets';

let counter = 0;

/** `control` under its `<label>`, in a `div.jp-bookstore-field`, with optional help text. */
export function labelled<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
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
  /** More buttons that submit too, shown between Cancel and the accept button; `submit`
   * is told which one was chosen (by its `actions`). */
  extraButtons?: Dialog.IButton[];
  /** Send the value; a rejection keeps the dialog open and goes to `body.showError`.
   * `button` is the button chosen (the accept button, or one of `extraButtons`). */
  submit(value: T, button: Dialog.IButton): Promise<R>;
}

/** A dialog that closes only once `submit` succeeded (or on Cancel / Escape). */
class SubmitDialog<T, R> extends Dialog<T> {
  constructor(private readonly _options: ISubmitDialogOptions<T, R>) {
    const buttons = [
      Dialog.cancelButton(),
      ...(_options.extraButtons ?? []),
      Dialog.okButton({ label: _options.acceptLabel })
    ];
    super({
      title: _options.title,
      body: _options.body,
      buttons,
      defaultButton: buttons.length - 1,
      focusNodeSelector: 'input, select, textarea'
    });
    this._choices = buttons;
    this.addClass('jp-bookstore-submitDialog');
  }

  /** What `submit` answered; null until it succeeded. */
  result: R | null = null;

  /** Cancel closes at once; any other button (or Enter: the accept button) submits first. */
  resolve(index?: number): void {
    const chosen = index ?? this._choices.length - 1;
    if (chosen === 0) {
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
    this._options.submit(value, this._choices[chosen]).then(
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
    for (const button of this.node.querySelectorAll<HTMLButtonElement>(
      '.jp-Dialog-button:not(.jp-mod-reject)'
    )) {
      button.disabled = busy;
    }
  }

  private readonly _choices: Dialog.IButton[];
  private _busy = false;
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

/** A paragraph for a refusal that no single field explains (`role="alert"`, hidden while
 * empty). */
export function errorLine(): HTMLParagraphElement {
  const node = document.createElement('p');
  node.className = 'jp-bookstore-formError';
  node.setAttribute('role', 'alert');
  node.hidden = true;
  return node;
}

/** Show `message` in an {@link errorLine} (null hides it). */
export function setErrorLine(node: HTMLParagraphElement, message: string | null): void {
  node.textContent = message ?? '';
  node.hidden = !message;
}

/** A labelled `<textarea>`. */
export function textAreaField(
  label: string,
  options: { name: string; value?: string; placeholder?: string; help?: string; rows?: number }
): { row: HTMLDivElement; input: HTMLTextAreaElement } {
  const input = document.createElement('textarea');
  input.rows = options.rows ?? 3;
  input.value = options.value ?? '';
  input.placeholder = options.placeholder ?? '';
  const { row } = labelled(label, input, options.name, options.help);
  return { row, input };
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

/**
 * Labelled form fields for the dialogs (plain DOM: every control has a visible label that
 * screen readers announce).
 */
let counter = 0;

/** `control` under its `<label>`, in a `div.jp-bookstore-field`, with optional help text. */
function labelled<T extends HTMLInputElement | HTMLSelectElement>(
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

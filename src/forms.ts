/**
 * Labelled form fields for the dialogs (plain DOM: every input has a visible label that
 * screen readers announce).
 */
let counter = 0;

/** A `<label>` + `<input>` pair inside a `div.jp-bookstore-field`. */
export function textField(
  label: string,
  options: { value?: string; placeholder?: string; help?: string; name: string }
): { row: HTMLDivElement; input: HTMLInputElement } {
  const id = `jp-bookstore-field-${++counter}`;
  const row = document.createElement('div');
  row.className = 'jp-bookstore-field';
  const labelNode = document.createElement('label');
  labelNode.htmlFor = id;
  labelNode.textContent = label;
  const input = document.createElement('input');
  input.id = id;
  input.name = options.name;
  input.className = 'jp-mod-styled';
  input.type = 'text';
  input.value = options.value ?? '';
  input.placeholder = options.placeholder ?? '';
  input.spellcheck = false;
  row.append(labelNode, input);
  if (options.help) {
    const help = document.createElement('div');
    help.className = 'jp-bookstore-help';
    help.id = `${id}-help`;
    help.textContent = options.help;
    input.setAttribute('aria-describedby', help.id);
    row.append(help);
  }
  return { row, input };
}

/** A `<label>` + `<select>` pair. */
export function selectField(
  label: string,
  options: { name: string; choices: { value: string; text: string }[] }
): { row: HTMLDivElement; select: HTMLSelectElement } {
  const id = `jp-bookstore-field-${++counter}`;
  const row = document.createElement('div');
  row.className = 'jp-bookstore-field';
  const labelNode = document.createElement('label');
  labelNode.htmlFor = id;
  labelNode.textContent = label;
  const select = document.createElement('select');
  select.id = id;
  select.name = options.name;
  select.className = 'jp-mod-styled';
  for (const choice of options.choices) {
    const option = document.createElement('option');
    option.value = choice.value;
    option.textContent = choice.text;
    select.append(option);
  }
  row.append(labelNode, select);
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

/**
 * The Run / Schedule dialog: run a stored version of a notebook now, create a schedule of
 * it, or edit a schedule. One form with two modes ("Run now", "On a schedule"): the
 * notebook's declared parameters, the version, kernel, timeouts and output, the timing of
 * a schedule with a preview of its next fire times, retries and notifications. The
 * server's refusals show under the field they name (`cron: …`, `parameters.region: …`),
 * and nothing typed is ever lost: the dialog closes only once the server accepted.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import type {
  BookstoreAPI,
  DeclaredParameter,
  FireTime,
  NotifyTargetRequest,
  Run,
  RunParameters,
  RunRequest,
  Schedule,
  SchedulePatch,
  ScheduleRequest,
  ScheduleWithLastRun
} from './api';
import { baseName, relativeTime, shortId } from './format';
import {
  checkboxField,
  type ISubmitBody,
  labelled,
  numberField,
  selectField,
  showSubmitDialog,
  statusLine,
  textField
} from './forms';
import { errorMessage } from './notify';

/** What the dialog needs to know. */
export interface IRunDialogOptions {
  api: BookstoreAPI;
  /** The notebook to run. */
  source: { area: 'workspace' | 'published'; path: string };
  /** The open notebook of a workspace source, if any: unsaved changes offer "Save first". */
  panel?: NotebookPanel | null;
  /** Which mode is selected first. */
  mode: 'now' | 'schedule';
  /** Re-run: prefill from this run's settings (parameters, version, kernel, timeouts,
   * output path, retries, notify). */
  fromRun?: Run;
  /** Edit: the schedule to change (PATCH with its revision); the mode is fixed to
   * 'schedule'. */
  schedule?: Schedule | ScheduleWithLastRun;
  /** Kernel choices (name + display name) and the default one. */
  kernels: { default: string; specs: { name: string; display: string }[] };
}

/** What the dialog made: a queued run, or a created (or changed) schedule. */
export type RunDialogResult =
  | { kind: 'run'; run: Run }
  | { kind: 'schedule'; schedule: Schedule; created: boolean };

/** The type of a declared parameter. */
export type ParameterType = DeclaredParameter['type'];
type RetryCause = NonNullable<RunRequest['retry_on']>[number];
type NotifyEvent = NonNullable<NotifyTargetRequest['on']>[number];
type MissedPolicy = Schedule['missed'];
type OverlapPolicy = Schedule['overlap'];
type Mode = IRunDialogOptions['mode'];
/** The optional fields of a run request (the source aside). */
type RunFields = Omit<RunRequest, 'path' | 'published_path'>;
/** The fields of a schedule request (the source aside). */
type ScheduleFields = Omit<ScheduleRequest, 'path' | 'published_path'>;
/** What the form gives the dialog's `submit`. */
type RunDialogValue =
  | { kind: 'run'; body: RunRequest }
  | { kind: 'create'; body: ScheduleRequest }
  | { kind: 'update'; id: string; patch: SchedulePatch };

/** The Repeat choices: a preset and the five fields the server stores it as. */
export const CRON_PRESETS: readonly { value: string; text: string; fields: string }[] = [
  { value: '@hourly', text: 'Hourly', fields: '0 * * * *' },
  { value: '@daily', text: 'Daily', fields: '0 0 * * *' },
  { value: '@weekdays', text: 'Weekdays', fields: '0 0 * * 1-5' },
  { value: '@weekly', text: 'Weekly', fields: '0 0 * * 0' },
  { value: '@monthly', text: 'Monthly', fields: '0 0 1 * *' }
];
/** Presets the server knows besides {@link CRON_PRESETS} (see `timing.PRESETS`). */
const OTHER_PRESETS: Record<string, string> = {
  '@midnight': '0 0 * * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *'
};
const CUSTOM = 'custom';
/** The events of a target whose `on` is left out (`notify.DEFAULT_EVENTS`). */
const DEFAULT_EVENTS: readonly NotifyEvent[] = ['failed', 'lost', 'too_slow'];
/** What is retried when `retry_on` is left out (`service.RUN_DEFAULTS`). */
const DEFAULT_RETRY_ON: readonly RetryCause[] = ['lost'];
/** The server's default `retry_backoff`, seconds. */
const DEFAULT_BACKOFF = 30;
const RETRY_CHOICES: readonly { value: RetryCause; text: string }[] = [
  { value: 'error', text: 'Retry on errors' },
  { value: 'timeout', text: 'Retry on timeouts' },
  { value: 'lost', text: 'Retry on lost runs' }
];
const MISSED_CHOICES: { value: MissedPolicy; text: string }[] = [
  { value: 'skip', text: 'Skip missed runs' },
  { value: 'latest', text: 'Run the latest missed one' },
  { value: 'all', text: 'Run all missed (up to the catch-up limit)' }
];
const OVERLAP_CHOICES: { value: OverlapPolicy; text: string }[] = [
  { value: 'skip', text: 'Skip the new run' },
  { value: 'queue', text: 'Queue it after the running one' },
  { value: 'allow', text: 'Run both at once' },
  { value: 'cancel_previous', text: 'Cancel the running one' }
];
/** The types whose value is typed as JSON. */
const JSON_TYPES: ReadonlySet<ParameterType> = new Set(['list', 'dict', 'none', 'any']);
/** The workspace folder of run outputs (`BookstoreRuns.output_prefix`'s default). */
const OUTPUT_PREFIX = 'runs';
/** How long cron and time zone must stay unchanged before the preview, in ms. */
const PREVIEW_DELAY_MS = 300;
/** After "Save first": how often and how long to wait for the archived version, in ms. */
const SAVE_POLL_MS = 200;
const SAVE_WAIT_MS = 5000;
/** The first-level names a server message may start with (`name: …`). */
const FIELD_ROOTS: ReadonlySet<string> = new Set([
  'path',
  'published_path',
  'version_id',
  'version_policy',
  'parameters',
  'kernel_name',
  'execution_timeout',
  'wall_timeout',
  'slow_after',
  'output_path',
  'max_retries',
  'retry_on',
  'retry_backoff',
  'notify',
  'name',
  'cron',
  'timezone',
  'missed',
  'max_catchup',
  'overlap',
  'paused',
  'revision',
  'count'
]);
/** A fire time's `local`: `2026-03-29T03:00:00+02:00`. */
const LOCAL_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
/** A decimal number as a person types it (no hex, no `Infinity`). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

// -- pure helpers -----------------------------------------------------------------------

/**
 * The field path a server message starts with (`parameters.region: expected int …` →
 * `parameters.region`, `notify[0].email: …` → `notify[0].email`), or null when it names
 * none. Path messages that say "The output_path '…' must be relative" name theirs too.
 */
export function fieldOfError(message: string): string | null {
  const match = /^\s*([A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*)\s*:/.exec(message);
  if (match) {
    const root = /^[A-Za-z_]\w*/.exec(match[1])![0];
    return FIELD_ROOTS.has(root) ? match[1] : null;
  }
  const path = /^(?:The|A|An) (output_path|published_path|path)\b/.exec(message);
  return path ? path[1] : null;
}

/** The text typed for a parameter as its JSON value, or an Error saying what to type.
 * `str` takes the text as it is; `int`/`float` a decimal number; `bool` true or false;
 * `list`, `dict`, `none` and `any` JSON (an array, an object, anything). */
export function parseParameterValue(type: ParameterType, text: string): unknown {
  const trimmed = text.trim();
  switch (type) {
    case 'str':
      return text;
    case 'int': {
      const value = Number(trimmed);
      if (!DECIMAL.test(trimmed) || !Number.isInteger(value)) {
        throw new Error(`Enter a whole number, like 10 (not ${show(text)}).`);
      }
      if (!Number.isSafeInteger(value)) {
        throw new Error(
          `${trimmed} is too large to send exactly; use at most ${Number.MAX_SAFE_INTEGER}.`
        );
      }
      return value;
    }
    case 'float': {
      const value = Number(trimmed);
      if (!DECIMAL.test(trimmed) || !Number.isFinite(value)) {
        throw new Error(`Enter a number, like 0.5 (not ${show(text)}).`);
      }
      return value;
    }
    case 'bool': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === 'false') {
        return lower === 'true';
      }
      throw new Error(`Choose True or False (not ${show(text)}).`);
    }
    default: {
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch (error) {
        throw new Error(`Enter JSON, like ${JSON_EXAMPLES[type]} (${errorMessage(error)}).`);
      }
      if (type === 'list' && !Array.isArray(value)) {
        throw new Error(`Enter a JSON array, like ${JSON_EXAMPLES.list}.`);
      }
      const object = typeof value === 'object' && value !== null && !Array.isArray(value);
      if (type === 'dict' && !object) {
        throw new Error(`Enter a JSON object, like ${JSON_EXAMPLES.dict}.`);
      }
      return value;
    }
  }
}

const JSON_EXAMPLES: Record<ParameterType, string> = {
  int: '10',
  float: '0.5',
  str: '"text"',
  bool: 'true',
  list: '["a", "b"]',
  dict: '{"key": 1}',
  none: 'null or 1',
  any: '1, "text" or [1, 2]'
};

/** A parameter's value as its field shows it (the inverse of {@link parseParameterValue};
 * a bool is "true"/"false", the values of its select). */
export function formatParameterValue(type: ParameterType, value: unknown): string {
  if (type === 'str' && typeof value === 'string') {
    return value;
  }
  if (type === 'bool' && typeof value === 'boolean') {
    return String(value);
  }
  if ((type === 'int' || type === 'float') && typeof value === 'number') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}

/** The help line of a parameter: "str · default "emea" · the sales region". */
export function parameterHelp(parameter: DeclaredParameter): string {
  return (
    `${parameter.type} · default ${parameter.default}` +
    (parameter.help ? ` · ${parameter.help}` : '') +
    (JSON_TYPES.has(parameter.type) ? ' · JSON' : '')
  );
}

/** The Repeat choice of a cron expression: a preset of {@link CRON_PRESETS} (by name or
 * by its five fields), else null (custom). */
export function presetOf(cron: string): string | null {
  const key = normalizeCron(cron);
  const preset = CRON_PRESETS.find(p => p.value === key || p.fields === key);
  return preset?.value ?? (OTHER_PRESETS[key] === '0 0 * * *' ? '@daily' : null);
}

/** `cron` lower-cased, spaces collapsed, a preset as its five fields (to compare two). */
function cronKey(cron: string): string {
  const key = normalizeCron(cron);
  const preset = CRON_PRESETS.find(p => p.value === key);
  return preset?.fields ?? OTHER_PRESETS[key] ?? key;
}

function normalizeCron(cron: string): string {
  return cron.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A schedule name as its output folder (`service._folder_name`): characters other than
 * letters, digits, `-`, `_` and `.` become `-`. */
export function scheduleFolder(name: string): string {
  const cleaned = Array.from(name.trim(), ch => (/[\p{L}\p{N}_.-]/u.test(ch) ? ch : '-'))
    .join('')
    .replace(/^[-.]+|[-.]+$/g, '');
  return cleaned || 'schedule';
}

/** Where the server stores the output when no output path is given. */
export function defaultOutputPath(path: string, scheduleName?: string): string {
  const folder = scheduleName === undefined ? 'adhoc' : scheduleFolder(scheduleName || 'name');
  return `${OUTPUT_PREFIX}/${folder}/${path}`;
}

/** A fire time as a list shows it: the wall-clock time in the schedule's zone with its
 * offset ("Sun, Mar 29, 2026, 03:00 (UTC+02:00)") and the same instant in UTC ("01:00
 * UTC", with the date when the day differs). */
export function formatFireTime(fire: FireTime, locale?: string): { local: string; utc: string } {
  const utc = new Date(fire.utc);
  const match = LOCAL_TIME.exec(fire.local);
  const dayOptions: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC'
  };
  const timeOptions: Intl.DateTimeFormatOptions = {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC'
  };
  const utcTime = `${utc.toLocaleTimeString(locale, timeOptions)} UTC`;
  if (!match) {
    return { local: fire.local, utc: utcTime };
  }
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const wall = new Date(Date.UTC(year, month - 1, day, hour, minute, second || 0));
  const offset = match[7];
  const zone =
    !offset || offset === 'Z'
      ? 'UTC'
      : `UTC${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}`;
  const wallDay = wall.toLocaleDateString(locale, dayOptions);
  const local = `${wallDay}, ${wall.toLocaleTimeString(locale, timeOptions)} (${zone})`;
  const sameDay =
    wall.getUTCDate() === utc.getUTCDate() && wall.getUTCMonth() === utc.getUTCMonth();
  return {
    local,
    utc: sameDay ? utcTime : `${utc.toLocaleDateString(locale, dayOptions)}, ${utcTime}`
  };
}

/** `text` quoted for a message, cut short. */
function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text);
}

function sameSet<T>(a: readonly T[], b: readonly T[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every(item => right.has(item));
}

/** JSON with sorted keys, to compare two values. */
function stableJSON(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0
          )
        )
      : item
  );
}

/** A notify target as a comparable string: kind, address and events. */
function targetKey(target: NotifyTargetRequest): string {
  const kind = target.email !== undefined ? 'email' : 'webhook';
  const on = [...(target.on ?? DEFAULT_EVENTS)].sort();
  return `${kind} ${target.email ?? target.webhook ?? ''} ${on.join(',')}`;
}

/** One idempotency key per dialog (a UUID; random hex where `randomUUID` is missing,
 * outside a secure context). */
function newIdempotencyKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
}

/** The IANA zones the browser knows (none where `Intl.supportedValuesOf` is missing). */
function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    const zones = intl.supportedValuesOf?.('timeZone') ?? [];
    return zones.includes('UTC') ? zones : ['UTC', ...zones];
  } catch {
    return ['UTC'];
  }
}

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => window.setTimeout(resolve, ms));
}

// -- the form ---------------------------------------------------------------------------

/** Client-side refusals of {@link RunForm.getValue}, each naming a field of the form. */
class FormErrors extends Error {
  constructor(readonly problems: { field: string; message: string }[]) {
    super(problems.map(problem => problem.message).join(' '));
  }
}

/** Where a field's error goes: its row, the control marked invalid and the one focused. */
interface ISlot {
  row: HTMLElement;
  control: HTMLElement;
  focus: HTMLElement;
  error: HTMLElement | null;
  /** Who showed the error: a refused submit, the schedule preview or a typed number. */
  origin: 'submit' | 'preview' | 'input' | null;
}

/** A field of a declared parameter. */
interface IParameterField {
  parameter: DeclaredParameter;
  control: HTMLInputElement | HTMLSelectElement;
}

/** The prefilled settings (from a run or a schedule), or none. */
interface IPrefill {
  parameters: Record<string, unknown>;
  pinned: boolean | null;
  versionId: string | null;
  kernel: string | null;
  executionTimeout: number | null;
  wallTimeout: number | null;
  outputPath: string;
  maxRetries: number;
  retryOn: RetryCause[] | null;
  notify: NotifyTargetRequest[];
}

let uniqueId = 0;

/** The dialog's body. */
class RunForm extends Widget implements ISubmitBody<RunDialogValue> {
  constructor(private readonly _options: IRunDialogOptions) {
    super();
    this.addClass('jp-bookstore-form');
    this.addClass('jp-bookstore-runForm');
    const { schedule, fromRun } = _options;
    this._mode = schedule ? 'schedule' : _options.mode;
    this._prefill = prefillOf(schedule ?? fromRun ?? null);
    if (!schedule && this._prefill.outputPath === defaultOutputPath(_options.source.path)) {
      this._prefill.outputPath = ''; // the default of a run now; a schedule has its own
    }
    this._pinnedId = this._prefill.pinned ? this._prefill.versionId : null;
    this._requestedVersion = this._pinnedId;
    this._carried = { ...this._prefill.parameters };

    if (!schedule) {
      this.node.append(this._whenGroup());
    }
    this._scheduleSet = this._scheduleSection();
    this._parameterSet = this._parametersSection();
    this.node.append(
      this._scheduleSet,
      this._parameterSet,
      this._runSection(),
      this._retrySection()
    );
    this._setMode(this._mode);
    void this._loadParameters();
  }

  /** The accept button's label in the current mode. */
  get acceptLabel(): string {
    if (this._options.schedule) {
      return 'Save schedule';
    }
    return this._mode === 'now' ? 'Run' : 'Create schedule';
  }

  /** The request to send; throws {@link FormErrors} for values the server would refuse
   * anyway (clearing the errors shown, as every submit does). */
  getValue(): RunDialogValue {
    this._clearErrors();
    if (this._busy) {
      throw new Error(this._busy);
    }
    const problems: { field: string; message: string }[] = [];
    const refuse = (field: string, message: string) => problems.push({ field, message });

    const parameters: Record<string, unknown> = { ...this._carried };
    for (const [name, field] of this._parameterFields) {
      const text = field.control.value;
      delete parameters[name];
      if (field.control instanceof HTMLInputElement && field.control.validity.badInput) {
        refuse(`parameters.${name}`, `Enter a number for ${name}.`);
        continue;
      }
      if (text === '') {
        continue; // the notebook's default
      }
      try {
        parameters[name] = parseParameterValue(field.parameter.type, text);
      } catch (error) {
        refuse(`parameters.${name}`, errorMessage(error));
      }
    }
    const pinned = this._version.value === 'pinned';
    if (pinned && !this._pinnedId) {
      refuse(
        'version_id',
        'The saved version is not known (its parameters did not load); choose “Latest ' +
          'version at each run”.'
      );
    }
    const number = (input: HTMLInputElement, field: string, integer: boolean): number | null => {
      if (input.disabled) {
        return null;
      }
      const problem = numberProblem(input, integer);
      if (problem) {
        refuse(field, problem);
        return null;
      }
      return input.value.trim() === '' ? null : Number(input.value);
    };
    const executionTimeout = number(this._executionTimeout, 'execution_timeout', false);
    const wallTimeout = number(this._wallTimeout, 'wall_timeout', false);
    const maxRetries = number(this._maxRetries, 'max_retries', true);
    const retryOn = RETRY_CHOICES.filter(choice => this._retryOn.get(choice.value)!.checked).map(
      choice => choice.value
    );
    if ((maxRetries ?? 0) > 0 && !retryOn.length) {
      refuse('retry_on', 'Choose what to retry, or set Retries to 0.');
    }
    const notify = this._notifyTargets();
    const scheduled = this._mode === 'schedule';
    const name = this._name.value.trim();
    if (scheduled && !name) {
      refuse('name', 'A schedule needs a name.');
    }
    const maxCatchup = scheduled ? number(this._maxCatchup, 'max_catchup', true) : null;
    if (problems.length) {
      throw new FormErrors(problems);
    }

    const source =
      this._options.source.area === 'workspace'
        ? { path: this._options.source.path }
        : { published_path: this._options.source.path };
    const kernel = this._kernel.value;
    const outputPath = this._outputPath.value.trim();
    const cron = this._cron.value.trim();
    const timezone = this._timezone.value.trim();
    const missed = this._missed.value as MissedPolicy;
    const overlap = this._overlap.value as OverlapPolicy;
    const schedule = this._options.schedule;

    if (schedule) {
      const patch: SchedulePatch = { revision: schedule.revision };
      if (name !== schedule.name) {
        patch.name = name;
      }
      if (cronKey(cron) !== cronKey(schedule.cron)) {
        patch.cron = cron;
      }
      if (timezone !== schedule.timezone) {
        patch.timezone = timezone;
      }
      if (pinned) {
        const { version_policy: policy, version_id: id } = schedule.source;
        if (policy !== 'pinned' || id !== this._pinnedId) {
          patch.version_policy = 'pinned';
          patch.version_id = this._pinnedId;
        }
      } else if (schedule.source.version_policy !== 'latest') {
        patch.version_policy = 'latest';
      }
      if (stableJSON(parameters) !== stableJSON(schedule.parameters)) {
        patch.parameters = parameters as SchedulePatch['parameters'];
      }
      if (kernel !== schedule.kernel_name) {
        patch.kernel_name = kernel;
      }
      // In a change, an empty timeout (null) means no limit.
      if (executionTimeout !== schedule.execution_timeout) {
        patch.execution_timeout = executionTimeout;
      }
      if (wallTimeout !== schedule.wall_timeout) {
        patch.wall_timeout = wallTimeout;
      }
      // An output path cannot be reset to the default: empty keeps the current one.
      if (outputPath && outputPath !== schedule.output.path) {
        patch.output_path = outputPath;
      }
      if (missed !== schedule.missed) {
        patch.missed = missed;
      }
      if (maxCatchup !== null && maxCatchup !== schedule.max_catchup) {
        patch.max_catchup = maxCatchup;
      }
      if (overlap !== schedule.overlap) {
        patch.overlap = overlap;
      }
      const retries = maxRetries ?? 0;
      if (retries !== schedule.max_retries) {
        patch.max_retries = retries;
      }
      if (retries > 0 && !sameSet(retryOn, schedule.retry_on)) {
        patch.retry_on = retryOn;
      }
      const current = (schedule.notify as NotifyTargetRequest[]).map(targetKey);
      if (current.join('\n') !== notify.map(targetKey).join('\n')) {
        patch.notify = notify;
      }
      return { kind: 'update', id: schedule.id, patch };
    }

    const fields: RunFields = { kernel_name: kernel };
    if (Object.keys(parameters).length) {
      fields.parameters = parameters as RunFields['parameters'];
    }
    if (pinned && this._pinnedId) {
      fields.version_id = this._pinnedId;
    }
    if (executionTimeout !== null) {
      fields.execution_timeout = executionTimeout;
    }
    if (wallTimeout !== null) {
      fields.wall_timeout = wallTimeout;
    }
    if (outputPath) {
      fields.output_path = outputPath;
    }
    if (maxRetries !== null) {
      fields.max_retries = maxRetries;
      if (maxRetries > 0 && (this._retryTouched || !sameSet(retryOn, DEFAULT_RETRY_ON))) {
        fields.retry_on = retryOn;
      }
    }
    if (notify.length) {
      fields.notify = notify;
    }
    const run = this._options.fromRun;
    if (run?.slow_after) {
      fields.slow_after = run.slow_after; // not in the form: a re-run keeps it
    }
    if (run && run.retry_backoff !== DEFAULT_BACKOFF) {
      fields.retry_backoff = run.retry_backoff;
    }
    if (!scheduled) {
      return { kind: 'run', body: { ...source, ...fields } };
    }
    const scheduleFields: ScheduleFields = {
      ...fields,
      name,
      cron,
      timezone,
      version_policy: pinned ? 'pinned' : 'latest'
    };
    if (missed !== 'skip') {
      scheduleFields.missed = missed;
    }
    if (missed === 'all' && maxCatchup !== null) {
      scheduleFields.max_catchup = maxCatchup;
    }
    if (overlap !== 'skip') {
      scheduleFields.overlap = overlap;
    }
    return { kind: 'create', body: { ...source, ...scheduleFields } };
  }

  /** Show a refusal under the field it names (else at the top of the form), mark the
   * control invalid and bring it into view. */
  showError(error: unknown): void {
    if (error instanceof FormErrors) {
      let first: ISlot | null = null;
      for (const problem of error.problems) {
        const slot = this._slotFor(problem.field);
        if (slot) {
          this._setFieldError(slot, problem.message, 'submit');
          first = first ?? slot;
        } else {
          this._setGeneralError(problem.message);
        }
      }
      if (first) {
        this._reveal(first);
      }
      return;
    }
    const message = errorMessage(error);
    const field = fieldOfError(message);
    const slot = field ? this._slotFor(field) : null;
    if (slot) {
      this._setFieldError(slot, message, 'submit');
      this._reveal(slot);
    } else {
      this._setGeneralError(message);
    }
  }

  dispose(): void {
    window.clearTimeout(this._previewTimer);
    super.dispose();
  }

  protected onAfterAttach(): void {
    this._dialog = this.node.closest<HTMLElement>('.jp-Dialog');
    this._dialog?.classList.add('jp-bookstore-runDialog');
    this._updateAccept();
    // After the dialog focused its first input: the checked mode, or the first field.
    requestAnimationFrame(() => {
      const checked = this.node.querySelector<HTMLInputElement>('.jp-bookstore-when input:checked');
      (checked ?? this._name).focus();
    });
  }

  // -- sections -------------------------------------------------------------------------

  private _whenGroup(): HTMLElement {
    const group = document.createElement('div');
    group.className = 'jp-bookstore-when';
    group.setAttribute('role', 'radiogroup');
    group.setAttribute('aria-label', 'When');
    const name = `jp-bookstore-when-${++uniqueId}`;
    for (const [mode, text] of [
      ['now', 'Run now'],
      ['schedule', 'On a schedule']
    ] as const) {
      const label = document.createElement('label');
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = name;
      radio.value = mode;
      radio.checked = mode === this._mode;
      radio.addEventListener('change', () => {
        if (radio.checked) {
          this._setMode(mode);
        }
      });
      label.append(radio, text);
      group.append(label);
    }
    return group;
  }

  private _parametersSection(): HTMLFieldSetElement {
    const set = fieldset('Parameters');
    this._templatesHelp.className = 'jp-bookstore-help';
    this._templatesHelp.textContent =
      'Text parameters may use {{ fire_time }}, {{ date }}, {{ run_id }} and {{ schedule }}, ' +
      'filled in when each run starts.';
    const emptyHelp = document.createElement('div');
    emptyHelp.className = 'jp-bookstore-help';
    emptyHelp.textContent = 'An empty field keeps the notebook’s default.';
    this._parameterStatus.textContent = 'Loading parameters…';
    this._parameterList.className = 'jp-bookstore-runGrid';
    this._carriedNote.className = 'jp-bookstore-help';
    set.append(
      emptyHelp,
      this._templatesHelp,
      this._parameterStatus,
      this._parameterList,
      this._carriedNote
    );
    this._addSlot('parameters', { row: set, control: this._parameterList });
    return set;
  }

  private _runSection(): HTMLFieldSetElement {
    const set = fieldset('Run');
    const prefill = this._prefill;

    const version = selectField('Version', {
      name: 'version',
      choices: [
        { value: 'pinned', text: this._pinnedText() },
        { value: 'latest', text: 'Latest version at each run' }
      ]
    });
    this._version = version.select;
    this._versionTouched = prefill.pinned !== null;
    if (prefill.pinned !== null) {
      this._version.value = prefill.pinned ? 'pinned' : 'latest';
    }
    this._version.addEventListener('change', () => (this._versionTouched = true));
    this._addSlot('version_id', { row: version.row, control: this._version });
    this._slots.set('version_policy', this._slots.get('version_id')!);
    set.append(version.row);

    const panel = this._options.panel;
    if (panel && this._options.source.area === 'workspace' && panel.context.model.dirty) {
      const warning = document.createElement('div');
      warning.className = 'jp-bookstore-saveFirst';
      const text = statusLine('This notebook has unsaved changes: the run uses the last save.');
      text.classList.add('jp-bookstore-warning');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'jp-mod-styled';
      button.textContent = 'Save first';
      button.addEventListener('click', () => void this._saveFirst(panel, warning, text, button));
      warning.append(text, button);
      set.append(warning);
    }

    const grid = document.createElement('div');
    grid.className = 'jp-bookstore-runGrid';
    const kernels = [...this._options.kernels.specs];
    const kernelName = prefill.kernel ?? this._options.kernels.default;
    for (const name of [this._options.kernels.default, kernelName]) {
      if (name && !kernels.some(spec => spec.name === name)) {
        kernels.push({ name, display: name });
      }
    }
    const kernel = selectField('Kernel', {
      name: 'kernel',
      choices: kernels.map(spec => ({ value: spec.name, text: spec.display }))
    });
    this._kernel = kernel.select;
    this._kernel.value = kernelName;
    this._addSlot('kernel_name', { row: kernel.row, control: this._kernel });

    const editing = !!this._options.schedule;
    const timeoutHelp = editing ? 'Empty: no limit' : 'Empty: the server’s default';
    const execution = numberField('Cell timeout (s)', {
      name: 'execution-timeout',
      value: prefill.executionTimeout === null ? '' : String(prefill.executionTimeout),
      help: `Seconds one cell may run. ${timeoutHelp}`
    });
    this._executionTimeout = execution.input;
    this._addSlot('execution_timeout', { row: execution.row, control: execution.input });
    this._watchNumber(execution.input, 'execution_timeout', false);
    const wall = numberField('Run timeout (s)', {
      name: 'wall-timeout',
      value: prefill.wallTimeout === null ? '' : String(prefill.wallTimeout),
      help: `Seconds the whole run may take. ${timeoutHelp}`
    });
    this._wallTimeout = wall.input;
    this._addSlot('wall_timeout', { row: wall.row, control: wall.input });
    this._watchNumber(wall.input, 'wall_timeout', false);
    grid.append(kernel.row, execution.row, wall.row);

    const output = textField('Output path', {
      name: 'output-path',
      value: prefill.outputPath,
      help: 'Where the executed notebook is stored as a version in your workspace'
    });
    this._outputPath = output.input;
    output.row.classList.add('jp-mod-wide');
    this._addSlot('output_path', { row: output.row, control: output.input });
    grid.append(output.row);
    set.append(grid);
    return set;
  }

  private _scheduleSection(): HTMLFieldSetElement {
    const set = fieldset('Schedule');
    const schedule = this._options.schedule;
    const grid = document.createElement('div');
    grid.className = 'jp-bookstore-runGrid';

    const name = textField('Schedule name', {
      name: 'schedule-name',
      value: schedule?.name ?? baseName(this._options.source.path).replace(/\.ipynb$/i, ''),
      help: 'Shown in the Schedules list; names the output folder'
    });
    this._name = name.input;
    this._name.addEventListener('input', () => this._updateOutputPlaceholder());
    this._addSlot('name', { row: name.row, control: name.input });

    const cronValue = schedule?.cron ?? '@daily';
    const repeat = selectField('Repeat', {
      name: 'repeat',
      choices: [
        ...CRON_PRESETS.map(preset => ({ value: preset.value, text: preset.text })),
        { value: CUSTOM, text: 'Custom (cron)' }
      ]
    });
    this._repeat = repeat.select;
    this._repeat.value = presetOf(cronValue) ?? CUSTOM;

    const cron = textField('Cron expression', {
      name: 'cron',
      value: cronValue,
      placeholder: 'minute hour day month weekday, e.g. 0 6 * * 1-5',
      help: 'Five fields (minute hour day-of-month month day-of-week) or a preset like @daily'
    });
    this._cron = cron.input;
    this._addSlot('cron', { row: cron.row, control: cron.input });
    this._repeat.addEventListener('change', () => {
      if (this._repeat.value !== CUSTOM) {
        this._cron.value = this._repeat.value;
        this._schedulePreview();
      } else {
        this._cron.focus();
      }
    });
    this._cron.addEventListener('input', () => {
      this._repeat.value = presetOf(this._cron.value) ?? CUSTOM;
      this._schedulePreview();
    });

    const zone = textField('Time zone', {
      name: 'timezone',
      value: schedule?.timezone ?? browserTimeZone(),
      placeholder: 'Europe/Paris',
      help: 'The IANA zone the times are read in'
    });
    this._timezone = zone.input;
    const zones = document.createElement('datalist');
    zones.id = `jp-bookstore-zones-${++uniqueId}`;
    for (const value of timeZones()) {
      const option = document.createElement('option');
      option.value = value;
      zones.append(option);
    }
    this._timezone.setAttribute('list', zones.id);
    zone.row.append(zones);
    this._timezone.addEventListener('input', () => this._schedulePreview());
    this._addSlot('timezone', { row: zone.row, control: zone.input });
    grid.append(name.row, repeat.row, cron.row, zone.row);

    const preview = document.createElement('div');
    preview.className = 'jp-bookstore-firePreview';
    const heading = document.createElement('div');
    heading.className = 'jp-bookstore-firePreviewTitle';
    heading.textContent = 'Next fire times';
    heading.setAttribute('aria-hidden', 'true'); // the list is labelled itself
    this._fireList.className = 'jp-bookstore-fireTimes';
    this._fireList.setAttribute('role', 'list');
    this._fireList.setAttribute('aria-label', 'Next fire times');
    this._fireStatus.className = 'jp-bookstore-help';
    preview.append(heading, this._fireList, this._fireStatus);

    const policies = document.createElement('div');
    policies.className = 'jp-bookstore-runGrid';
    const missed = selectField('Missed runs', { name: 'missed', choices: MISSED_CHOICES });
    this._missed = missed.select;
    this._missed.value = schedule?.missed ?? 'skip';
    this._addSlot('missed', { row: missed.row, control: missed.select });
    const catchup = numberField('Catch-up limit', {
      name: 'max-catchup',
      step: '1',
      value: schedule ? String(schedule.max_catchup) : '',
      placeholder: '10',
      help: 'The most missed runs to catch up'
    });
    this._maxCatchup = catchup.input;
    this._catchupRow = catchup.row;
    this._addSlot('max_catchup', { row: catchup.row, control: catchup.input });
    this._watchNumber(catchup.input, 'max_catchup', true);
    this._missed.addEventListener('change', () => this._updateCatchup());
    const overlap = selectField('Overlapping runs', { name: 'overlap', choices: OVERLAP_CHOICES });
    this._overlap = overlap.select;
    this._overlap.value = schedule?.overlap ?? 'skip';
    this._addSlot('overlap', { row: overlap.row, control: overlap.select });
    const overlapHelp = document.createElement('div');
    overlapHelp.className = 'jp-bookstore-help';
    overlapHelp.textContent = 'When a run is due while the previous one still runs';
    overlap.row.append(overlapHelp);
    policies.append(missed.row, catchup.row, overlap.row);

    set.append(grid, preview, policies);
    this._updateCatchup();
    return set;
  }

  private _retrySection(): HTMLFieldSetElement {
    const set = fieldset('Retries and notifications');
    const prefill = this._prefill;
    const grid = document.createElement('div');
    grid.className = 'jp-bookstore-runGrid';

    const retries = numberField('Retries', {
      name: 'max-retries',
      step: '1',
      value: prefill.maxRetries > 0 ? String(prefill.maxRetries) : '',
      placeholder: '0',
      help: 'Up to 10 more attempts of a run that ends for a chosen cause'
    });
    this._maxRetries = retries.input;
    this._addSlot('max_retries', { row: retries.row, control: retries.input });
    this._watchNumber(retries.input, 'max_retries', true);
    grid.append(retries.row);

    const causes = document.createElement('div');
    causes.className = 'jp-bookstore-checks';
    causes.setAttribute('role', 'group');
    causes.setAttribute('aria-label', 'Retry on');
    causes.tabIndex = -1;
    const checked = prefill.retryOn ?? DEFAULT_RETRY_ON;
    for (const choice of RETRY_CHOICES) {
      const box = checkboxField(choice.text, {
        name: `retry-${choice.value}`,
        checked: checked.includes(choice.value)
      });
      box.input.addEventListener('change', () => (this._retryTouched = true));
      this._retryOn.set(choice.value, box.input);
      causes.append(box.row);
    }
    this._retryCauses = causes;
    this._addSlot('retry_on', {
      row: causes,
      control: causes,
      focus: this._retryOn.get('error')!
    });
    grid.append(causes);
    this._maxRetries.addEventListener('input', () => this._updateRetries());

    // The first email and the first webhook are editable; other targets are kept.
    const targets = prefill.notify;
    const email = targets.find(target => target.email !== undefined);
    const webhook = targets.find(target => target.webhook !== undefined);
    this._keptTargets = targets.filter(target => target !== email && target !== webhook);
    this._emailEvents = baseEvents(email);
    this._webhookEvents = baseEvents(webhook);
    const emailField = textField('Email', {
      name: 'notify-email',
      value: email?.email ?? '',
      placeholder: 'you@example.org',
      help: 'Told when a run fails, is lost or runs too long'
    });
    emailField.input.inputMode = 'email';
    emailField.input.autocomplete = 'email';
    this._email = emailField.input;
    this._addSlot('email', { row: emailField.row, control: emailField.input });
    const webhookField = textField('Webhook URL', {
      name: 'notify-webhook',
      value: webhook?.webhook ?? '',
      placeholder: 'https://hooks.slack.com/services/…',
      help: 'Slack, Teams or any http(s) endpoint'
    });
    webhookField.input.inputMode = 'url';
    this._webhook = webhookField.input;
    this._addSlot('webhook', { row: webhookField.row, control: webhookField.input });
    grid.append(emailField.row, webhookField.row);

    const success = checkboxField('Also notify on success', {
      name: 'notify-success',
      checked: [email, webhook].some(target => target?.on?.includes('succeeded'))
    });
    this._notifySuccess = success.input;
    success.row.classList.add('jp-mod-wide');
    if (this._keptTargets.length) {
      const kept = document.createElement('div');
      kept.className = 'jp-bookstore-help';
      kept.textContent = `Also notified, as before: ${this._keptTargets
        .map(target => target.email ?? target.webhook ?? '')
        .join(', ')}`;
      success.row.append(kept);
    }
    this._addSlot('notify', { row: success.row, control: success.input });
    grid.append(success.row);
    set.append(grid);
    this._updateRetries();
    return set;
  }

  // -- behaviour ------------------------------------------------------------------------

  private _setMode(mode: Mode): void {
    this._mode = mode;
    const scheduled = mode === 'schedule';
    this._scheduleSet.hidden = !scheduled;
    this._scheduleSet.disabled = !scheduled;
    this._templatesHelp.hidden = !scheduled;
    if (!this._versionTouched) {
      this._version.value = scheduled ? 'latest' : 'pinned';
    }
    this._updateOutputPlaceholder();
    this._updateAccept();
    if (scheduled) {
      this._schedulePreview(0);
    } else {
      window.clearTimeout(this._previewTimer);
    }
  }

  private _updateAccept(): void {
    const label = this._dialog?.querySelector<HTMLElement>(
      '.jp-Dialog-button.jp-mod-accept .jp-Dialog-buttonLabel'
    );
    if (label) {
      label.textContent = this.acceptLabel;
      label.setAttribute('aria-label', this.acceptLabel);
    }
  }

  private _updateOutputPlaceholder(): void {
    const path = this._options.source.path;
    if (this._options.schedule) {
      this._outputPath.placeholder = this._options.schedule.output.path;
    } else {
      this._outputPath.placeholder =
        this._mode === 'now' ? defaultOutputPath(path) : defaultOutputPath(path, this._name.value);
    }
  }

  private _updateCatchup(): void {
    const shown = this._missed.value === 'all';
    this._catchupRow.hidden = !shown;
    this._maxCatchup.disabled = !shown;
  }

  private _updateRetries(): void {
    const retries = Number(this._maxRetries.value);
    const shown = Number.isFinite(retries) && retries > 0;
    this._retryCauses.hidden = !shown;
    for (const box of this._retryOn.values()) {
      box.disabled = !shown;
    }
  }

  /** Live check of a number field (an invalid one disables the dialog's accept button:
   * say why under it). */
  private _watchNumber(input: HTMLInputElement, field: string, integer: boolean): void {
    input.addEventListener('input', () => {
      const slot = this._slots.get(field);
      if (!slot) {
        return;
      }
      const problem = numberProblem(input, integer);
      if (problem) {
        this._setFieldError(slot, problem, 'input');
      } else if (slot.origin === 'input') {
        this._clearSlot(slot);
      }
    });
  }

  /** The notify targets in the order sent; remembers which field each index is. */
  private _notifyTargets(): NotifyTargetRequest[] {
    const success = this._notifySuccess.checked;
    const targets: NotifyTargetRequest[] = [];
    this._notifyOrder = [];
    const on = (base: NotifyEvent[] | null): NotifyEvent[] | undefined => {
      if (success) {
        return [...new Set([...(base ?? DEFAULT_EVENTS), 'succeeded' as const])].sort();
      }
      return base && !sameSet(base, DEFAULT_EVENTS) ? base : undefined;
    };
    const email = this._email.value.trim();
    if (email) {
      const events = on(this._emailEvents);
      targets.push(events ? { email, on: events } : { email });
      this._notifyOrder.push('email');
    }
    const webhook = this._webhook.value.trim();
    if (webhook) {
      const events = on(this._webhookEvents);
      targets.push(events ? { webhook, on: events } : { webhook });
      this._notifyOrder.push('webhook');
    }
    for (const target of this._keptTargets) {
      targets.push(target);
      this._notifyOrder.push('notify');
    }
    return targets;
  }

  private _pinnedText(): string {
    const id = this._pinnedId;
    const when = this._pinnedWhen ?? (id ? shortId(id) : 'loading…');
    return `This saved version (${when})`;
  }

  private _updatePinned(): void {
    const option = this._version.querySelector<HTMLOptionElement>('option[value="pinned"]');
    if (option) {
      option.textContent = this._pinnedText();
      option.title = this._pinnedId ?? '';
    }
  }

  /** The query of `runParameters` for the source (`version`: a pinned one). */
  private _parameterQuery(version: string | null): Parameters<BookstoreAPI['runParameters']>[0] {
    const { area, path } = this._options.source;
    const query: Parameters<BookstoreAPI['runParameters']>[0] =
      area === 'workspace' ? { path } : { published_path: path };
    if (version) {
      query.version_id = version;
    }
    return query;
  }

  private async _loadParameters(): Promise<void> {
    this._busy = 'The parameters are still loading; try again in a moment.';
    this._parameterStatus.className = 'jp-bookstore-status';
    this._parameterStatus.setAttribute('role', 'status');
    this._parameterStatus.textContent = 'Loading parameters…';
    try {
      const query = this._parameterQuery(this._requestedVersion);
      const reply = await this._options.api.runParameters(query);
      if (!this.isDisposed) {
        this._showParameters(reply);
      }
    } catch (error) {
      if (!this.isDisposed) {
        this._showLoadError(error);
      }
    } finally {
      this._busy = null;
    }
  }

  private _showLoadError(error: unknown): void {
    this._parameterStatus.className = 'jp-bookstore-error';
    this._parameterStatus.setAttribute('role', 'alert');
    this._parameterStatus.textContent = `Could not load the parameters: ${errorMessage(error)}`;
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'jp-mod-styled jp-bookstore-retryLoad';
    retry.textContent = 'Try again';
    retry.addEventListener('click', () => void this._loadParameters());
    this._parameterStatus.append(' ', retry);
    this._updatePinned();
    this._showCarried();
  }

  /** Render the declared parameters (keeping what was typed) and the version read. */
  private _showParameters(reply: RunParameters): void {
    const typed = new Map<string, string>();
    for (const [name, field] of this._parameterFields) {
      typed.set(name, field.control.value);
      this._slots.delete(`parameters.${name}`);
    }
    this._parameterFields.clear();
    this._parameterList.replaceChildren();
    this._carried = { ...this._prefill.parameters };
    for (const parameter of reply.parameters) {
      const given = this._prefill.parameters;
      const value =
        typed.get(parameter.name) ??
        (parameter.name in given ? formatParameterValue(parameter.type, given[parameter.name]) : '');
      delete this._carried[parameter.name];
      const field = parameterField(parameter, value);
      this._parameterFields.set(parameter.name, field);
      const key = `parameters.${parameter.name}`;
      this._addSlot(key, { row: field.row, control: field.control });
      if (field.control instanceof HTMLInputElement && field.control.type === 'number') {
        this._watchNumber(field.control, key, parameter.type === 'int');
      }
      this._parameterList.append(field.row);
    }
    this._parameterStatus.className = 'jp-bookstore-status';
    this._parameterStatus.setAttribute('role', 'status');
    this._parameterStatus.textContent = reply.parameters.length
      ? ''
      : 'This notebook has no parameters cell (a cell tagged “parameters”).';
    this._showCarried();
    if (reply.version_id !== this._pinnedId) {
      this._pinnedWhen = null;
    }
    this._pinnedId = reply.version_id || this._pinnedId;
    this._updatePinned();
    void this._describeVersion(this._pinnedId);
  }

  /** Prefilled values of names this version does not declare: sent as before. */
  private _showCarried(): void {
    const names = Object.keys(this._carried);
    this._carriedNote.hidden = !names.length;
    this._carriedNote.textContent = names.length
      ? `Also sent, as before: ${names
          .map(name => `${name} = ${JSON.stringify(this._carried[name])}`)
          .join(', ')}`
      : '';
  }

  /** "This saved version (3 minutes ago)", from the history's first page. */
  private async _describeVersion(id: string | null): Promise<void> {
    if (!id) {
      return;
    }
    try {
      const { area, path } = this._options.source;
      const page = await this._options.api.versions(area, path, { limit: 50 });
      const found = page.versions.find(version => version.id === id);
      if (found && !this.isDisposed && this._pinnedId === id) {
        this._pinnedWhen = relativeTime(found.last_modified).text;
        this._updatePinned();
      }
    } catch {
      // the id stays shown
    }
  }

  /** Save the notebook, wait until bookstore archived the save (the newest version
   * changes), then reload the parameters of that version. */
  private async _saveFirst(
    panel: NotebookPanel,
    warning: HTMLElement,
    text: HTMLElement,
    button: HTMLButtonElement
  ): Promise<void> {
    const api = this._options.api;
    button.disabled = true;
    this._busy = 'The notebook is being saved; try again in a moment.';
    text.textContent = 'Saving…';
    try {
      let before: string | null = null;
      try {
        before = (await api.runParameters(this._parameterQuery(null))).version_id;
      } catch {
        before = null; // never archived yet
      }
      await panel.context.save();
      text.textContent = 'Saved; waiting for bookstore to archive the save…';
      const deadline = Date.now() + SAVE_WAIT_MS;
      let reply: RunParameters | null = null;
      for (;;) {
        try {
          reply = await api.runParameters(this._parameterQuery(null));
          if (reply.version_id !== before) {
            break;
          }
        } catch {
          reply = null;
        }
        if (Date.now() >= deadline || this.isDisposed) {
          break;
        }
        await sleep(SAVE_POLL_MS);
      }
      if (this.isDisposed) {
        return;
      }
      this._requestedVersion = null;
      if (reply && reply.version_id !== before) {
        this._showParameters(reply);
        warning.remove();
        return;
      }
      if (reply) {
        this._showParameters(reply);
      }
      text.textContent =
        'Saved, but the save is not archived yet: the run would use the version before it. ' +
        'Try “Save first” again in a moment, or choose “Latest version at each run”.';
      button.textContent = 'Check again';
    } catch (error) {
      text.textContent = `Saving failed: ${errorMessage(error)}`;
    } finally {
      this._busy = null;
      button.disabled = false;
    }
  }

  private _schedulePreview(delay = PREVIEW_DELAY_MS): void {
    window.clearTimeout(this._previewTimer);
    if (this._mode !== 'schedule') {
      return;
    }
    this._previewTimer = window.setTimeout(() => void this._preview(), delay);
  }

  private async _preview(): Promise<void> {
    const cron = this._cron.value.trim();
    const timezone = this._timezone.value.trim();
    const sequence = ++this._previewSequence;
    const slots = [this._slots.get('cron')!, this._slots.get('timezone')!];
    if (!cron || !timezone) {
      this._fireList.replaceChildren();
      this._fireStatus.textContent = '';
      return;
    }
    try {
      const times = await this._options.api.previewSchedule({ cron, timezone, count: 5 });
      if (this.isDisposed || sequence !== this._previewSequence) {
        return;
      }
      slots.forEach(slot => this._clearSlot(slot));
      this._fireList.replaceChildren(
        ...times.map(fire => {
          const item = document.createElement('li');
          const shown = formatFireTime(fire);
          const local = document.createElement('span');
          local.className = 'jp-bookstore-fireLocal';
          local.textContent = shown.local;
          const utc = document.createElement('span');
          utc.className = 'jp-bookstore-fireUtc';
          utc.textContent = shown.utc;
          item.append(local, ' · ', utc);
          item.title = fire.local;
          return item;
        })
      );
      this._fireStatus.textContent = times.length ? '' : 'It never fires again.';
    } catch (error) {
      if (this.isDisposed || sequence !== this._previewSequence) {
        return;
      }
      this._fireList.replaceChildren();
      this._fireStatus.textContent = '';
      const message = errorMessage(error);
      const slot = fieldOfError(message) === 'timezone' ? slots[1] : slots[0];
      const other = slot === slots[0] ? slots[1] : slots[0];
      if (other.origin === 'preview') {
        this._clearSlot(other);
      }
      this._setFieldError(slot, message, 'preview');
    }
  }

  // -- errors ---------------------------------------------------------------------------

  private _addSlot(
    key: string,
    slot: Omit<ISlot, 'error' | 'origin' | 'focus'> & { focus?: HTMLElement }
  ): void {
    this._slots.set(key, { ...slot, focus: slot.focus ?? slot.control, error: null, origin: null });
  }

  /** The slot of a field path: `notify[i]` by the order sent, else the path or the
   * nearest parent path that has one (`parameters.items[0]` → `parameters.items`). */
  private _slotFor(field: string): ISlot | null {
    const notify = /^notify\[(\d+)\]/.exec(field);
    if (notify) {
      return this._slots.get(this._notifyOrder[Number(notify[1])] ?? 'notify') ?? null;
    }
    for (let path = field; ; ) {
      const slot = this._slots.get(path);
      if (slot) {
        return slot;
      }
      const parent = path.replace(/(\[\d+\]|\.[^.[\]]*)$/, '');
      if (!parent || parent === path) {
        break;
      }
      path = parent;
    }
    return null;
  }

  private _setFieldError(slot: ISlot, message: string, origin: NonNullable<ISlot['origin']>): void {
    this._clearSlot(slot);
    const node = document.createElement('div');
    node.className = 'jp-bookstore-fieldError';
    node.setAttribute('role', 'alert');
    node.id = `jp-bookstore-fieldError-${++uniqueId}`;
    node.textContent = message;
    slot.row.append(node);
    slot.error = node;
    slot.origin = origin;
    slot.control.setAttribute('aria-invalid', 'true');
    const described = slot.control.getAttribute('aria-describedby');
    slot.control.setAttribute('aria-describedby', described ? `${described} ${node.id}` : node.id);
  }

  private _clearSlot(slot: ISlot): void {
    if (!slot.error) {
      return;
    }
    const id = slot.error.id;
    slot.error.remove();
    slot.error = null;
    slot.origin = null;
    slot.control.removeAttribute('aria-invalid');
    const described = (slot.control.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter(part => part && part !== id)
      .join(' ');
    if (described) {
      slot.control.setAttribute('aria-describedby', described);
    } else {
      slot.control.removeAttribute('aria-describedby');
    }
  }

  private _setGeneralError(message: string): void {
    if (!this._generalError) {
      this._generalError = document.createElement('div');
      this._generalError.className = 'jp-bookstore-error';
      this._generalError.setAttribute('role', 'alert');
      this.node.prepend(this._generalError);
    }
    const line = document.createElement('p');
    line.textContent = message;
    this._generalError.append(line);
    this.node.scrollTop = 0;
  }

  private _clearErrors(): void {
    new Set(this._slots.values()).forEach(slot => this._clearSlot(slot));
    this._generalError?.remove();
    this._generalError = null;
  }

  private _reveal(slot: ISlot): void {
    slot.row.scrollIntoView({ block: 'nearest' });
    slot.focus.focus();
  }

  private _mode: Mode;
  private readonly _prefill: IPrefill;
  /** The version "This saved version" pins (null until known). */
  private _pinnedId: string | null;
  private _pinnedWhen: string | null = null;
  /** The version the parameters are read from (null: the newest). */
  private _requestedVersion: string | null;
  /** Prefilled parameters the version read does not declare (sent as they were). */
  private _carried: Record<string, unknown>;
  /** Why a submit must wait (loading, saving); null when it may go. */
  private _busy: string | null = null;
  private _dialog: HTMLElement | null = null;
  private readonly _slots = new Map<string, ISlot>();
  private _generalError: HTMLElement | null = null;
  private readonly _parameterFields = new Map<string, IParameterField>();
  private readonly _parameterStatus = statusLine();
  private readonly _parameterList = document.createElement('div');
  private readonly _templatesHelp = document.createElement('div');
  private readonly _carriedNote = document.createElement('div');
  private readonly _parameterSet: HTMLFieldSetElement;
  private readonly _scheduleSet: HTMLFieldSetElement;
  private _version!: HTMLSelectElement;
  private _versionTouched = false;
  private _kernel!: HTMLSelectElement;
  private _executionTimeout!: HTMLInputElement;
  private _wallTimeout!: HTMLInputElement;
  private _outputPath!: HTMLInputElement;
  private _name!: HTMLInputElement;
  private _repeat!: HTMLSelectElement;
  private _cron!: HTMLInputElement;
  private _timezone!: HTMLInputElement;
  private readonly _fireList = document.createElement('ul');
  private readonly _fireStatus = document.createElement('div');
  private _previewTimer = 0;
  private _previewSequence = 0;
  private _missed!: HTMLSelectElement;
  private _maxCatchup!: HTMLInputElement;
  private _catchupRow!: HTMLElement;
  private _overlap!: HTMLSelectElement;
  private _maxRetries!: HTMLInputElement;
  private _retryCauses!: HTMLElement;
  private readonly _retryOn = new Map<RetryCause, HTMLInputElement>();
  private _retryTouched = false;
  private _email!: HTMLInputElement;
  private _webhook!: HTMLInputElement;
  private _notifySuccess!: HTMLInputElement;
  private _emailEvents: NotifyEvent[] | null = null;
  private _webhookEvents: NotifyEvent[] | null = null;
  private _keptTargets: NotifyTargetRequest[] = [];
  /** The field of each notify target sent, by index ('email', 'webhook' or 'notify'). */
  private _notifyOrder: string[] = [];
}

/** What is wrong with a number field's text, or null (empty is fine). */
function numberProblem(input: HTMLInputElement, integer: boolean): string | null {
  if (input.validity.badInput) {
    return integer ? 'Enter a whole number.' : 'Enter a number.';
  }
  const text = input.value.trim();
  if (text && integer && !Number.isInteger(Number(text))) {
    return 'Enter a whole number.';
  }
  return null;
}

/** A `<fieldset>` with its `<legend>`. */
function fieldset(legend: string): HTMLFieldSetElement {
  const set = document.createElement('fieldset');
  set.className = 'jp-bookstore-fieldset';
  const title = document.createElement('legend');
  title.textContent = legend;
  set.append(title);
  return set;
}

/** The field of a declared parameter, labelled with its name. */
function parameterField(
  parameter: DeclaredParameter,
  value: string
): IParameterField & { row: HTMLDivElement } {
  const name = `parameter-${parameter.name}`;
  const help = parameterHelp(parameter);
  if (parameter.type === 'bool') {
    const select = document.createElement('select');
    for (const [optionValue, text] of [
      ['', `default (${parameter.default})`],
      ['true', 'True'],
      ['false', 'False']
    ]) {
      const option = document.createElement('option');
      option.value = optionValue;
      option.textContent = text;
      select.append(option);
    }
    const lower = value.trim().toLowerCase();
    select.value = lower === 'true' || lower === 'false' ? lower : '';
    const { row } = labelled(parameter.name, select, name, help);
    return { parameter, control: select, row };
  }
  if (parameter.type === 'int' || parameter.type === 'float') {
    const { row, input } = numberField(parameter.name, {
      name,
      value,
      placeholder: parameter.default,
      help,
      step: parameter.type === 'int' ? '1' : 'any'
    });
    return { parameter, control: input, row };
  }
  const { row, input } = textField(parameter.name, {
    name,
    value,
    placeholder: parameter.default,
    help
  });
  return { parameter, control: input, row };
}

/** A prefilled target's events without `succeeded` (the checkbox adds it); null when they
 * are the default ones. */
function baseEvents(target: NotifyTargetRequest | undefined): NotifyEvent[] | null {
  if (!target?.on) {
    return null;
  }
  const base = target.on.filter(event => event !== 'succeeded');
  return sameSet(base, DEFAULT_EVENTS) ? null : base;
}

/** The settings a run or a schedule prefills the form with. */
function prefillOf(from: Run | Schedule | null): IPrefill {
  if (!from) {
    return {
      parameters: {},
      pinned: null,
      versionId: null,
      kernel: null,
      executionTimeout: null,
      wallTimeout: null,
      outputPath: '',
      maxRetries: 0,
      retryOn: null,
      notify: []
    };
  }
  return {
    parameters: { ...(from.parameters as Record<string, unknown>) },
    pinned: from.source.version_policy === 'pinned' && !!from.source.version_id,
    versionId: from.source.version_id ?? null,
    kernel: from.kernel_name || null,
    executionTimeout: from.execution_timeout,
    wallTimeout: from.wall_timeout,
    outputPath: from.output.path,
    maxRetries: from.max_retries,
    retryOn: [...from.retry_on],
    notify: from.notify.map(target =>
      'email' in target
        ? { email: target.email, on: [...target.on] }
        : { webhook: target.webhook, on: [...target.on] }
    )
  };
}

/**
 * Open the Run / Schedule dialog for `options.source`: run it now (one idempotency key
 * per opening, so a double submit cannot queue twice), create a schedule, or change
 * `options.schedule` (only the fields changed, with its revision). Resolves with what the
 * server made, or null on Cancel.
 */
export async function openRunDialog(options: IRunDialogOptions): Promise<RunDialogResult | null> {
  const form = new RunForm(options);
  const key = newIdempotencyKey();
  const title = options.schedule
    ? `Edit schedule ${options.schedule.name}`
    : `Run ${baseName(options.source.path)}`;
  return showSubmitDialog<RunDialogValue, RunDialogResult>({
    title,
    body: form,
    acceptLabel: form.acceptLabel,
    submit: async value => {
      switch (value.kind) {
        case 'run':
          return { kind: 'run', run: await options.api.submitRun(value.body, key) };
        case 'create':
          return {
            kind: 'schedule',
            schedule: await options.api.createSchedule(value.body),
            created: true
          };
        case 'update':
          return {
            kind: 'schedule',
            schedule: await options.api.updateSchedule(value.id, value.patch),
            created: false
          };
      }
    }
  });
}
